import Foundation
import Testing

@testable import Webhooks

@Suite("Webhook retries")
struct RetryPolicyTests {
    let now = Date(timeIntervalSince1970: 1_000_000)

    @Test("attempt n waits schedule[n-1] plus up to 20 % of jitter; after the last, the delivery is dead")
    func schedule() {
        let p = RetryPolicy(schedule: [5, 300])
        #expect(p.attempts == 3)
        #expect(p.retry(afterAttempt: 1, retryAfter: nil, gone: false, now: now, random: { $0.lowerBound }) == now.addingTimeInterval(5))
        #expect(p.retry(afterAttempt: 2, retryAfter: nil, gone: false, now: now, random: { _ in 0.2 }) == now.addingTimeInterval(360))
        #expect(p.retry(afterAttempt: 3, retryAfter: nil, gone: false, now: now) == nil)
        for _ in 0..<100 {
            let t = p.retry(afterAttempt: 1, retryAfter: nil, gone: false, now: now)!.timeIntervalSince(now)
            #expect(t >= 5 && t < 6)
        }
    }

    @Test("Retry-After lengthens the wait (never shortens it), up to a day; 410 Gone is never retried")
    func receiverSays() {
        let p = RetryPolicy(schedule: [5, 300])
        let noJitter: (Range<Double>) -> Double = { $0.lowerBound }
        #expect(p.retry(afterAttempt: 1, retryAfter: 120, gone: false, now: now, random: noJitter) == now.addingTimeInterval(120))
        #expect(p.retry(afterAttempt: 1, retryAfter: 2, gone: false, now: now, random: noJitter) == now.addingTimeInterval(5))
        #expect(p.retry(afterAttempt: 1, retryAfter: 1e9, gone: false, now: now, random: noJitter) == now.addingTimeInterval(86_400))
        #expect(p.retry(afterAttempt: 1, retryAfter: nil, gone: true, now: now) == nil)
    }

    @Test("the default schedule is Svix's: eight attempts over about 28 hours")
    func defaults() {
        let p = RetryPolicy()
        #expect(p.attempts == 8)
        #expect(abs(p.schedule.reduce(0, +) / 3600 - 27.6) < 0.1)
    }
}
