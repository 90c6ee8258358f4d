import Dispatch
import Foundation
import Registry
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The one training engine of a daemon, shared by every job: it bounds how many trainings run at
/// once (default: half the cores, at least 1), stops a training at its time limit, when a person
/// cancels its run (`updater cancel`) or when the daemon shuts down, and measures what it cost.
/// One job never trains twice at once because the run loop runs one cycle per job at a time.
public final class TrainingEngine: Sendable {
    public let concurrency: Int
    private let slots: DispatchSemaphore
    private let shuttingDown = Atomic<Bool>(false)

    public init(concurrency: Int = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)) {
        self.concurrency = max(1, concurrency)
        slots = DispatchSemaphore(value: self.concurrency)
    }

    /// What a training cost.
    public struct Usage: Sendable, Equatable {
        public var wallSeconds: Double
        /// CPU time of the whole process while it trained (shared when trainings overlap).
        public var cpuSeconds: Double
        /// The process's peak resident memory so far.
        public var peakMemoryBytes: Int64
    }

    /// Stops every training at its next check; the run loop calls it on SIGTERM.
    public func shutdown() { shuttingDown.store(true, ordering: .relaxed) }

    public var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }

    /// Runs `body` once a slot is free. `body` receives a `shouldStop` closure to ask between
    /// steps; it returns why to stop (time limit, cancellation, shutdown) or nil.
    func train<T>(
        runID: Int64, timeLimit: Double, registry: Registry, _ body: (@escaping @Sendable () -> String?) throws -> T
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
            // Ask the registry at most twice a second whether a person cancelled the run.
            let due = lastCheck.withLock { last in
                guard now.timeIntervalSince(last) >= 0.5 else { return false }
                last = now
                return true
            }
            if due, let who = try? registry.cancelRequest(run: runID) { return "cancelled by \(who)" }
            return nil
        }
        let result = try body(stop)
        let usage = Usage(
            wallSeconds: Date().timeIntervalSince(started), cpuSeconds: processCPUSeconds() - cpuBefore,
            peakMemoryBytes: peakResidentBytes())
        return (result, usage)
    }
}

func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

func peakResidentBytes() -> Int64 {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int64(usage.ru_maxrss) * 1024
}

/// `90` → `1m30s`.
func formatSeconds(_ s: Double) -> String {
    let total = Int(s.rounded())
    if total < 60 { return "\(total)s" }
    if total < 3600 { return "\(total / 60)m" + (total % 60 > 0 ? "\(total % 60)s" : "") }
    return "\(total / 3600)h" + (total % 3600 / 60 > 0 ? "\(total % 3600 / 60)m" : "")
}
