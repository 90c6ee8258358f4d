import Foundation
import GRDB

/// A job as the registry knows it.
public struct JobRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job"
    public var name: String
    public var filePath: String
    public var fileHash: String
    /// Where the production model is published (from the job file in force).
    public var deployPath: String
    public var productionVersion: Int?
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case name, filePath = "file_path", fileHash = "file_hash", deployPath = "deploy_path", productionVersion = "production_version"
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    public init(name: String, filePath: String, fileHash: String, deployPath: String, productionVersion: Int? = nil, createdAt: Date, updatedAt: Date) {
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
public struct BatchRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "batch"
    public enum Status: String, Codable, Sendable { case pending, consumed, rejected }
    public var id: Int64?
    public var job: String
    public var path: String
    public var storedPath: String
    public var size: Int64
    public var sha256: String
    public var rowCount: Int?
    public var firstSeenAt: Date
    public var status: Status
    public var error: String?
    public var runID: Int64?

    enum CodingKeys: String, CodingKey {
        case id, job, path, storedPath = "stored_path", size, sha256, rowCount = "row_count"
        case firstSeenAt = "first_seen_at", status, error, runID = "run_id"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(id: Int64? = nil, job: String, path: String, storedPath: String, size: Int64, sha256: String, rowCount: Int? = nil, firstSeenAt: Date, status: Status, error: String? = nil, runID: Int64? = nil) {
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
public struct RunRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "run"
    public enum State: String, Codable, Sendable { case queued, running, succeeded, failed, rejected, interrupted }
    public var id: Int64?
    public var job: String
    /// What asked for the run: `new_data`, `manual` or `manual_full`.
    public var trigger: String
    public var state: State
    /// `no_drift`, `no_data`, `incremental` or `full` (a job's first training is `full`).
    public var decision: String?
    public var reason: String?
    /// The drift report as JSON.
    public var driftReport: String?
    public var jobFileHash: String
    public var candidateVersion: Int?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var error: String?
    /// The seed of the training's random choices (holdout split, replay sample).
    public var seed: Int64?
    public var trainingRows: Int?
    /// SHA-256 over the training window's batches and row selection, and over the replay sample.
    public var windowFingerprint: String?
    public var replayFingerprint: String?
    /// Training cost: wall time, CPU time (the process's, so overlapping trainings share it) and
    /// the peak resident memory (the process's high-water mark, or the external trainer's own).
    public var wallSeconds: Double?
    public var cpuSeconds: Double?
    public var peakMemoryBytes: Int64?
    /// The run's log file (its log lines and an external trainer's output).
    public var logPath: String?
    public var cancelRequestedAt: Date?
    public var cancelRequestedBy: String?

    enum CodingKeys: String, CodingKey {
        case id, job, trigger, state, decision, reason, driftReport = "drift_report", jobFileHash = "job_file_hash"
        case candidateVersion = "candidate_version", createdAt = "created_at", startedAt = "started_at"
        case finishedAt = "finished_at", error, seed, trainingRows = "training_rows"
        case windowFingerprint = "window_fingerprint", replayFingerprint = "replay_fingerprint"
        case wallSeconds = "wall_seconds", cpuSeconds = "cpu_seconds", peakMemoryBytes = "peak_memory_bytes"
        case logPath = "log_path", cancelRequestedAt = "cancel_requested_at", cancelRequestedBy = "cancel_requested_by"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(id: Int64? = nil, job: String, trigger: String, state: State, decision: String? = nil, reason: String? = nil, driftReport: String? = nil, jobFileHash: String, candidateVersion: Int? = nil, createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil, error: String? = nil, seed: Int64? = nil, trainingRows: Int? = nil, windowFingerprint: String? = nil, replayFingerprint: String? = nil, wallSeconds: Double? = nil, cpuSeconds: Double? = nil, peakMemoryBytes: Int64? = nil, logPath: String? = nil, cancelRequestedAt: Date? = nil, cancelRequestedBy: String? = nil) {
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
public struct VersionRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "model_version"
    public enum Mode: String, Codable, Sendable { case full, incremental }
    public enum Status: String, Codable, Sendable { case passed, rejected }
    public var id: Int64?
    public var job: String
    public var version: Int
    public var runID: Int64
    public var parentVersion: Int?
    public var mode: Mode
    /// Incremental generations since the last full training (0 for a full one).
    public var generation: Int
    public var trainingRows: Int
    /// SHA-256 over the training rows' batch hashes and row selection.
    public var dataFingerprint: String
    public var jobFileHash: String
    /// The candidate's evaluation metrics (JSON).
    public var metrics: String
    /// The production model's metrics on the same rows (JSON), when there was one.
    public var baselineMetrics: String?
    public var artifactPath: String
    public var artifactSHA256: String
    /// The drift reference (JSON column profiles of the training data).
    public var reference: String
    public var status: Status
    public var createdAt: Date
    /// The decision threshold chosen for this version on validation rows (nil: the job's fixed one).
    public var decisionThreshold: Double?

    enum CodingKeys: String, CodingKey {
        case decisionThreshold = "decision_threshold"
        case id, job, version, runID = "run_id", parentVersion = "parent_version", mode, generation
        case trainingRows = "training_rows", dataFingerprint = "data_fingerprint", jobFileHash = "job_file_hash"
        case metrics, baselineMetrics = "baseline_metrics", artifactPath = "artifact_path"
        case artifactSHA256 = "artifact_sha256", reference, status, createdAt = "created_at"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(id: Int64? = nil, job: String, version: Int, runID: Int64, parentVersion: Int? = nil, mode: Mode, generation: Int, trainingRows: Int, dataFingerprint: String, jobFileHash: String, metrics: String, baselineMetrics: String? = nil, artifactPath: String, artifactSHA256: String, reference: String, status: Status, createdAt: Date, decisionThreshold: Double? = nil) {
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
public struct GateResultRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "gate_result"
    public var id: Int64?
    public var runID: Int64
    public var job: String
    public var version: Int
    public var ruleIndex: Int
    public var metric: String
    public var min: Double?
    /// The legacy name of `-change` (kept for databases written before v4).
    public var maxDrop: Double?
    public var max: Double?
    public var change: Double?
    public var relativeChange: Double?
    public var test: String?
    /// `column=value` for a rule on a slice.
    public var slice: String?
    public var candidate: Double?
    public var baseline: Double?
    public var difference: Double?
    public var lower: Double?
    public var upper: Double?
    public var bound: Double?
    public var passed: Bool
    public var skipped: Bool
    public var reason: String

    enum CodingKeys: String, CodingKey {
        case id, runID = "run_id", job, version, ruleIndex = "rule_index", metric, min, maxDrop = "max_drop", max, change
        case relativeChange = "relative_change", test, slice, candidate, baseline, difference, lower, upper, bound
        case passed, skipped, reason
    }

    public init(
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

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// One change of the model in production. Append-only.
public struct ProductionEvent: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "production_event"
    public enum Action: String, Codable, Sendable { case promote, rollback, forced }
    public var id: Int64?
    public var job: String
    public var action: Action
    public var fromVersion: Int?
    public var toVersion: Int
    public var at: Date
    public var actor: String
    public var reason: String
    public var runID: Int64?

    enum CodingKeys: String, CodingKey {
        case id, job, action, fromVersion = "from_version", toVersion = "to_version", at, actor, reason
        case runID = "run_id"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(id: Int64? = nil, job: String, action: Action, fromVersion: Int? = nil, toVersion: Int, at: Date, actor: String, reason: String, runID: Int64? = nil) {
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
public struct RequestRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "request"
    public var id: Int64?
    public var job: String
    public var full: Bool
    public var actor: String
    public var requestedAt: Date
    public var consumedAt: Date?
    public var runID: Int64?

    enum CodingKeys: String, CodingKey {
        case id, job, full, actor, requestedAt = "requested_at", consumedAt = "consumed_at", runID = "run_id"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(id: Int64? = nil, job: String, full: Bool, actor: String, requestedAt: Date, consumedAt: Date? = nil, runID: Int64? = nil) {
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
public struct OnlineDetectorRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "online_detector"
    public var job: String
    public var version: Int
    public var state: String
    /// Error-stream rows seen so far.
    public var rows: Int
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case job, version, state, rows, updatedAt = "updated_at"
    }

    public init(job: String, version: Int, state: String, rows: Int, updatedAt: Date) {
        self.job = job
        self.version = version
        self.state = state
        self.rows = rows
        self.updatedAt = updatedAt
    }
}

/// A paused job: the daemon starts no run of it until it is resumed.
public struct PauseRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job_pause"
    public var job: String
    public var pausedAt: Date
    public var actor: String
    public var reason: String?

    enum CodingKeys: String, CodingKey {
        case job, pausedAt = "paused_at", actor, reason
    }

    public init(job: String, pausedAt: Date, actor: String, reason: String?) {
        self.job = job
        self.pausedAt = pausedAt
        self.actor = actor
        self.reason = reason
    }
}

/// A job file that no longer validates; the daemon keeps running its last good version.
public struct JobFileProblemRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job_file_problem"
    public var job: String
    public var file: String
    public var message: String
    public var since: Date

    public init(job: String, file: String, message: String, since: Date) {
        self.job = job
        self.file = file
        self.message = message
        self.since = since
    }
}
