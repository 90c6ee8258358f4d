import Dispatch
import Foundation
import JobFiles
import Registry
import Synchronization
import Tabular

/// `updater run`: checks each job on its interval (and at once when `updater trigger` asked).
/// Jobs run side by side, one cycle per job at a time (a run that comes due while the job's
/// previous one is still going is coalesced into the next check); their trainings share the
/// training engine's limit. SIGTERM or SIGINT stop scheduling, stop the trainings in progress (their
/// runs are marked interrupted and retried after a restart) and wait for the cycles to end.
public final class RunLoop: Sendable {
    let cycle: UpdateCycle
    let jobs: [JobConfig]
    let stopRequested = Atomic<Bool>(false)
    private let running = Mutex<Set<String>>([])

    public init(cycle: UpdateCycle, jobs: [JobConfig]) {
        self.cycle = cycle
        self.jobs = jobs
    }

    /// Runs one cycle of every job, side by side, and returns when all are done.
    @discardableResult
    public func runOnce() -> [CycleOutcome] {
        parallelMap(jobs) { [cycle] job in cycle.run(job) }
    }

    public func stop() {
        stopRequested.store(true, ordering: .relaxed)
        cycle.engine.shutdown()
    }

    /// Runs until ``stop()``; returns once the cycles in progress have ended.
    /// After a failed cycle, a job waits this long before a pending request can start it again
    /// (its schedule still applies), so a persistent problem is not retried every second.
    public static let retryDelay: TimeInterval = 60

    public func run() {
        let due = Mutex<[String: Date]>([:])
        let retryAfter = Mutex<[String: Date]>([:])
        let log = cycle.log
        let group = DispatchGroup()
        log(.info, "watching \(jobs.count) job\(jobs.count == 1 ? "" : "s"): \(jobs.map(\.name).joined(separator: ", ")); up to \(cycle.engine.concurrency) training\(cycle.engine.concurrency == 1 ? "" : "s") at once")
        while !stopRequested.load(ordering: .relaxed) {
            let now = Date()
            for job in jobs where !stopRequested.load(ordering: .relaxed) {
                let requested = (try? cycle.registry.pendingRequests(job: job.name).isEmpty == false) ?? false
                let backingOff = now < retryAfter.withLock { $0[job.name, default: .distantPast] }
                let scheduled = now >= due.withLock { $0[job.name, default: .distantPast] }
                guard scheduled || (requested && !backingOff) else { continue }
                let started = running.withLock { $0.insert(job.name).inserted }
                guard started else { continue }  // still running: coalesced
                DispatchQueue.global().async(group: group) { [self] in
                    let outcome = cycle.run(job)
                    // The next check comes schedule.interval after this cycle ended.
                    let end = Date()
                    due.withLock { $0[job.name] = end.addingTimeInterval(job.schedule.interval) }
                    retryAfter.withLock { $0[job.name] = outcome.kind == .failed ? end.addingTimeInterval(Self.retryDelay) : nil }
                    self.running.withLock { _ = $0.remove(job.name) }
                }
            }
            for _ in 0..<10 where !stopRequested.load(ordering: .relaxed) { usleep(100_000) }
        }
        log(.info, "stopping: waiting for \(running.withLock { $0.count }) run(s) in progress")
        group.wait()
        log(.info, "stopped")
    }
}
