import Foundation
import Support

/// Fault injection for the crash tests: with `UPDATER_TEST_STALL=POINT` in its environment the
/// daemon writes `stalled at POINT` to stderr and stops there for ten minutes, so that a test can
/// kill -9 it at that exact point. Points: `artifact` (a candidate's artifact written, its record
/// not yet), `promotion` (the new model published to the deploy path, the production pointer not
/// yet committed), `promoted` (the promotion committed, the run not yet finished). Without the
/// variable these are no-ops.
enum TestHooks {
    static let point = ProcessInfo.processInfo.environment["UPDATER_TEST_STALL"]

    static func stall(_ name: String, log: Log) {
        guard point == name else { return }
        log(.warning, "stalled at \(name) (UPDATER_TEST_STALL)")
        sleep(600)
    }
}
