import Foundation
import GRDB
import Testing

@testable import Registry

@Suite("The webhook outbox")
struct OutboxTests {
    let dir = TempDir()

    func registry() throws -> Registry {
        let r = try Registry(path: dir.path + "/registry.sqlite")
        try r.upsertJob(name: "churn", filePath: "/jobs/churn.toml", fileHash: "h1", deployPath: "/srv/churn.model")
        return r
    }

    @Test("an event is written only if its transaction commits")
    func eventWithItsTransaction() throws {
        let r = try registry()
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try r.write { db in
                try r.emit(db, WebhookEventRecord(type: "run.started", job: "churn", data: ["run": 1]))
                throw Boom()
            }
        }
        #expect(try r.events().isEmpty)
        // A production move commits its model.promoted event; one whose publish fails leaves none.
        #expect(throws: Boom.self) {
            _ = try r.moveProduction(job: "churn", to: 1, action: .promote, actor: "t", reason: "r") { throw Boom() }
        }
        #expect(try r.events().isEmpty)
        _ = try r.moveProduction(job: "churn", to: 1, action: .promote, actor: "t", reason: "r") {}
        let events = try r.events()
        #expect(events.map(\.type) == ["model.promoted"] && events[0].data["to_version"] == 1)
    }

    @Test("fan-out makes one delivery per wanted endpoint, once; attempts move a delivery to delivered, a retry or dead")
    func deliveries() throws {
        let r = try registry()
        try r.emit(WebhookEventRecord(type: "run.started", job: "churn", data: [:]))
        #expect(try r.fanOut { _ in ["a", "b"] } == 2)
        #expect(try r.fanOut { _ in ["a", "b"] } == 0, "an event is fanned out once")
        let due = try r.dueDeliveries(endpoint: "a")
        #expect(due.count == 1)
        let id = try #require(due.first?.delivery.id)
        let later = Date().addingTimeInterval(60)
        try r.record([DeliveryAttempt(delivery: id, attemptsBefore: 0, at: Date(), status: 500, error: "HTTP 500", delivered: false, retryAt: later)])
        #expect(try r.dueDeliveries(endpoint: "a").isEmpty, "waiting for its retry")
        #expect(try r.delivery(id)?.delivery.attempts == 1 && r.delivery(id)?.delivery.state == .pending)
        try r.record([DeliveryAttempt(delivery: id, attemptsBefore: 1, at: Date(), status: nil, error: "refused", delivered: false, retryAt: nil)])
        #expect(try r.delivery(id)?.delivery.state == .dead && r.delivery(id)?.delivery.attempts == 2)
        #expect(try r.deliveries(failed: true).map(\.delivery.id) == [id])
    }

    @Test("an outcome that arrives after `redeliver` reset the delivery is not recorded over it")
    func staleOutcome() throws {
        let r = try registry()
        try r.emit(WebhookEventRecord(type: "run.started", job: "churn", data: [:]))
        try r.fanOut { _ in ["a"] }
        let id = try #require(try r.dueDeliveries(endpoint: "a").first?.delivery.id)
        try r.record([DeliveryAttempt(delivery: id, attemptsBefore: 0, at: Date(), status: 500, error: "HTTP 500", delivered: false, retryAt: Date())])
        // An attempt (its second) starts; meanwhile a person redelivers.
        _ = try r.redeliver(id)
        try r.record([DeliveryAttempt(delivery: id, attemptsBefore: 1, at: Date(), status: nil, error: "timed out", delivered: false, retryAt: nil)])
        let d = try #require(try r.delivery(id)?.delivery)
        #expect(d.state == .pending && d.attempts == 0, "the redelivery stands: \(d)")
    }

    @Test("pruning deletes old events whose deliveries all arrived (or that had none); dead, pending and recent ones stay")
    func prune() throws {
        let r = try registry()
        let old = Date().addingTimeInterval(-40 * 86400)
        for (type, at) in [("delivered", old), ("redelivered", old), ("dead", old), ("pending", old), ("none", old), ("recent", Date())] {
            try r.emit(WebhookEventRecord(type: type, job: "churn", data: [:], at: at))
        }
        try r.fanOut { $0.type == "none" ? [] : ["a"] }
        for d in try r.dueDeliveries(endpoint: "a") {
            let id = d.delivery.id!
            switch d.event.type {
            case "delivered": try r.record([DeliveryAttempt(delivery: id, attemptsBefore: 0, at: old, status: 200, error: nil, delivered: true, retryAt: nil)])
            // An old event delivered lately (a redelivery) is kept as long as a new one.
            case "redelivered", "recent": try r.record([DeliveryAttempt(delivery: id, attemptsBefore: 0, at: Date(), status: 200, error: nil, delivered: true, retryAt: nil)])
            case "dead": try r.record([DeliveryAttempt(delivery: id, attemptsBefore: 0, at: Date(), status: 500, error: "HTTP 500", delivered: false, retryAt: nil)])
            default: break
            }
        }
        #expect(try r.pruneDeliveredEvents(before: Date().addingTimeInterval(-30 * 86400)) == 2)
        #expect(try Set(r.events().map(\.type)) == ["redelivered", "dead", "pending", "recent"])
        #expect(try Set(r.deliveries(limit: 100).map(\.event.type)) == ["redelivered", "dead", "pending", "recent"])
    }
}
