import Foundation
import ServiceLifecycle
import Synchronization

/// SIGTERM or SIGINT that arrives while `updater run` starts (job files loaded, the state directory
/// locked and recovered), before the service group traps them: remembered, not fatal, so that
/// the daemon stops cleanly (exit 0, the lock released) as soon as the group runs, instead of
/// dying of the signal's default action. systemd may stop a unit at any moment of its start.
package enum EarlySignals {
    static let received = Atomic<Bool>(false)

    /// From here until the service group runs, SIGTERM and SIGINT are only remembered.
    package static func install() {
        signal(SIGTERM, earlySignal)
        signal(SIGINT, earlySignal)
    }

    package static var wasReceived: Bool { received.load(ordering: .relaxed) }
}

/// A signal handler may only do async-signal-safe work: a lock-free atomic store.
private func earlySignal(_: Int32) {
    EarlySignals.received.store(true, ordering: .relaxed)
}

/// First in the daemon's group: if a stop signal came before the group trapped the signals, it ends
/// at once, which shuts the group down gracefully; otherwise it waits for the shutdown.
struct StopIfSignalledEarly: Service {
    func run() async throws {
        guard !EarlySignals.wasReceived else { return }
        try? await gracefulShutdown()
    }
}
