import Dispatch
import Foundation
import GRDB

/// An event for webhooks, written in the same transaction as the state change it reports (a
/// promotion and its `model.promoted` event commit together or not at all). `payload` is the exact
/// JSON body sent to `standard` endpoints, the same on every attempt.
package struct WebhookEventRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, PersistableRecord {
    package static let databaseTableName = "webhook_event"
    /// `msg_` and 24 random characters: the `webhook-id` header, the receiver's idempotency key.
    package var id: String
    package var type: String
    package var job: String?
    /// `{"data":…,"timestamp":…,"type":…}`.
    package var payload: String
    package var createdAt: Date
    /// Whether deliveries were made for the endpoints that want it (the dispatcher's fan-out).
    package var fannedOut: Bool

    enum CodingKeys: String, CodingKey {
        case id, type, job, payload, createdAt = "created_at", fannedOut = "fanned_out"
    }

    package init(type: String, job: String?, data: JSONValue, at now: Date = Date()) {
        id = Self.newID()
        self.type = type
        self.job = job
        createdAt = now
        fannedOut = false
        payload = JSONValue.object(["type": .string(type), "timestamp": .string(Self.timestamp(now)), "data": data]).text
    }

    /// The payload's `data` object.
    package var data: JSONValue { JSONValue(parsing: payload)?["data"] ?? .null }

    package static func newID() -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var g = SystemRandomNumberGenerator()
        return "msg_" + String((0..<24).map { _ in alphabet[Int(g.next(upperBound: UInt(alphabet.count)))] })
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-03T13:46:39.693Z`. Made by hand (``UTCTime``:
    /// the same text), as `ISO8601DateFormatter` would load ICU into the daemon; the formatter only
    /// for years outside 1583...9999.
    package static func timestamp(_ date: Date) -> String {
        if let time = UTCTime(date) { return time.iso8601WithMilliseconds }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}

/// One event's delivery to one endpoint: pending (first attempt or waiting for a retry), delivered
/// (a 2xx answer), or dead (the last attempt failed, or the endpoint said 410 Gone). Kept either way.
package struct WebhookDeliveryRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "webhook_delivery"
    package enum State: String, Codable, Sendable { case pending, delivered, dead }
    package var id: Int64?
    package var eventID: String
    package var endpoint: String
    package var state: State
    package var attempts: Int
    package var nextAttemptAt: Date?
    package var lastAttemptAt: Date?
    /// The HTTP status of the last answer, nil when none came.
    package var lastStatus: Int?
    /// Why the last attempt failed (a status, a timeout, a refused connection), never a secret.
    package var lastError: String?
    package var deliveredAt: Date?
    package var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, eventID = "event_id", endpoint, state, attempts, nextAttemptAt = "next_attempt_at"
        case lastAttemptAt = "last_attempt_at", lastStatus = "last_status", lastError = "last_error"
        case deliveredAt = "delivered_at", createdAt = "created_at"
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// An endpoint the receiver asked to stop (410 Gone), until `updater webhooks enable`.
package struct WebhookEndpointStateRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, PersistableRecord {
    package static let databaseTableName = "webhook_endpoint_state"
    package var endpoint: String
    package var disabledAt: Date
    package var reason: String

    enum CodingKeys: String, CodingKey { case endpoint, disabledAt = "disabled_at", reason }
}

/// A delivery with its event, as the dispatcher and `updater webhooks deliveries` see it.
package struct WebhookDelivery: Sendable, Equatable {
    package var delivery: WebhookDeliveryRecord
    package var event: WebhookEventRecord
}

/// One attempt's outcome, as the dispatcher records it.
package struct DeliveryAttempt: Sendable, Equatable {
    package var delivery: Int64
    /// The delivery's attempts when this one was made: if they changed meanwhile (`updater webhooks
    /// redeliver` reset them), this outcome is stale and not recorded.
    package var attemptsBefore: Int
    package var at: Date
    package var status: Int?
    package var error: String?
    package var delivered: Bool
    /// When to try again; nil (and not delivered): the delivery is dead.
    package var retryAt: Date?

    package init(delivery: Int64, attemptsBefore: Int, at: Date, status: Int?, error: String?, delivered: Bool, retryAt: Date?) {
        self.delivery = delivery
        self.attemptsBefore = attemptsBefore
        self.at = at
        self.status = status
        self.error = error
        self.delivered = delivered
        self.retryAt = retryAt
    }
}

extension Registry {
    /// Signalled when a transaction of this process that wrote webhook events commits, so that the
    /// dispatcher fans them out at once (events of other processes, such as `updater rollback`,
    /// are found by its polling).
    /// Writes `event` inside the caller's transaction; the dispatcher is woken once it commits.
    func emit(_ db: Database, _ event: WebhookEventRecord) throws {
        try event.insert(db)
        db.afterNextTransaction(onCommit: { [outboxCommitted] _ in outboxCommitted.signal() })
    }

    /// Writes an event that reports no other state change, in its own transaction.
    package func emit(_ event: WebhookEventRecord) throws {
        try db.write { db in try emit(db, event) }
    }

    package func events(type: String? = nil, limit: Int = 1000) throws -> [WebhookEventRecord] {
        try db.read { db in
            var q = WebhookEventRecord.order(Column("created_at"), Column("rowid"))
            if let type { q = q.filter(Column("type") == type) }
            return try q.limit(limit).fetchAll(db)
        }
    }

    package func hasUnfannedEvents() throws -> Bool {
        try db.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM webhook_event WHERE fanned_out = 0 LIMIT 1") ?? false }
    }

    /// Makes a pending delivery for each endpoint `route` names for each event not yet fanned out,
    /// and marks those events fanned out, in one transaction. Returns how many deliveries it made.
    @discardableResult
    package func fanOut(now: Date = Date(), limit: Int = 1000, route: @Sendable (WebhookEventRecord) -> [String]) throws -> Int {
        try db.write { db in
            let events = try WebhookEventRecord.filter(Column("fanned_out") == false).order(Column("rowid")).limit(limit).fetchAll(db)
            var made = 0
            for var event in events {
                for endpoint in route(event) {
                    var d = WebhookDeliveryRecord(
                        id: nil, eventID: event.id, endpoint: endpoint, state: .pending, attempts: 0, nextAttemptAt: now,
                        lastAttemptAt: nil, lastStatus: nil, lastError: nil, deliveredAt: nil, createdAt: now)
                    try d.insert(db, onConflict: .ignore)
                    made += 1
                }
                event.fannedOut = true
                try event.update(db)
            }
            return made
        }
    }

    /// `endpoint`'s deliveries due at `now`, oldest event first.
    package func dueDeliveries(endpoint: String, now: Date = Date(), limit: Int = 100) throws -> [WebhookDelivery] {
        try db.read { db in
            let rows = try WebhookDeliveryRecord.filter(
                Column("endpoint") == endpoint && Column("state") == WebhookDeliveryRecord.State.pending.rawValue
                    && Column("next_attempt_at") <= StoredDate.databaseValue(now)
            ).order(Column("id")).limit(limit).fetchAll(db)
            return try Self.joined(db, rows)
        }
    }

    /// When `endpoint`'s next pending delivery is due, if it has one.
    package func nextDue(endpoint: String) throws -> Date? {
        try db.read { db in
            try StoredDate.fetchOne(
                db, sql: "SELECT MIN(next_attempt_at) FROM webhook_delivery WHERE endpoint = ? AND state = 'pending'",
                arguments: [endpoint])
        }
    }

    /// Records attempts, in one transaction: each delivered, or waiting until its `retryAt`, or
    /// dead; an outcome for a delivery that changed since its attempt began is skipped.
    package func record(_ attempts: [DeliveryAttempt]) throws {
        guard !attempts.isEmpty else { return }
        try db.write { db in
            for a in attempts {
                guard var d = try WebhookDeliveryRecord.fetchOne(db, key: a.delivery), d.state == .pending,
                    d.attempts == a.attemptsBefore
                else { continue }
                d.attempts += 1
                d.lastAttemptAt = a.at
                d.lastStatus = a.status
                d.lastError = a.delivered ? nil : a.error
                if a.delivered {
                    d.state = .delivered
                    d.deliveredAt = a.at
                    d.nextAttemptAt = nil
                } else if let retryAt = a.retryAt {
                    d.state = .pending
                    d.nextAttemptAt = retryAt
                } else {
                    d.state = .dead
                    d.nextAttemptAt = nil
                }
                try d.update(db)
            }
        }
    }

    /// Deliveries, newest first: all, or only failed ones (dead, or pending after a failed attempt).
    package func deliveries(failed: Bool = false, endpoint: String? = nil, limit: Int = 50) throws -> [WebhookDelivery] {
        try db.read { db in
            var q = WebhookDeliveryRecord.all()
            if failed { q = q.filter(Column("state") == "dead" || (Column("state") == "pending" && Column("attempts") > 0)) }
            if let endpoint { q = q.filter(Column("endpoint") == endpoint) }
            return try Self.joined(db, try q.order(Column("id").desc).limit(limit).fetchAll(db))
        }
    }

    package func delivery(_ id: Int64) throws -> WebhookDelivery? {
        try db.read { db in try Self.joined(db, [WebhookDeliveryRecord.fetchOne(db, key: id)].compactMap { $0 }).first }
    }

    /// Counts of deliveries per endpoint and state.
    package func deliveryCounts() throws -> [String: [WebhookDeliveryRecord.State: Int]] {
        try db.read { db in
            var counts: [String: [WebhookDeliveryRecord.State: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT endpoint, state, COUNT(*) AS n FROM webhook_delivery GROUP BY endpoint, state") {
                if let s = WebhookDeliveryRecord.State(rawValue: row["state"]) { counts[row["endpoint"], default: [:]][s] = row["n"] }
            }
            return counts
        }
    }

    /// Deletes events created and (if they were) delivered before `cutoff` whose deliveries all
    /// arrived (or that had none), with their deliveries; dead and pending ones, and their events,
    /// stay. A thousand events per transaction, so that a large first pruning never holds the
    /// write lock for long. Returns how many events it deleted.
    @discardableResult
    package func pruneDeliveredEvents(before cutoff: Date) throws -> Int {
        var total = 0
        while true {
            let n = try db.write { db -> Int in
                let ids = try String.fetchAll(
                    db,
                    sql: """
                        SELECT e.id FROM webhook_event e WHERE e.created_at < ? AND e.fanned_out = 1
                        AND NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.event_id = e.id
                                        AND (d.state != 'delivered' OR d.delivered_at >= ?))
                        LIMIT 1000
                        """, arguments: [StoredDate.databaseValue(cutoff), StoredDate.databaseValue(cutoff)])
                guard !ids.isEmpty else { return 0 }
                let list = ids.map { _ in "?" }.joined(separator: ",")
                try db.execute(sql: "DELETE FROM webhook_delivery WHERE event_id IN (\(list))", arguments: StatementArguments(ids))
                try db.execute(sql: "DELETE FROM webhook_event WHERE id IN (\(list))", arguments: StatementArguments(ids))
                return ids.count
            }
            total += n
            if n < 1000 { return total }
        }
    }

    /// Sends delivery `id` again as soon as the daemon sees it (same event id, a fresh retry schedule).
    package func redeliver(_ id: Int64, now: Date = Date()) throws -> WebhookDelivery {
        try db.write { db in
            guard var d = try WebhookDeliveryRecord.fetchOne(db, key: id) else { throw RegistryError("there is no delivery \(id)") }
            d.state = .pending
            d.attempts = 0
            d.nextAttemptAt = now
            d.deliveredAt = nil
            try d.update(db)
            return try Self.joined(db, [d])[0]
        }
    }

    package func disableEndpoint(_ endpoint: String, reason: String, now: Date = Date()) throws {
        try db.write { db in try WebhookEndpointStateRecord(endpoint: endpoint, disabledAt: now, reason: reason).save(db) }
    }

    /// Re-enables an endpoint; false when it was not disabled.
    @discardableResult
    package func enableEndpoint(_ endpoint: String) throws -> Bool {
        try db.write { db in try WebhookEndpointStateRecord.deleteOne(db, key: endpoint) }
    }

    package func disabledEndpoints() throws -> [String: WebhookEndpointStateRecord] {
        try db.read { db in
            Dictionary(try WebhookEndpointStateRecord.fetchAll(db).map { ($0.endpoint, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    static func joined(_ db: Database, _ rows: [WebhookDeliveryRecord]) throws -> [WebhookDelivery] {
        let ids = Set(rows.map(\.eventID))
        let events = Dictionary(
            try WebhookEventRecord.filter(ids.contains(Column("id"))).fetchAll(db).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return rows.compactMap { d in events[d.eventID].map { WebhookDelivery(delivery: d, event: $0) } }
    }
}
