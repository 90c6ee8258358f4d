import Foundation

/// When a failed delivery is tried again: after the settings' `retry_schedule` (the wait after
/// attempt n is `schedule[n-1]`), stretched by up to 20 % of jitter so that many deliveries failing
/// together do not all retry together, and at least as long as the receiver's `Retry-After` (capped
/// at a day). After the last wait the delivery is dead; a 410 Gone is never retried.
///
/// ```swift
/// let p = RetryPolicy(schedule: [5, 300])
/// p.retry(afterAttempt: 1, retryAfter: nil, gone: false)   // 5 to 6 s from now
/// p.retry(afterAttempt: 3, retryAfter: nil, gone: false)   // nil: dead
/// ```
package struct RetryPolicy: Sendable, Equatable {
    package var schedule: [Double]
    /// The largest share of extra wait added at random.
    package var jitter = 0.2

    package init(schedule: [Double] = WebhookSettings.defaultRetrySchedule) { self.schedule = schedule }

    /// How many attempts a delivery gets in all.
    package var attempts: Int { schedule.count + 1 }

    /// When to try again after attempt `number` (1-based) failed, or nil when it was the last.
    package func retry(
        afterAttempt number: Int, retryAfter: TimeInterval?, gone: Bool, now: Date = Date(),
        random: (Range<Double>) -> Double = { Double.random(in: $0) }
    ) -> Date? {
        guard !gone, number >= 1, number <= schedule.count else { return nil }
        var wait = schedule[number - 1] * (1 + random(0..<jitter))
        if let asked = retryAfter { wait = max(wait, min(asked, 86_400)) }
        return now.addingTimeInterval(wait)
    }
}
