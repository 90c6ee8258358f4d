import ArgumentParser
import Cycle
import Service
import Foundation
import JobFiles
import Registry
import Support
import Tabular
import Training

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Score a CSV file with a job's production model, one of its versions, or an artifact file.",
        discussion: """
            A version an external trainer made is scored by the job's trainer in score mode (docs/trainers.md), in a scratch directory.

            Writes a CSV with one row per input row, in order: for a binary model a `score` column (the probability of the positive class) and a `label` column (the positive class when the score is at or above the decision threshold: --threshold, else the one the version was judged with, else 0.5), for more classes one `p_CLASS` column per class and `label` (the most probable), for a regression model a `prediction` column; --keep copies input columns in front. The input needs the model's feature columns; others are ignored. A missing value is imputed as in training; a category never seen in training goes to the unseen bucket.

            Example:
              updater predict churn --input today.csv --keep customer_id --output scores.csv
              updater predict churn --version 2 --input today.csv
              updater predict /tmp/m/model.updater --input today.csv
            """)

    @Argument(help: "A job name, or the path of an artifact file.") var model: String
    @Option(name: .long, help: "The CSV file to score.") var input: String
    @Option(name: .long, help: "Write here instead of standard output.") var output: String?
    @Option(name: .long, help: "With a job: the version to use, as 2 or v2 (default: the one in production).") var version: VersionNumber?
    @Option(name: .long, help: "Comma-separated input columns to copy into the output.") var keep: String?
    @Option(name: .long, help: "Binary: the decision threshold for the label column (default: the version's own, else 0.5).")
    var threshold: Double?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let threshold, !(0...1).contains(threshold) { throw ValidationError("--threshold must be between 0 and 1") }
    }

    func run() throws {
        do {
            let kept = (keep ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let scored = try score(kept: kept)
            let (target, values, table) = (scored.target, scored.output, scored.table)
            let classes = target.classes
            let width = target.task == .multiclass ? classes.count : 1
            let outputs = switch target.task {
            case .binary: ["score"]
            case .multiclass: classes.map { "p_" + $0 }
            case .regression: ["prediction"]
            }
            // The predicted class: the positive one at or above the decision threshold (binary), the
            // most probable (multiclass).
            let cut = threshold ?? scored.threshold ?? 0.5
            func label(_ r: Int) -> String? {
                switch target.task {
                case .binary: return values[r] >= cut ? classes[1] : classes[0]
                case .multiclass:
                    let row = values[r * width..<(r + 1) * width]
                    return classes[row.indices.max { row[$0] < row[$1] }! - r * width]
                case .regression: return nil
                }
            }
            let labelled = target.task != .regression
            var out = (kept + outputs + (labelled ? ["label"] : [])).map(csvField).joined(separator: ",") + "\n"
            for r in 0..<table.rowCount {
                let cells = kept.map { csvField(table.column($0)?.string(at: r) ?? "") }
                    + (0..<width).map { String(values[r * width + $0]) } + (label(r).map { [csvField($0)] } ?? [])
                out += cells.joined(separator: ",") + "\n"
            }
            if let output {
                try Files.writeAtomically(Array(out.utf8), to: output)
            } else {
                FileHandle.standardOutput.write(Data(out.utf8))
            }
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail("\(error)")
        }
    }

    /// The input's rows scored: by a built-in model in process, or, for a version an external
    /// trainer made, by the job's trainer in score mode (in a scratch directory, removed after).
    func score(kept: [String]) throws -> (target: Target, output: [Double], table: DataTable, threshold: Double?) {
        func read(_ kinds: [String: ColumnKind], _ features: [String]) throws -> DataTable {
            try CSVReader.read(file: input, options: CSVOptions(required: features + kept) { name in
                kinds[name] ?? (kept.contains(name) ? .categorical : nil)
            })
        }
        if let trainerVersion = try trainerVersion() {
            let (job, record) = trainerVersion
            let (features, categorical) = try TrainerScoring.features(of: record)
            let table = try read(Dictionary(uniqueKeysWithValues: features.map { ($0, categorical.contains($0) ? ColumnKind.categorical : .numeric) }), features)
            let scratch = NSTemporaryDirectory() + "updater-predict-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let (target, output) = try TrainerScoring.score(job: job, version: record, table: table, directory: scratch)
            return (target, output, table, record.decisionThreshold ?? job.gate.threshold)
        }
        let artifact = try resolveArtifact(model, version: version, common: common)
        let model = try ModelArtifact.decode(artifact)
        let kinds = Dictionary(uniqueKeysWithValues: model.preprocessor.numeric.map { ($0.name, ColumnKind.numeric) }
            + model.preprocessor.categorical.map { ($0.name, ColumnKind.categorical) })
        let table = try read(kinds, model.features)
        return (model.target, try model.output(table), table, (try? ModelArtifact.metadata(artifact))?["decision_threshold"].flatMap(Double.init))
    }

    /// A job's version made by an external trainer, with the job file that names its trainer; nil
    /// for a file or a built-in version.
    func trainerVersion() throws -> (JobConfig, VersionRecord)? {
        guard !(model.contains("/") || model.hasSuffix(".updater") || model.hasSuffix(".model")) else { return nil }
        let name = try checkedJobName(model)
        guard let registry = try? common.state.openExistingRegistry(), let job = try registry.job(name),
            let number = version?.value ?? job.productionVersion, let record = try registry.version(name, number),
            Files.isDirectory(record.artifactPath)
        else { return nil }
        guard let config = jobConfig(name, registry: registry, common: common), config.training.command != nil else {
            throw fail("v\(number) of \(name) was made by an external trainer, and the job file names no training.command to score it with")
        }
        return (config, record)
    }
}
