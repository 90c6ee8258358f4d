import ArgumentParser
import Cycle
import Service
import Foundation
import Support
import Registry

struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Stop starting runs of a job until `updater resume` (recorded; survives restarts).",
        discussion: """
            A run in progress finishes. New data keeps arriving and is checked once the job is resumed; `updater trigger` requests wait too. The running daemon picks the pause up within a second; `updater status` shows who paused the job.

            Example:
              updater pause churn --reason "upstream table being backfilled"
            """)

    @Argument(help: "The job.") var job: String
    @Option(name: .long, help: "Why, for the record.") var reason: String?
    @OptionGroup var common: CommonOptions

    func run() throws {
        let (name, registry) = try openForJob(job, common)
        if try registry.pause(job: name, actor: Rollback.currentActor(), reason: reason) {
            print("\(name): paused; no run starts until `updater resume \(name)`")
        } else {
            print("\(name): already paused; nothing changed")
        }
    }
}

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Let the daemon start runs of a paused job again.",
        discussion: """
            Example:
              updater resume churn
            """)

    @Argument(help: "The job.") var job: String
    @OptionGroup var common: CommonOptions

    func run() throws {
        let (name, registry) = try openForJob(job, common)
        if try registry.resume(job: name) {
            print("\(name): resumed")
        } else {
            print("\(name): was not paused; nothing changed")
        }
    }
}

/// The registry, for a command about `job`: a job with a file in the jobs directory (the state
/// directory is then created if needed) or one the registry knows.
func openForJob(_ job: String, _ common: CommonOptions) throws -> (String, Registry) {
    let name = try checkedJobName(job)
    let file = common.jobFile(name)
    // A state directory that does not exist yet is created only for a job whose file is there,
    // so a mistyped --state-dir is an error rather than a database nobody reads.
    let registry: Registry
    do {
        registry = Files.exists(file) ? try common.state.openRegistry() : try common.state.openExistingRegistry()
    } catch {
        throw fail("\(error)")
    }
    guard try registry.job(name) != nil || Files.exists(file) else { throw fail("unknown job \"\(name)\" (no \(file))") }
    return (name, registry)
}
