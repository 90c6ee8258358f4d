import Foundation
import Support
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Threads of the daemon's own for the update cycles, which block (reading files, training, waiting
/// for a training slot, running a trainer): kept off Swift's cooperative pool (two threads on a
/// two-core machine) and off the global dispatch queues. At most `threads` cycles run at once;
/// more wait their turn. A thread starts when work arrives and ends after ``idleSeconds`` without
/// any, so an idle daemon holds none.
final class CyclePool: Sendable {
    private struct State {
        var queue: [@Sendable () -> Void] = []
        var threads = 0
        var idle = 0
    }
    private let state = Mutex(State())
    private let available = DispatchSemaphore(value: 0)
    let threads: Int
    let idleSeconds: Double

    init(threads: Int, idleSeconds: Double = 10) {
        self.threads = max(1, threads)
        self.idleSeconds = idleSeconds
    }

    /// Runs `body` on one of the pool's threads and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let start = state.withLock { s -> Bool in
                s.queue.append { continuation.resume(returning: body()) }
                guard s.idle == 0, s.threads < threads else { return false }
                s.threads += 1
                return true
            }
            if start { startThread() }
            available.signal()
        }
    }

    private func startThread() {
        let thread = Thread { [self] in
            while true {
                state.withLock { $0.idle += 1 }
                let woken = available.wait(timeout: .now() + idleSeconds) == .success
                let work = state.withLock { s -> (@Sendable () -> Void)? in
                    s.idle -= 1
                    if woken, !s.queue.isEmpty { return s.queue.removeFirst() }
                    // Idle for long enough (or stopping): this thread ends.
                    if s.queue.isEmpty {
                        s.threads -= 1
                        return nil
                    }
                    return s.queue.removeFirst()
                }
                guard let work else {
                    // The last thread ending means the daemon is idle: give the memory the cycles
                    // freed back to the system (glibc keeps it in its arenas otherwise).
                    if state.withLock({ $0.threads == 0 }) { releaseFreeMemory() }
                    return
                }
                work()
            }
        }
        thread.name = "cycle"
        thread.start()
    }

    /// Ends the threads once the work already queued is done.
    func shutdown() {
        let n = state.withLock { $0.threads }
        for _ in 0..<n { available.signal() }
    }
}
