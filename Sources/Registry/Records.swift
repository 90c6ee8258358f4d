import Foundation
import GRDB

/// A job as the registry knows it.
package struct JobRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, PersistableRecord {
    package static let databaseTableName = "job"
    package var name: String
    package var filePath: String
    package var fileHash: String
    /// Where the production model is published (from the job file in force).
    package var deployPath: String
    /// The formats published there (deploy.format), comma-separated: `updater`, `onnx`.
    package var deployFormats: String = "updater"
    package var productionVersion: Int?
    package var createdAt: Date
    package var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case name, filePath = "file_path", fileHash = "file_hash", deployPath = "deploy_path", productionVersion = "production_version"
        case createdAt = "created_at", updatedAt = "updated_at", deployFormats = "deploy_formats"
    }

    package init(name: String, filePath: String, fileHash: String, deployPath: String, productionVersion: Int? = nil, createdAt: Date, updatedAt: Date) {
        self.name = name
        self.filePath = filePath
        self.fileHash = fileHash
        self.deployPath = deployPath
        self.productionVersion = productionVersion
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A batch of new data: one CSV file, registered once by content.
package struct BatchRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "batch"
    package enum Status: String, Codable, Sendable { case pending, consumed, rejected }
    package var id: Int64?
    package var job: String
    package var path: String
    package var storedPath: String
    package var size: Int64
    package var sha256: String
    package var rowCount: Int?
    package var firstSeenAt: Date
    package var status: Status
    package var error: String?
    package var runID: Int64?
    /// Runs interrupted (updater killed or crashed) while reading it; at the limit it is set aside.
    package var attempts: Int = 0
    /// Taken out of every training window by a person (`updater batches exclude`).
    package var excluded: Bool = false
    /// Rows left out for a bad value (`data.bad_rows = "skip"`), kept in ``skippedRowsPath``.
    package var skippedRows: Int = 0
    /// Rows that came without a label (not counted in `rowCount`): checked and scored, trained on
    /// once their labels arrive.
    package var unlabelledRows: Int = 0
    /// Made by updater of earlier rows whose labels arrived (data.labels), not read from incoming.
    package var joined: Bool = false

    enum CodingKeys: String, CodingKey {
        case id, job, path, storedPath = "stored_path", size, sha256, rowCount = "row_count"
        case firstSeenAt = "first_seen_at", status, error, runID = "run_id", attempts, excluded
        case skippedRows = "skipped_rows", unlabelledRows = "unlabelled_rows", joined
    }

    /// Where the rows left out of the batch are kept, for inspection: beside its stored copy.
    package var skippedRowsPath: String {
        (storedPath.hasSuffix(".csv") ? String(storedPath.dropLast(4)) : storedPath) + ".skipped.csv"
    }

    /// Rejected because updater stopped while reading it too many times, not for its content.
    package var setAside: Bool { status == .rejected && attempts >= Registry.maxInterruptedAttempts }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    package init(id: Int64? = nil, job: String, path: String, storedPath: String, size: Int64, sha256: String, rowCount: Int? = nil, firstSeenAt: Date, status: Status, error: String? = nil, runID: Int64? = nil) {
        self.id = id
        self.job = job
        self.path = path
        self.storedPath = storedPath
        self.size = size
        self.sha256 = sha256
        self.rowCount = rowCount
        self.firstSeenAt = firstSeenAt
        self.status = status
        self.error = error
        self.runID = runID
    }
}

/// One update cycle of one job.
package struct RunRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "run"
    package enum State: String, Codable, Sendable { case queued, running, succeeded, failed, rejected, interrupted }
    package var id: Int64?
    package var job: String
    /// The run's number within its job, 1 for its first: what people and events see ("run 3").
    package var number: Int = 0
    /// What asked for the run: `new_data`, `manual` or `manual_full`.
    package var trigger: String
    package var state: State
    /// `no_drift`, `no_data`, `incremental` or `full` (a job's first training is `full`).
    package var decision: String?
    package var reason: String?
    /// The drift report as JSON.
    package var driftReport: String?
    package var jobFileHash: String
    package var candidateVersion: Int?
    package var createdAt: Date
    package var startedAt: Date?
    package var finishedAt: Date?
    package var error: String?
    /// The seed of the training's random choices (holdout split, replay sample).
    package var seed: Int64?
    package var trainingRows: Int?
    /// SHA-256 over the training window's batches and row selection, and over the replay sample.
    package var windowFingerprint: String?
    package var replayFingerprint: String?
    /// Training cost: wall time, CPU time (the process's, so overlapping trainings share it) and
    /// the peak resident memory (the process's high-water mark, or the external trainer's own).
    package var wallSeconds: Double?
    package var cpuSeconds: Double?
    package var peakMemoryBytes: Int64?
    /// The run's log file (its log lines and an external trainer's output).
    package var logPath: String?
    package var cancelRequestedAt: Date?
    package var cancelRequestedBy: String?
    /// The training window: the batch it starts at, how many batches, and why those.
    package var windowFromBatch: Int64?
    package var windowBatches: Int?
    package var windowReason: String?

    enum CodingKeys: String, CodingKey {
        case windowFromBatch = "window_from_batch", windowBatches = "window_batches", windowReason = "window_reason"
        case id, job, number, trigger, state, decision, reason, driftReport = "drift_report", jobFileHash = "job_file_hash"
        case candidateVersion = "candidate_version", createdAt = "created_at", startedAt = "started_at"
        case finishedAt = "finished_at", error, seed, trainingRows = "training_rows"
        case windowFingerprint = "window_fingerprint", replayFingerprint = "replay_fingerprint"
        case wallSeconds = "wall_seconds", cpuSeconds = "cpu_seconds", peakMemoryBytes = "peak_memory_bytes"
        case logPath = "log_path", cancelRequestedAt = "cancel_requested_at", cancelRequestedBy = "cancel_requested_by"
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    package init(id: Int64? = nil, job: String, trigger: String, state: State, decision: String? = nil, reason: String? = nil, driftReport: String? = nil, jobFileHash: String, candidateVersion: Int? = nil, createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil, error: String? = nil, seed: Int64? = nil, trainingRows: Int? = nil, windowFingerprint: String? = nil, replayFingerprint: String? = nil, wallSeconds: Double? = nil, cpuSeconds: Double? = nil, peakMemoryBytes: Int64? = nil, logPath: String? = nil, cancelRequestedAt: Date? = nil, cancelRequestedBy: String? = nil) {
        self.id = id
        self.job = job
        self.trigger = trigger
        self.state = state
        self.decision = decision
        self.reason = reason
        self.driftReport = driftReport
        self.jobFileHash = jobFileHash
        self.candidateVersion = candidateVersion
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.error = error
        self.seed = seed
        self.trainingRows = trainingRows
        self.windowFingerprint = windowFingerprint
        self.replayFingerprint = replayFingerprint
        self.wallSeconds = wallSeconds
        self.cpuSeconds = cpuSeconds
        self.peakMemoryBytes = peakMemoryBytes
        self.logPath = logPath
        self.cancelRequestedAt = cancelRequestedAt
        self.cancelRequestedBy = cancelRequestedBy
    }
}

/// A trained model version of a job, whether it passed the gate or not.
package struct VersionRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "model_version"
    package enum Mode: String, Codable, Sendable { case full, incremental }
    package enum Status: String, Codable, Sendable { case passed, rejected }
    package var id: Int64?
    package var job: String
    package var version: Int
    package var runID: Int64
    package var parentVersion: Int?
    package var mode: Mode
    /// Incremental generations since the last full training (0 for a full one).
    package var generation: Int
    package var trainingRows: Int
    /// SHA-256 over the training rows' batch hashes and row selection.
    package var dataFingerprint: String
    package var jobFileHash: String
    /// The candidate's evaluation metrics (JSON).
    package var metrics: String
    /// The production model's metrics on the same rows (JSON), when there was one.
    package var baselineMetrics: String?
    package var artifactPath: String
    package var artifactSHA256: String
    /// The drift reference (JSON column profiles of the training data).
    package var reference: String
    package var status: Status
    package var createdAt: Date
    /// The decision threshold chosen for this version on validation rows (nil: the job's fixed one).
    package var decisionThreshold: Double?
    /// An external trainer's own report (contract 2): `params` and `metrics` as it gave them, JSON.
    /// Shown, never used by the gate.
    package var trainerReport: String?
    /// A binary version's score calibration and reference level, for estimating its performance
    /// on rows without labels (JSON of `Evaluation.PerformanceEstimator`).
    package var estimation: String?

    enum CodingKeys: String, CodingKey {
        case decisionThreshold = "decision_threshold", trainerReport = "trainer_report", estimation
        case id, job, version, runID = "run_id", parentVersion = "parent_version", mode, generation
        case trainingRows = "training_rows", dataFingerprint = "data_fingerprint", jobFileHash = "job_file_hash"
        case metrics, baselineMetrics = "baseline_metrics", artifactPath = "artifact_path"
        case artifactSHA256 = "artifact_sha256", reference, status, createdAt = "created_at"
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    package init(id: Int64? = nil, job: String, version: Int, runID: Int64, parentVersion: Int? = nil, mode: Mode, generation: Int, trainingRows: Int, dataFingerprint: String, jobFileHash: String, metrics: String, baselineMetrics: String? = nil, artifactPath: String, artifactSHA256: String, reference: String, status: Status, createdAt: Date, decisionThreshold: Double? = nil) {
        self.id = id
        self.job = job
        self.version = version
        self.runID = runID
        self.parentVersion = parentVersion
        self.mode = mode
        self.generation = generation
        self.trainingRows = trainingRows
        self.dataFingerprint = dataFingerprint
        self.jobFileHash = jobFileHash
        self.metrics = metrics
        self.baselineMetrics = baselineMetrics
        self.artifactPath = artifactPath
        self.artifactSHA256 = artifactSHA256
        self.reference = reference
        self.status = status
        self.createdAt = createdAt
        self.decisionThreshold = decisionThreshold
    }
}

/// One gate rule's result for one candidate.
package struct GateResultRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "gate_result"
    package var id: Int64?
    package var runID: Int64
    package var job: String
    package var version: Int
    package var ruleIndex: Int
    package var metric: String
    package var min: Double?
    /// The legacy name of `-change` (kept for databases written before v4).
    package var maxDrop: Double?
    package var max: Double?
    package var change: Double?
    package var relativeChange: Double?
    package var test: String?
    /// `column=value` for a rule on a slice.
    package var slice: String?
    package var candidate: Double?
    package var baseline: Double?
    package var difference: Double?
    package var lower: Double?
    package var upper: Double?
    package var bound: Double?
    package var passed: Bool
    package var skipped: Bool
    package var reason: String

    enum CodingKeys: String, CodingKey {
        case id, runID = "run_id", job, version, ruleIndex = "rule_index", metric, min, maxDrop = "max_drop", max, change
        case relativeChange = "relative_change", test, slice, candidate, baseline, difference, lower, upper, bound
        case passed, skipped, reason
    }

    package init(
        id: Int64? = nil, runID: Int64, job: String, version: Int, ruleIndex: Int, metric: String, min: Double? = nil,
        maxDrop: Double? = nil, max: Double? = nil, change: Double? = nil, relativeChange: Double? = nil,
        test: String? = nil, slice: String? = nil, candidate: Double? = nil, baseline: Double? = nil,
        difference: Double? = nil, lower: Double? = nil, upper: Double? = nil, bound: Double? = nil, passed: Bool,
        skipped: Bool = false, reason: String
    ) {
        self.id = id
        self.runID = runID
        self.job = job
        self.version = version
        self.ruleIndex = ruleIndex
        self.metric = metric
        self.min = min
        self.maxDrop = maxDrop
        self.max = max
        self.change = change
        self.relativeChange = relativeChange
        self.test = test
        self.slice = slice
        self.candidate = candidate
        self.baseline = baseline
        self.difference = difference
        self.lower = lower
        self.upper = upper
        self.bound = bound
        self.passed = passed
        self.skipped = skipped
        self.reason = reason
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// One change of the model in production. Append-only.
package struct ProductionEvent: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "production_event"
    package enum Action: String, Codable, Sendable { case promote, rollback, forced }
    package var id: Int64?
    package var job: String
    package var action: Action
    package var fromVersion: Int?
    package var toVersion: Int
    package var at: Date
    package var actor: String
    package var reason: String
    package var runID: Int64?

    enum CodingKeys: String, CodingKey {
        case id, job, action, fromVersion = "from_version", toVersion = "to_version", at, actor, reason
        case runID = "run_id"
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    package init(id: Int64? = nil, job: String, action: Action, fromVersion: Int? = nil, toVersion: Int, at: Date, actor: String, reason: String, runID: Int64? = nil) {
        self.id = id
        self.job = job
        self.action = action
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.at = at
        self.actor = actor
        self.reason = reason
        self.runID = runID
    }
}

/// A request for a run (from `updater trigger`), picked up by the next cycle.
package struct RequestRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "request"
    package var id: Int64?
    package var job: String
    package var full: Bool
    package var actor: String
    package var requestedAt: Date
    package var consumedAt: Date?
    package var runID: Int64?

    enum CodingKeys: String, CodingKey {
        case id, job, full, actor, requestedAt = "requested_at", consumedAt = "consumed_at", runID = "run_id"
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    package init(id: Int64? = nil, job: String, full: Bool, actor: String, requestedAt: Date, consumedAt: Date? = nil, runID: Int64? = nil) {
        self.id = id
        self.job = job
        self.full = full
        self.actor = actor
        self.requestedAt = requestedAt
        self.consumedAt = consumedAt
        self.runID = runID
    }
}

/// The saved state of a job's online drift detectors (JSON), for the production version they watch.
package struct OnlineDetectorRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, PersistableRecord {
    package static let databaseTableName = "online_detector"
    package var job: String
    package var version: Int
    package var state: String
    /// Error-stream rows seen so far.
    package var rows: Int
    package var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case job, version, state, rows, updatedAt = "updated_at"
    }

    package init(job: String, version: Int, state: String, rows: Int, updatedAt: Date) {
        self.job = job
        self.version = version
        self.state = state
        self.rows = rows
        self.updatedAt = updatedAt
    }
}

/// A paused job: the daemon starts no run of it until it is resumed.
package struct PauseRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, PersistableRecord {
    package static let databaseTableName = "job_pause"
    package var job: String
    package var pausedAt: Date
    package var actor: String
    package var reason: String?

    enum CodingKeys: String, CodingKey {
        case job, pausedAt = "paused_at", actor, reason
    }

    package init(job: String, pausedAt: Date, actor: String, reason: String?) {
        self.job = job
        self.pausedAt = pausedAt
        self.actor = actor
        self.reason = reason
    }
}

/// A job file that no longer validates; the daemon keeps running its last good version.
package struct JobFileProblemRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, PersistableRecord {
    package static let databaseTableName = "job_file_problem"
    package var job: String
    package var file: String
    package var message: String
    package var since: Date

    package init(job: String, file: String, message: String, since: Date) {
        self.job = job
        self.file = file
        self.message = message
        self.since = since
    }
}

/// Production's measured performance on one labelled batch it served, scored before anything
/// trained on the batch: the evidence the freshness policy reads for concept drift. The per-row
/// loss (1 for a wrong class; the squared error for regression) is kept as a sum and a sum of
/// squares, so batches pool into one reference with its variance.
package struct ServedBatchRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "served_batch"
    package var id: Int64?
    package var job: String
    package var batchID: Int64
    package var runID: Int64
    package var version: Int
    /// `accuracy` or `rmse`.
    package var metric: String
    package var rows: Int
    package var value: Double
    package var lossSum: Double
    package var lossSumSquares: Double
    /// The policy's reference for this version starts again here (a shift it acknowledged).
    package var restartsReference: Bool
    package var at: Date

    enum CodingKeys: String, CodingKey {
        case id, job, batchID = "batch_id", runID = "run_id", version, metric, rows, value, lossSum = "loss_sum"
        case lossSumSquares = "loss_sum_squares", restartsReference = "restarts_reference", at
    }

    package init(
        id: Int64? = nil, job: String, batchID: Int64, runID: Int64, version: Int, metric: String, rows: Int, value: Double,
        lossSum: Double, lossSumSquares: Double, restartsReference: Bool = false, at: Date
    ) {
        self.id = id
        self.job = job
        self.batchID = batchID
        self.runID = runID
        self.version = version
        self.metric = metric
        self.rows = rows
        self.value = value
        self.lossSum = lossSum
        self.lossSumSquares = lossSumSquares
        self.restartsReference = restartsReference
        self.at = at
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A change of concept the policy suspected at a batch (production's performance fell), and
/// whether a model trained only on the rows from there on confirmed it by beating production.
package struct ConceptChangeRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "concept_change"
    package enum State: String, Codable, Sendable { case confirmed, unconfirmed }
    package var id: Int64?
    package var job: String
    package var runID: Int64
    /// The first batch of the new concept.
    package var batchID: Int64
    package var productionVersion: Int
    package var state: State
    package var reason: String
    package var at: Date

    enum CodingKeys: String, CodingKey {
        case id, job, runID = "run_id", batchID = "batch_id", productionVersion = "production_version", state, reason, at
    }

    package init(
        id: Int64? = nil, job: String, runID: Int64, batchID: Int64, productionVersion: Int, state: State, reason: String, at: Date
    ) {
        self.id = id
        self.job = job
        self.runID = runID
        self.batchID = batchID
        self.productionVersion = productionVersion
        self.state = state
        self.reason = reason
        self.at = at
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// The data a job's feature drift is compared with, after the policy acknowledged a shift of the
/// inputs that left production's performance intact (instead of the production version's training rows).
package struct DriftBaselineRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, PersistableRecord {
    package static let databaseTableName = "drift_baseline"
    package var job: String
    /// The production version it applies to; another version in production uses its own reference.
    package var version: Int
    package var runID: Int64
    /// The profile (JSON, as a version's reference).
    package var reference: String
    package var at: Date

    enum CodingKeys: String, CodingKey {
        case job, version, runID = "run_id", reference, at
    }

    package init(job: String, version: Int, runID: Int64, reference: String, at: Date) {
        self.job = job
        self.version = version
        self.runID = runID
        self.reference = reference
        self.at = at
    }
}

/// A person's action on a batch: let a rejected or set-aside one be read again, or take a consumed
/// one out of (or back into) the training windows.
package struct BatchActionRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "batch_action"
    package enum Action: String, Codable, Sendable { case retry, exclude, include }
    package var id: Int64?
    package var job: String
    package var batchID: Int64
    package var action: Action
    package var actor: String
    package var reason: String?
    package var at: Date

    enum CodingKeys: String, CodingKey {
        case id, job, batchID = "batch_id", action, actor, reason, at
    }

    package init(id: Int64? = nil, job: String, batchID: Int64, action: Action, actor: String, reason: String?, at: Date) {
        self.id = id
        self.job = job
        self.batchID = batchID
        self.action = action
        self.actor = actor
        self.reason = reason
        self.at = at
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
