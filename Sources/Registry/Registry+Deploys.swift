import Foundation
import GRDB

/// A deploy hook (`[deploy] command`) owed for a change of the published model: queued in the same
/// transaction as the change, run by whoever gets to it first (the cycle that made the change, the
/// command that rolled back, the job's next cycle), retried at each of the job's cycles until it
/// succeeds. Only the newest change of a job matters to a serving system: queuing one supersedes
/// the job's older hooks that have not succeeded.
package struct DeployHookRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "deploy_hook"
    package enum State: String, Codable, Sendable {
        /// Not tried yet.
        case pending
        /// Being run (by the process that claimed it at `startedAt`).
        case running
        case succeeded
        /// Its last attempt failed; tried again at the job's next cycle.
        case failed
        /// A newer change of the job's published model came first.
        case superseded
    }
    package var id: Int64?
    package var job: String
    package var version: Int
    /// `model.promoted`, `model.rolled_back`, `model.forced` or `model.republished`.
    package var event: String
    package var runID: Int64?
    /// What was published (JSON: `deploy_path`, `format`, `sha256`, `files`).
    package var published: String
    package var state: State
    package var attempts: Int
    package var lastError: String?
    package var createdAt: Date
    package var startedAt: Date?
    package var finishedAt: Date?
    package var logPath: String?

    enum CodingKeys: String, CodingKey {
        case id, job, version, event, published, state, attempts
        case runID = "run_id", lastError = "last_error", createdAt = "created_at", startedAt = "started_at"
        case finishedAt = "finished_at", logPath = "log_path"
    }

    package init(job: String, version: Int, event: String, runID: Int64?, published: String, at now: Date) {
        (self.job, self.version, self.event, self.runID, self.published) = (job, version, event, runID, published)
        (self.state, self.attempts, self.createdAt) = (.pending, 0, now)
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension Registry {
    /// Queues `hook`, superseding the job's older hooks that have not succeeded.
    static func queue(_ db: Database, _ hook: DeployHookRecord) throws {
        try db.execute(
            sql: "UPDATE deploy_hook SET state = 'superseded' WHERE job = ? AND state IN ('pending', 'failed', 'running')",
            arguments: [hook.job])
        var h = hook
        try h.insert(db)
    }

    /// Runs `body` (the republication of production's files) only while `version` is still the
    /// job's production, in one write transaction; when it returns true, queues `hook` with it.
    /// Nil when production changed meanwhile.
    package func republishing(of job: String, is version: Int, hook: DeployHookRecord?, _ body: @Sendable () throws -> Bool) throws -> Bool? {
        try db.write { db in
            guard try JobRecord.fetchOne(db, key: job)?.productionVersion == version else { return nil }
            let done = try body()
            if done, let hook { try Self.queue(db, hook) }
            return done
        }
    }

    /// Claims the job's hook to run, if one is owed: pending, failed (retried), or running but
    /// claimed longer than `staleAfter` seconds ago (its runner died). Its attempts count this one.
    package func claimDeployHook(job: String, now: Date = Date(), staleAfter: Double) throws -> DeployHookRecord? {
        try db.write { db in
            guard var hook = try DeployHookRecord
                .filter(Column("job") == job)
                .filter(["pending", "failed"].contains(Column("state"))
                    || (Column("state") == "running" && Column("started_at") < StoredDate.databaseValue(now.addingTimeInterval(-staleAfter))))
                .order(Column("id").desc).fetchOne(db)
            else { return nil }
            hook.state = .running
            hook.startedAt = now
            hook.attempts += 1
            try hook.update(db)
            return hook
        }
    }

    /// Records how the claimed `hook` ended; a failure is announced by `event` (`deploy.hook_failed`).
    /// A hook superseded meanwhile stays superseded.
    package func finishDeployHook(_ hook: DeployHookRecord, succeeded: Bool, error: String?, logPath: String?, event: WebhookEventRecord?, now: Date = Date()) throws {
        try db.write { db in
            guard var current = try DeployHookRecord.fetchOne(db, key: hook.id), current.state == .running else { return }
            current.state = succeeded ? .succeeded : .failed
            current.lastError = succeeded ? nil : error
            current.finishedAt = now
            current.logPath = logPath.map(stored)
            try current.update(db)
            if !succeeded, let event { try emit(db, event) }
        }
    }

    /// Each job's newest hook, if it has one.
    package func latestDeployHooks() throws -> [String: DeployHookRecord] {
        try db.read { db in
            let rows = try DeployHookRecord.fetchAll(db, sql: "SELECT * FROM deploy_hook WHERE id IN (SELECT MAX(id) FROM deploy_hook GROUP BY job)")
            return Dictionary(uniqueKeysWithValues: rows.map { row in
                var r = row
                r.logPath = r.logPath.map(resolved)
                return (r.job, r)
            })
        }
    }
}
