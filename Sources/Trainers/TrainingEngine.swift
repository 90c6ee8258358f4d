import Dispatch
import Foundation
import Support
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The one training engine of a daemon, shared by every job: it bounds how many trainings run at
/// once (default: half the cores, at least 1), stops a training at its time limit, when a person
/// cancels its run (`updater cancel`) or when the daemon shuts down, and measures what it cost.
/// One job never trains twice at once because the run loop runs one cycle per job at a time.
package final class TrainingEngine: Sendable {
    package let concurrency: Int
    private let slots: DispatchSemaphore
    private let shuttingDown = Atomic<Bool>(false)

    package init(concurrency: Int = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)) {
        self.concurrency = max(1, concurrency)
        slots = DispatchSemaphore(value: self.concurrency)
    }

    /// What a training cost.
    package struct Usage: Sendable, Equatable {
        package var wallSeconds: Double
        /// CPU time of the whole process while it trained (shared when trainings overlap).
        package var cpuSeconds: Double
        /// The process's peak resident memory so far.
        package var peakMemoryBytes: Int64

        package init(wallSeconds: Double, cpuSeconds: Double, peakMemoryBytes: Int64) {
            self.wallSeconds = wallSeconds
            self.cpuSeconds = cpuSeconds
            self.peakMemoryBytes = peakMemoryBytes
        }
    }

    /// Stops every training at its next check; the run loop calls it on SIGTERM.
    package func shutdown() { shuttingDown.store(true, ordering: .relaxed) }

    package var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }

    /// Runs `body` once a slot is free. `body` receives a `shouldStop` closure to ask between
    /// steps; it returns why to stop (time limit, cancellation, shutdown) or nil.
    package func train<T>(
        timeLimit: Double, cancelledBy: @escaping @Sendable () -> String?, _ body: (@escaping @Sendable () -> String?) throws -> T
    ) throws -> (result: T, usage: Usage) {
        slots.wait()
        defer { slots.signal() }
        let started = Date()
        let cpuBefore = processCPUSeconds()
        let deadline = started.addingTimeInterval(timeLimit)
        let lastCheck = Mutex(Date.distantPast)
        let stop: @Sendable () -> String? = { [self] in
            if isShuttingDown { return "updater is shutting down" }
            let now = Date()
            if now >= deadline { return "time limit of \(formatSeconds(timeLimit)) reached" }
            // Ask at most twice a second whether a person cancelled the run (a registry read).
            let due = lastCheck.withLock { last in
                guard now.timeIntervalSince(last) >= 0.5 else { return false }
                last = now
                return true
            }
            if due, let who = cancelledBy() { return "cancelled by \(who)" }
            return nil
        }
        let result = try body(stop)
        let usage = Usage(
            wallSeconds: Date().timeIntervalSince(started), cpuSeconds: processCPUSeconds() - cpuBefore,
            peakMemoryBytes: peakResidentBytes())
        return (result, usage)
    }
}
