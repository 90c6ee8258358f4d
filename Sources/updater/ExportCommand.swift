import ArgumentParser
import Foundation
import ModelExport
import Support

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a built-in model version as ONNX, with updater's preprocessing inside the graph, for any serving stack.",
        discussion: """
            The ONNX file takes one input per feature column, named after it, shape [N, 1]: double for a numeric column (NaN for a missing value), string for a categorical one ("" for a missing value; a category never seen in training goes to the unseen bucket, as in updater predict). A classifier gives `probabilities` (double [N, K], the classes in updater predict's order) and `label` (string [N], with the version's decision threshold for a binary model); a regression model gives `prediction` (double [N]). onnxruntime reproduces updater predict to 1e-6 (the tests check every model kind and task). Operator sets: ai.onnx 13, ai.onnx.ml 1. See docs/artifact.md.

            Example:
              updater export churn --format onnx --output churn.onnx
              updater export churn --version 3 --format onnx --output churn-v3.onnx
              updater export /tmp/m/model.updater --format onnx --output model.onnx
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case onnx }

    @Argument(help: "A job name, or the path of an artifact file.") var model: String
    @Option(name: .long, help: "With a job: the version, as 2 or v2 (default: the one in production).") var version: VersionNumber?
    @Option(name: .long, help: "The format to write: onnx.") var format: Format
    @Option(name: .shortAndLong, help: "The file to write (replaced atomically).") var output: String
    @OptionGroup var common: CommonOptions

    func run() throws {
        do {
            let (artifact, number) = try resolveArtifactVersion(model, version: version, common: common)
            let bytes = try ONNXExport.encode(artifact: artifact, version: number)
            try Files.writeAtomically(bytes, to: output)
            print("wrote \(output) (\(bytes.count) bytes, sha256 \(Files.sha256(bytes)))")
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail("\(error)")
        }
    }
}
