import Synchronization

/// A wake-up call for one waiting task: any thread may ``signal()``; ``wait(timeout:)`` returns at
/// the next signal (at once if one came since the last wait: signals coalesce), after the timeout,
/// or when the task is cancelled. The scheduler sleeps on it between events instead of ticking.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }

    /// Waits for a signal, at most `timeout` (nil: no limit).
    func wait(timeout: Duration?) async {
        if state.withLock({ s in defer { s.pending = false }; return s.pending }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.nextSignal() }
            group.addTask {
                if let timeout {
                    try? await Task.sleep(for: timeout)
                } else {
                    while !Task.isCancelled { try? await Task.sleep(for: .seconds(86_400)) }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func nextSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                // Checked under the lock: a cancellation before this point is seen here, one after
                // it finds the stored continuation.
                let now = state.withLock { s -> Bool in
                    if s.pending || Task.isCancelled {
                        s.pending = false
                        return true
                    }
                    s.waiter = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume()
        }
    }
}
