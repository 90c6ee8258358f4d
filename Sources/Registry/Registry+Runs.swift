import Foundation
import GRDB

/// The writes of one update cycle, each one transaction, so that the cycle holds no SQL and a crash
/// between two of them leaves a state the next cycle recovers from (docs/architecture.md).
extension Registry {
    /// Inserts a running run, marks `requests` consumed by it and claims `batches` (so an
    /// interruption counts against them), with its `run.started` event. Returns the run's id.
    package func startRun(
        _ run: RunRecord, requests: [RequestRecord], batches: [Int64], event: @Sendable (_ number: Int) -> WebhookEventRecord
    ) throws -> (id: Int64, number: Int) {
        try db.write { db in
            var run = run
            run.number = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(number), 0) + 1 FROM run WHERE job = ?", arguments: [run.job]) ?? 1
            try run.insert(db)
            let id = run.id!
            for var r in requests {
                r.consumedAt = run.createdAt
                r.runID = id
                try r.update(db)
            }
            if !batches.isEmpty {
                try db.execute(
                    sql: "UPDATE batch SET run_id = ? WHERE status = 'pending' AND id IN (\(batches.map { _ in "?" }.joined(separator: ",")))",
                    arguments: StatementArguments([id] + batches))
            }
            try emit(db, event(run.number))
            return (id, run.number)
        }
    }

    /// Each of a job's runs' number, by run id.
    package func runNumbers(job: String) throws -> [Int64: Int] {
        try db.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, number FROM run WHERE job = ?", arguments: [job]).map {
                ($0["id"] as Int64, $0["number"] as Int)
            })
        }
    }

    /// A job's run by its number.
    package func run(job: String, number: Int) throws -> RunRecord? {
        try db.read { db in try RunRecord.filter(Column("job") == job && Column("number") == number).fetchOne(db) }.map(resolved)
    }

    /// Records where the run's log file is.
    package func setLogPath(run id: Int64, _ path: String) throws {
        let path = stored(path)
        try db.write { db in try db.execute(sql: "UPDATE run SET log_path = ? WHERE id = ?", arguments: [path, id]) }
    }

    /// Records the run's drift report (JSON) so `updater runs` shows it while the run goes on,
    /// with its `drift.detected` event when there is one.
    package func recordDrift(run id: Int64, report: String, events: [WebhookEventRecord]) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE run SET drift_report = ? WHERE id = ?", arguments: [report, id])
            for event in events { try emit(db, event) }
        }
    }

    /// Ends a run: its state, and the decision, reason and report when given (kept otherwise), with
    /// the `run.succeeded` or `run.failed` event `event` makes from the run and production's version.
    package func finishRun(
        _ id: Int64, state: RunRecord.State, decision: String?, reason: String?, driftReport: String?, error: String?,
        at now: Date, event: @Sendable (RunRecord, Int?) -> WebhookEventRecord
    ) throws {
        try db.write { db in
            guard var run = try RunRecord.fetchOne(db, key: id) else { return }
            run.state = state
            run.decision = decision ?? run.decision
            run.reason = reason ?? run.reason
            run.driftReport = driftReport ?? run.driftReport
            run.error = error
            run.finishedAt = now
            try run.update(db)
            let production = try JobRecord.fetchOne(db, key: run.job)?.productionVersion
            try emit(db, event(run, production))
        }
    }

    /// Rejects a malformed batch on its own, naming why.
    package func reject(batch: BatchRecord, error: String, run: Int64) throws {
        let batch = stored(batch)
        try db.write { db in
            var b = batch
            b.status = .rejected
            b.rowCount = nil
            b.error = error
            b.runID = run
            try b.update(db)
        }
    }

    /// What a run records once it has read its batches: they are consumed (with their row counts),
    /// together with the evidence drawn from them, so that the two never disagree.
    package struct Consumption: Sendable {
        package var batches: [(BatchRecord, rows: Int)]
        /// The online detectors' state after these rows.
        package var online: OnlineDetectorRecord?
        /// Production's performance on each of these batches.
        package var served: [ServedBatchRecord]
        /// A concept change the run suspected, confirmed or not.
        package var change: ConceptChangeRecord?
        /// A shift of the inputs the policy acknowledged: feature drift is compared with this from now on.
        package var baseline: DriftBaselineRecord?
        /// The prediction log of the batches' rows (jobs with data.id).
        package var predictions: [PredictionRecord] = []
        /// Production's estimated performance on the batches' rows without labels.
        package var estimates: [EstimatedBatchRecord] = []

        package init(
            batches: [(BatchRecord, rows: Int)], online: OnlineDetectorRecord? = nil, served: [ServedBatchRecord] = [],
            change: ConceptChangeRecord? = nil, baseline: DriftBaselineRecord? = nil
        ) {
            self.batches = batches
            self.online = online
            self.served = served
            self.change = change
            self.baseline = baseline
        }

        /// Nothing consumed: a candidate that leaves the batches to the retraining after it.
        package static let nothing = Consumption(batches: [])
    }

    /// Marks a run's batches consumed with their evidence, in one transaction (a run that trains
    /// nothing).
    package func consume(_ c: Consumption, run: Int64) throws {
        let c = stored(c)
        try db.write { db in try Self.consume(db, c, run: run) }
    }

    func stored(_ c: Consumption) -> Consumption {
        var c = c
        c.batches = c.batches.map { (stored($0.0), $0.rows) }
        return c
    }

    static func consume(_ db: Database, _ c: Consumption, run: Int64) throws {
        if let online = c.online { try online.save(db) }
        for (batch, rows) in c.batches {
            var b = batch
            b.status = .consumed
            b.rowCount = rows
            b.runID = run
            try b.update(db)
        }
        try log(db, c.predictions)
        for e in c.estimates { try e.save(db) }
        for var s in c.served { try s.insert(db) }
        if var change = c.change { try change.insert(db) }
        if let baseline = c.baseline { try baseline.save(db) }
    }

    /// What a run records about its training, with its candidate.
    package struct TrainingRecord: Sendable {
        package var decision: String
        package var seed: Int64
        package var trainingRows: Int
        package var windowFingerprint: String
        package var replayFingerprint: String?
        package var windowFromBatch: Int64?
        package var windowBatches: Int
        package var windowReason: String
        package var wallSeconds: Double
        package var cpuSeconds: Double
        package var peakMemoryBytes: Int64

        package init(
            decision: String, seed: Int64, trainingRows: Int, windowFingerprint: String, replayFingerprint: String?,
            windowFromBatch: Int64?, windowBatches: Int, windowReason: String, wallSeconds: Double, cpuSeconds: Double,
            peakMemoryBytes: Int64
        ) {
            self.decision = decision
            self.seed = seed
            self.trainingRows = trainingRows
            self.windowFingerprint = windowFingerprint
            self.replayFingerprint = replayFingerprint
            self.windowFromBatch = windowFromBatch
            self.windowBatches = windowBatches
            self.windowReason = windowReason
            self.wallSeconds = wallSeconds
            self.cpuSeconds = cpuSeconds
            self.peakMemoryBytes = peakMemoryBytes
        }
    }

    /// Records a trained candidate in one transaction: its version (whose artifact is already
    /// written), its gate results, the run's training, the batches it consumes with their evidence,
    /// and its `gate.passed` or `gate.failed` event.
    package func recordCandidate(
        _ version: VersionRecord, gate: [GateResultRecord], training: TrainingRecord, consuming: Consumption,
        event: WebhookEventRecord
    ) throws {
        let (version, consuming) = (stored(version), stored(consuming))
        try db.write { db in
            try Self.consume(db, consuming, run: version.runID)
            var v = version
            try v.insert(db)
            for var g in gate { try g.insert(db) }
            if var run = try RunRecord.fetchOne(db, key: version.runID) {
                run.candidateVersion = version.version
                run.decision = training.decision
                run.seed = training.seed
                run.trainingRows = training.trainingRows
                run.windowFingerprint = training.windowFingerprint
                run.replayFingerprint = training.replayFingerprint
                run.windowFromBatch = training.windowFromBatch
                run.windowBatches = training.windowBatches
                run.windowReason = training.windowReason
                run.wallSeconds = training.wallSeconds
                run.cpuSeconds = training.cpuSeconds
                run.peakMemoryBytes = training.peakMemoryBytes
                try run.update(db)
            }
            try emit(db, event)
        }
    }

    /// The number the job's next version gets: its highest so far + 1 (rejected ones count).
    package func nextVersion(of job: String) throws -> Int {
        try db.read { db in
            (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM model_version WHERE job = ?", arguments: [job]) ?? 0) + 1
        }
    }

    /// The online detectors' saved state for `job`.
    package func onlineDetector(job: String) throws -> OnlineDetectorRecord? {
        try db.read { db in try OnlineDetectorRecord.fetchOne(db, key: job) }
    }
}

extension Registry {
    /// Production's served batches the policy compares a new batch with: those of `version` since
    /// the last one that restarted the reference.
    package func servedReference(job: String, version: Int) throws -> [ServedBatchRecord] {
        try db.read { db in
            let all = try ServedBatchRecord.filter(Column("job") == job && Column("version") == version).order(Column("id"))
                .fetchAll(db)
            guard let restart = all.lastIndex(where: \.restartsReference) else { return all }
            return Array(all[restart...])
        }
    }

    /// Every served batch of `job`, oldest first (production's measured performance over time).
    package func servedBatches(job: String) throws -> [ServedBatchRecord] {
        try db.read { db in try ServedBatchRecord.filter(Column("job") == job).order(Column("id")).fetchAll(db) }
    }

    /// Production's performance on the batches run `id` read.
    package func servedBatches(run id: Int64) throws -> [ServedBatchRecord] {
        try db.read { db in try ServedBatchRecord.filter(Column("run_id") == id).order(Column("id")).fetchAll(db) }
    }

    /// The change of concept run `id` suspected, if it did.
    package func conceptChange(run id: Int64) throws -> ConceptChangeRecord? {
        try db.read { db in try ConceptChangeRecord.filter(Column("run_id") == id).fetchOne(db) }
    }

    /// The concept changes the policy suspected for `job`, oldest first.
    package func conceptChanges(job: String) throws -> [ConceptChangeRecord] {
        try db.read { db in try ConceptChangeRecord.filter(Column("job") == job).order(Column("id")).fetchAll(db) }
    }

    /// The feature-drift baseline in force for `job` while `version` is in production.
    package func driftBaseline(job: String, version: Int) throws -> DriftBaselineRecord? {
        try db.read { db in
            try DriftBaselineRecord.filter(Column("job") == job && Column("version") == version).fetchOne(db)
        }
    }
}

extension Registry {
    /// Records what went wrong in `job`'s cycle outside a run, or clears it (`message` nil). A
    /// problem that stays the same keeps its first sighting.
    package func setCycleProblem(job: String, message: String?, now: Date = Date()) throws {
        try db.write { db in
            guard let message else {
                try db.execute(sql: "DELETE FROM job_problem WHERE job = ?", arguments: [job])
                return
            }
            try db.execute(
                sql: """
                    INSERT INTO job_problem (job, message, since) VALUES (?, ?, ?)
                    ON CONFLICT(job) DO UPDATE SET since = CASE WHEN message = excluded.message THEN since ELSE excluded.since END,
                    message = excluded.message
                    """, arguments: [job, message, StoredDate.databaseValue(now)])
        }
    }

    /// The jobs' cycle problems: job → (message, since).
    package func cycleProblems() throws -> [String: (message: String, since: Date)] {
        try db.read { db in
            var out: [String: (message: String, since: Date)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT job, message, since FROM job_problem") {
                let since = try StoredDate.decode(row, "since")
                out[row["job"]] = (row["message"], since)
            }
            return out
        }
    }
}
