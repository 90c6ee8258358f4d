import Foundation

/// Where the current time comes from: the system's clock, or a test's.
///
/// ```swift
/// var t = Date(timeIntervalSince1970: 0)
/// let clock = WallClock { t }
/// ```
package struct WallClock: Sendable {
    package var now: @Sendable () -> Date

    package init(_ now: @escaping @Sendable () -> Date) { self.now = now }

    package static let system = WallClock { Date() }
}
