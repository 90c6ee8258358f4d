import ArgumentParser
import Cycle
import Foundation
import JobFiles
import Registry
import Support

struct AdoptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adopt",
        abstract: "Let a job take over its deploy path from another state directory or job.",
        discussion: """
            updater publishes only over a deploy path it owns: beside the model it keeps .NAME.updater.json naming the state directory and the job. A deploy path published by another state directory (updater run from another directory, say) or by another job (a renamed job file), or a file placed there by hand, is refused until a person adopts it. From then on this job owns the path, and its next cycle publishes its production version there.

            Example:
              updater adopt churn
            """)

    @Argument(help: "The job.") var job: String
    @OptionGroup var common: CommonOptions

    func run() throws {
        let name = try checkedJobName(job)
        let file = common.jobsDirectory + "/" + name + ".toml"
        do {
            let config = try JobFileDecoder.load(file)
            let registry = try common.state.openRegistry()
            try registry.upsertJob(name: name, filePath: absolutePath(config.file), fileHash: config.fileHash, deployPath: config.deploy.path, deployFormats: config.deploy.formats.map(\.rawValue).joined(separator: ","))
            let before = try Promoter(registry: registry).adopt(job: name, deployPath: config.deploy.path)
            let from = before.map { "from job \($0.job) of \($0.stateID == (try? registry.stateID()) ? "this state directory" : "state directory \($0.stateID)")" } ?? "(it had no owner)"
            print("\(name): \(config.deploy.path) is this job's now \(from); its next cycle publishes its production version there")
        } catch let error as JobFileError {
            throw fail(error.problems.map(\.description).joined(separator: "\n"))
        } catch {
            throw fail("\(error)")
        }
    }
}
