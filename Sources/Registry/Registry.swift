import Dispatch
import Foundation
import GRDB

/// Why the registry could not be opened or changed.
package struct RegistryError: Error, CustomStringConvertible, Sendable {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// The SQLite record of jobs, batches, runs, model versions, gate results and production history.
///
/// WAL mode (readers never block the writer, so the CLI works while the daemon runs), foreign keys
/// on, a busy timeout for concurrent processes, and versioned migrations.
package final class Registry: Sendable {
    /// The database file, or `:memory:` for an in-memory registry.
    package let path: String
    /// The state directory the database is in (paths inside it are stored relative to it); nil in memory.
    package let root: String?
    let db: any DatabaseWriter
    /// Signalled after each commit that wrote a webhook event, so the dispatcher sends it at once.
    package let outboxCommitted = DispatchSemaphore(value: 0)

    /// Opens (creating if needed) the database at `path`, migrating an older schema in place.
    /// Throws ``RegistryError`` if the database was written by a newer updater.
    package convenience init(path: String) throws {
        // Processes opening one database at once (a daemon starting while a CLI command runs, say)
        // must not create or migrate it at once: opening (which switches a new file to WAL, and
        // SQLite answers "database is locked" to a second process switching it at the same moment
        // without waiting) and the migrations run under an exclusive lock on a file beside it.
        let lock = open(path + "-migrate.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw RegistryError("cannot open \(path)-migrate.lock: \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw RegistryError("cannot lock \(path)-migrate.lock: \(String(cString: strerror(errno)))") }
        }
        defer { flock(lock, LOCK_UN) }
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(15)
        // At most two reading connections (GRDB's default is 5): each one opened keeps its own SQLite
        // page cache and schema as long as the process lives, in the daemon for good (issue 18).
        // Reads are short and none waits for another inside its transaction, so a third read at
        // once (cycles, webhook workers and /metrics side by side) only waits for one of the two;
        // the writer has its own connection. CLI commands mostly read from one thread.
        config.maximumReaderCount = 2
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw RegistryError("cannot open the state database \(path): \(error)")
        }
        try self.init(pool, path: path, root: (path as NSString).deletingLastPathComponent)
    }

    /// An empty registry in memory (tests, `updater backtest`): the same schema and operations,
    /// nothing written to disk.
    package static func inMemory() throws -> Registry {
        var config = Configuration()
        config.foreignKeysEnabled = true
        return try Registry(try DatabaseQueue(configuration: config), path: ":memory:", root: nil)
    }

    /// A registry on any GRDB writer (a `DatabasePool` on a file, a `DatabaseQueue` in memory).
    package init(_ writer: any DatabaseWriter, path: String, root: String?) throws {
        self.path = path
        self.root = root
        db = writer
        let migrator = Schema.migrator
        let known = Set(migrator.migrations)
        let applied = try db.read { db in try migrator.appliedIdentifiers(db) }
        let unknown = applied.subtracting(known)
        if !unknown.isEmpty {
            throw RegistryError(
                "the state database \(path) was written by a newer updater (schema \(unknown.sorted().joined(separator: ", ")); this one knows up to \(migrator.migrations.last ?? "none")); upgrade updater or use another --state-dir")
        }
        try migrator.migrate(db)
    }

    /// The schema migrations applied to this database, oldest first.
    package func schemaVersions() throws -> [String] {
        try db.read { db in try Schema.migrator.appliedMigrations(db) }
    }

    /// Runs `body` in one write transaction (the registry's own operations, and tests).
    func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try db.write(body)
    }

    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try db.read(body)
    }

    // MARK: Jobs

    /// Records the job and the hash of its file in force.
    package func upsertJob(
        name: String, filePath: String, fileHash: String, deployPath: String, deployFormats: String = "updater", now: Date = Date()
    ) throws {
        try db.write { db in
            if var job = try JobRecord.fetchOne(db, key: name) {
                if job.fileHash != fileHash || job.filePath != filePath || job.deployPath != deployPath || job.deployFormats != deployFormats {
                    job.fileHash = fileHash
                    job.filePath = filePath
                    job.deployPath = deployPath
                    job.deployFormats = deployFormats
                    job.updatedAt = now
                    try job.update(db)
                }
            } else {
                var job = JobRecord(
                    name: name, filePath: filePath, fileHash: fileHash, deployPath: deployPath, productionVersion: nil, createdAt: now,
                    updatedAt: now)
                job.deployFormats = deployFormats
                try job.insert(db)
            }
        }
    }

    package func job(_ name: String) throws -> JobRecord? {
        try db.read { db in try JobRecord.fetchOne(db, key: name) }
    }

    package func jobs() throws -> [JobRecord] {
        try db.read { db in try JobRecord.order(Column("name")).fetchAll(db) }
    }

    // MARK: Versions, runs, history

    package func versions(of job: String) throws -> [VersionRecord] {
        try db.read { db in
            try VersionRecord.filter(Column("job") == job).order(Column("version")).fetchAll(db)
        }.map(resolved)
    }

    package func version(_ job: String, _ number: Int) throws -> VersionRecord? {
        try db.read { db in
            try VersionRecord.filter(Column("job") == job && Column("version") == number).fetchOne(db)
        }.map(resolved)
    }

    package func runs(of job: String, limit: Int = 50) throws -> [RunRecord] {
        try db.read { db in
            try RunRecord.filter(Column("job") == job).order(Column("id").desc).limit(limit).fetchAll(db)
        }.map(resolved)
    }

    package func run(_ id: Int64) throws -> RunRecord? {
        try db.read { db in try RunRecord.fetchOne(db, key: id) }.map(resolved)
    }

    package func gateResults(run id: Int64) throws -> [GateResultRecord] {
        try db.read { db in
            try GateResultRecord.filter(Column("run_id") == id).order(Column("rule_index")).fetchAll(db)
        }
    }

    package func history(of job: String) throws -> [ProductionEvent] {
        try db.read { db in
            try ProductionEvent.filter(Column("job") == job).order(Column("id")).fetchAll(db)
        }
    }

    package func batches(of job: String) throws -> [BatchRecord] {
        try db.read { db in try BatchRecord.filter(Column("job") == job).order(Column("id")).fetchAll(db) }.map(resolved)
    }

    /// Moves the job's production pointer to `version` and appends the event, in one transaction.
    /// `publish` runs inside the transaction before it commits: if it throws, nothing is recorded.
    /// Returns the event.
    package func moveProduction(
        job: String, to version: Int, action: ProductionEvent.Action, actor: String, reason: String,
        runID: Int64? = nil, expectedFrom: Int?? = nil, now: Date = Date(), published: [String: JSONValue] = [:], hook: Bool = false,
        publish: @Sendable () throws -> Void
    ) throws -> ProductionEvent {
        try db.write { db in
            guard var record = try JobRecord.fetchOne(db, key: job) else { throw RegistryError("unknown job \"\(job)\"") }
            if let expected = expectedFrom, record.productionVersion != expected {
                throw RegistryError(
                    "production of \(job) changed meanwhile (now \(record.productionVersion.map { "v\($0)" } ?? "none")); nothing done")
            }
            var event = ProductionEvent(
                id: nil, job: job, action: action, fromVersion: record.productionVersion, toVersion: version, at: now,
                actor: actor, reason: reason, runID: runID)
            record.productionVersion = version
            record.updatedAt = now
            try record.update(db)
            try event.insert(db)
            let announced = try Self.productionEvent(db, event, published: published)
            try emit(db, announced)
            if hook {
                try Self.queue(db, DeployHookRecord(
                    job: job, version: version, event: announced.type, runID: runID, published: JSONValue.object(published).text, at: now))
            }
            try publish()
            return event
        }
    }

    /// The webhook event of a production move: `model.promoted`, `model.rolled_back` or
    /// `model.forced`, with the new version's scalar metrics and what was published where
    /// (`published`: `deploy_path`, `format`, `sha256`, `files`).
    static func productionEvent(_ db: Database, _ e: ProductionEvent, published: [String: JSONValue] = [:]) throws -> WebhookEventRecord {
        let type = switch e.action {
        case .promote: "model.promoted"
        case .rollback: "model.rolled_back"
        case .forced: "model.forced"
        }
        let stored = try String.fetchOne(
            db, sql: "SELECT metrics FROM model_version WHERE job = ? AND version = ?", arguments: [e.job, e.toVersion])
        var metrics: [String: JSONValue] = [:]
        if case .object(let all)? = stored.flatMap(JSONValue.init(parsing:)) {
            for (k, v) in all where v.number != nil { metrics[k] = v }
        }
        var data: [String: JSONValue] = [
            "job": .string(e.job), "run": JSONValue(try e.runID.flatMap { try Int.fetchOne(db, sql: "SELECT number FROM run WHERE id = ?", arguments: [$0]) }),
            "from_version": JSONValue(e.fromVersion),
            "to_version": .int(e.toVersion), "actor": .string(e.actor), "reason": .string(e.reason), "metrics": .object(metrics),
        ]
        for (k, v) in published { data[k] = v }
        return WebhookEventRecord(type: type, job: e.job, data: .object(data), at: e.at)
    }

    // MARK: Requests

    /// Asks for a run of `job` at the next cycle.
    @discardableResult
    package func request(job: String, full: Bool, actor: String, now: Date = Date()) throws -> RequestRecord {
        try db.write { db in
            var r = RequestRecord(id: nil, job: job, full: full, actor: actor, requestedAt: now, consumedAt: nil, runID: nil)
            try r.insert(db)
            return r
        }
    }

    /// The jobs with a pending request, in one query (the scheduler asks whenever it wakes).
    package func jobsWithPendingRequests() throws -> Set<String> {
        try db.read { db in Set(try String.fetchAll(db, sql: "SELECT DISTINCT job FROM request WHERE consumed_at IS NULL")) }
    }

    package func pendingRequests(job: String) throws -> [RequestRecord] {
        try db.read { db in
            try RequestRecord.filter(Column("job") == job && Column("consumed_at") == nil).order(Column("id")).fetchAll(db)
        }
    }
}

extension Registry {
    /// Whether this exact file (path, size, modification time) was already registered for `job`.
    package func isKnownFile(job: String, path: String, size: Int64, mtimeNs: Int64) throws -> Bool {
        try db.read { db in
            try Int.fetchOne(
                db, sql: "SELECT 1 FROM incoming_file WHERE job = ? AND path = ? AND size = ? AND mtime_ns = ?",
                arguments: [job, path, size, mtimeNs]) != nil
        }
    }

    /// Registers a file seen in `job`'s incoming directory. Returns the batch and whether it is new;
    /// a file whose content was already registered (under any name) returns the earlier batch.
    package func registerFile(
        job: String, path: String, size: Int64, mtimeNs: Int64, sha256: String, storedPath: String, now: Date = Date()
    ) throws -> (batch: BatchRecord, isNew: Bool) {
        let storedPath = stored(storedPath)
        let (batch, isNew) = try db.write { db in
            var batch: BatchRecord
            var isNew = false
            if let existing = try BatchRecord.filter(Column("job") == job && Column("sha256") == sha256).fetchOne(db) {
                batch = existing
            } else {
                batch = BatchRecord(
                    id: nil, job: job, path: path, storedPath: storedPath, size: size, sha256: sha256, rowCount: nil,
                    firstSeenAt: now, status: .pending, error: nil, runID: nil)
                try batch.insert(db)
                isNew = true
            }
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO incoming_file (job, path, size, mtime_ns, sha256, batch_id, seen_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [job, path, size, mtimeNs, sha256, batch.id, StoredDate.databaseValue(now)])
            return (batch, isNew)
        }
        return (resolved(batch), isNew)
    }

    package func pendingBatches(job: String) throws -> [BatchRecord] {
        try db.read { db in
            try BatchRecord.filter(Column("job") == job && Column("status") == BatchRecord.Status.pending.rawValue)
                .order(Column("id")).fetchAll(db)
        }.map(resolved)
    }

    /// Accepted batches of `job` (consumed by earlier runs), oldest first; without those a person
    /// excluded from training (`updater batches exclude`), unless `excluded`.
    package func consumedBatches(job: String, excluded: Bool = false) throws -> [BatchRecord] {
        try db.read { db in
            var query = BatchRecord.filter(Column("job") == job && Column("status") == BatchRecord.Status.consumed.rawValue)
            if !excluded { query = query.filter(Column("excluded") == false) }
            return try query.order(Column("id")).fetchAll(db)
        }.map(resolved)
    }
}

extension Registry {
    /// How many runs may be interrupted (updater killed or crashed) while reading a batch before the
    /// batch is set aside: a batch that takes the daemon down every time must not do so forever.
    package static let maxInterruptedAttempts = 3

    /// Marks runs left `queued` or `running` by a process that stopped as `interrupted`; their
    /// batches stay pending and their requests stand again, so the next cycle retries them, except
    /// that a batch whose runs were interrupted ``maxInterruptedAttempts`` times is rejected (the
    /// returned `setAside`). Call only while holding the state lock.
    @discardableResult
    package func markInterruptedRuns(now: Date = Date()) throws -> (runs: [RunRecord], setAside: [BatchRecord]) {
        let result = try db.write { db in
            let stale = try RunRecord.filter(["queued", "running"].contains(Column("state"))).fetchAll(db)
            for var run in stale {
                run.state = .interrupted
                run.finishedAt = now
                run.error = "updater stopped during this run; its batches are retried by the next run"
                try run.update(db)
                try emit(db, WebhookEventRecord(
                    type: "run.failed", job: run.job,
                    data: ["job": .string(run.job), "run": .int(run.number), "state": "interrupted", "error": JSONValue(run.error)], at: now))
                try Self.release(db, requestsOf: run.id!)
                try db.execute(sql: "UPDATE batch SET attempts = attempts + 1 WHERE run_id = ? AND status = 'pending'", arguments: [run.id])
            }
            let limit = Self.maxInterruptedAttempts
            let poisoned = try BatchRecord.fetchAll(
                db, sql: "SELECT * FROM batch WHERE status = 'pending' AND attempts >= ?", arguments: [limit])
            var setAside: [BatchRecord] = []
            for var batch in poisoned {
                batch.status = .rejected
                batch.error = "updater stopped (killed or crashed) during \(limit) runs reading this batch; set aside so that the job can go on"
                try batch.update(db)
                setAside.append(batch)
            }
            return (stale, setAside)
        }
        return (result.0.map(resolved), result.1.map(resolved))
    }

    /// Records that `run` is reading these pending batches (so an interruption counts against them).
    package func claim(batches ids: [Int64], run: Int64) throws {
        guard !ids.isEmpty else { return }
        try db.write { db in
            try db.execute(
                sql: "UPDATE batch SET run_id = ? WHERE status = 'pending' AND id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                arguments: StatementArguments([run] + ids))
        }
    }

    /// Makes the requests a failed run consumed pending again, so its retry honours them.
    package func releaseRequests(run id: Int64) throws {
        try db.write { db in try Self.release(db, requestsOf: id) }
    }

    /// Unless the run recorded a candidate that passed the gate: its promotion is completed at the
    /// next cycle, which answers the requests (a `--full` honoured twice would retrain again).
    static func release(_ db: Database, requestsOf run: Int64) throws {
        try db.execute(
            sql: """
                UPDATE request SET consumed_at = NULL, run_id = NULL WHERE run_id = ?
                AND NOT EXISTS (SELECT 1 FROM model_version WHERE run_id = ? AND status = 'passed')
                """, arguments: [run, run])
    }
}

extension Registry {
    /// Asks a running run to stop (`updater cancel`); the training engine sees it within a second.
    /// Returns the run as it was; throws if there is no such run.
    @discardableResult
    package func requestCancel(run id: Int64, actor: String, now: Date = Date()) throws -> RunRecord {
        try resolved(db.write { db in
            guard var run = try RunRecord.fetchOne(db, key: id) else { throw RegistryError("there is no run \(id)") }
            if run.state == .running || run.state == .queued, run.cancelRequestedAt == nil {
                run.cancelRequestedAt = now
                run.cancelRequestedBy = actor
                try run.update(db)
            }
            return run
        })
    }

    /// Who asked to cancel run `id`, if anyone did.
    package func cancelRequest(run id: Int64) throws -> String? {
        try db.read { db in
            try String.fetchOne(db, sql: "SELECT cancel_requested_by FROM run WHERE id = ? AND cancel_requested_at IS NOT NULL", arguments: [id])
        }
    }
}

extension Registry {
    /// Pauses `job`; returns false when it was already paused (nothing changed).
    @discardableResult
    package func pause(job: String, actor: String, reason: String?, now: Date = Date()) throws -> Bool {
        try db.write { db in
            guard try PauseRecord.fetchOne(db, key: job) == nil else { return false }
            try PauseRecord(job: job, pausedAt: now, actor: actor, reason: reason).insert(db)
            return true
        }
    }

    /// Resumes `job`; returns false when it was not paused.
    @discardableResult
    package func resume(job: String) throws -> Bool {
        try db.write { db in try PauseRecord.deleteOne(db, key: job) }
    }

    package func pauses() throws -> [PauseRecord] {
        try db.read { db in try PauseRecord.order(Column("job")).fetchAll(db) }
    }

    /// Replaces the recorded job-file problems with `problems` (the daemon's latest reading).
    package func setJobFileProblems(_ problems: [JobFileProblemRecord]) throws {
        try db.write { db in
            let current = Dictionary(try JobFileProblemRecord.fetchAll(db).map { ($0.job, $0) }, uniquingKeysWith: { a, _ in a })
            try JobFileProblemRecord.deleteAll(db)
            for var p in problems {
                // A problem that stays the same keeps its first sighting.
                if let old = current[p.job], old.message == p.message { p.since = old.since } else {
                    try emit(db, WebhookEventRecord(
                        type: "job.invalid", job: p.job,
                        data: ["job": .string(p.job), "file": .string(p.file), "error": .string(p.message)], at: p.since))
                }
                try p.insert(db)
            }
        }
    }

    package func jobFileProblems() throws -> [JobFileProblemRecord] {
        try db.read { db in try JobFileProblemRecord.order(Column("job")).fetchAll(db) }
    }
}
