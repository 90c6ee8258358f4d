import Foundation
import JobFiles
import Registry
import Synchronization

/// `updater run`: checks each job on its interval (and at once when `updater trigger` asked),
/// one cycle at a time, until SIGTERM or SIGINT. A failing job never stops the others.
public final class RunLoop: Sendable {
    let cycle: UpdateCycle
    let jobs: [JobConfig]
    let stopRequested = Atomic<Bool>(false)

    public init(cycle: UpdateCycle, jobs: [JobConfig]) {
        self.cycle = cycle
        self.jobs = jobs
    }

    /// Runs one cycle of every job.
    @discardableResult
    public func runOnce() -> [CycleOutcome] {
        jobs.map { cycle.run($0) }
    }

    public func stop() { stopRequested.store(true, ordering: .relaxed) }

    /// Runs until ``stop()``; returns after the cycle in progress finishes.
    public func run() {
        var due: [String: Date] = [:]
        let log = cycle.log
        log(.info, "watching \(jobs.count) job\(jobs.count == 1 ? "" : "s"): \(jobs.map(\.name).joined(separator: ", "))")
        while !stopRequested.load(ordering: .relaxed) {
            let now = Date()
            for job in jobs where !stopRequested.load(ordering: .relaxed) {
                let requested = (try? cycle.registry.pendingRequests(job: job.name).isEmpty == false) ?? false
                if requested || now >= due[job.name, default: .distantPast] {
                    cycle.run(job)
                    due[job.name] = Date().addingTimeInterval(job.schedule.interval)
                }
            }
            for _ in 0..<10 where !stopRequested.load(ordering: .relaxed) { usleep(100_000) }
        }
        log(.info, "stopping")
    }
}
