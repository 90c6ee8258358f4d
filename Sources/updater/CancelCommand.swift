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
              updater cancel churn 12
            """)

    @Argument(help: "The job.") var job: String
    @Argument(help: "The run's number within the job (see updater runs JOB).") var number: Int
    @OptionGroup var common: CommonOptions

    func run() throws {
        let name = try checkedJobName(job)
        do {
            let registry = try common.state.openExistingRegistry()
            guard let id = try registry.run(job: name, number: number)?.id else { throw ValidationError("\(name) has no run \(number) (updater runs \(name) lists them)") }
            let record = try registry.requestCancel(run: id, actor: Rollback.currentActor())
            switch record.state {
            case .running, .queued:
                if let by = record.cancelRequestedBy {
                    print("run \(number) of \(record.job): cancellation already requested by \(by)")
                } else {
                    print("run \(number) of \(record.job): cancellation requested; the daemon stops it within a second")
                }
            default:
                throw ValidationError("run \(number) of \(record.job) is not running (it \(record.state.rawValue))")
            }
        } catch let e as ValidationError {
            throw fail(e.message)
        } catch {
            throw fail("\(error)")
        }
    }
}
