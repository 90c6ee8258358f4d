import ArgumentParser
import Cycle
import Service
import Foundation
import Support
import Registry

struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Stop a run's training (the daemon stops it within a second).",
        discussion: """
            The run fails with "cancelled by USER"; its batches stay pending, so the job's next cycle tries again (pause the job to stop that). An external trainer's whole process group is terminated.

            Example:
              updater cancel 42
            """)

    @Argument(help: "The run number (see updater runs JOB).") var runID: Int64
    @OptionGroup var common: CommonOptions

    func run() throws {
        do {
            let registry = try common.state.openExistingRegistry()
            let record = try registry.requestCancel(run: runID, actor: Rollback.currentActor())
            switch record.state {
            case .running, .queued:
                if let by = record.cancelRequestedBy {
                    print("run \(runID) of \(record.job): cancellation already requested by \(by)")
                } else {
                    print("run \(runID) of \(record.job): cancellation requested; the daemon stops it within a second")
                }
            default:
                throw ValidationError("run \(runID) of \(record.job) is not running (it \(record.state.rawValue))")
            }
        } catch let e as ValidationError {
            throw fail(e.message)
        } catch {
            throw fail("\(error)")
        }
    }
}
