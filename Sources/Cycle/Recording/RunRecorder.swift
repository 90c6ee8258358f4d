import Drift
import Evaluation
import Foundation
import JobFiles
import Logging
import Registry
import Support

/// Every registry write of one run, each one transaction with the webhook events it reports, so
/// that the cycle's steps only compute and this type records.
struct RunRecorder {
    let registry: Registry
    let job: String
    let run: Int64
    /// The run's number within the job: what its log lines and events say.
    let number: Int
    let clock: WallClock
    /// The run's log: the daemon's, with the run as metadata, also written to the run's own file
    /// (`updater runs --run N`), kept open while the run goes on.
    let log: Logger

    /// The same, without the run in the metadata: for lines that name the run themselves.
    var jobLog: Logger {
        var l = log
        l[metadataKey: "run"] = nil
        return l
    }

    /// Starts a run: the `run` row, its requests consumed, its batches claimed, its log file.
    static func start(
        job: JobConfig, trigger: Trigger, requests: [RequestRecord], batches: [BatchRecord], registry: Registry, state: StateDirectory,
        clock: WallClock, log: Logger
    ) throws -> RunRecorder {
        let now = clock.now()
        let record = RunRecord(
            job: job.name, trigger: trigger.rawValue, state: .running, jobFileHash: job.fileHash, createdAt: now, startedAt: now)
        let count = batches.count
        let (id, number) = try registry.startRun(record, requests: requests, batches: batches.compactMap(\.id)) { number in
            Events.runStarted(job: job.name, run: number, trigger: trigger.rawValue, batches: count, at: now)
        }
        let logPath = state.runDirectory(job: job.name, run: id) + "/run.log"
        try Files.makeDirectories(Files.directory(of: logPath))
        try registry.setLogPath(run: id, logPath)
        return RunRecorder(
            registry: registry, job: job.name, run: id, number: number, clock: clock,
            log: log.scoped(job: job.name, run: Int64(number)).teeing(to: try LineSink(appendingTo: logPath)))
    }

    /// The run's drift report, with its `drift.detected` event and a `performance.estimated_drop`
    /// event for each batch on which production's estimated performance fell.
    func drift(_ report: DriftReport, production version: Int, estimates: [EstimatedPerformance.Batch] = []) throws {
        let drops = estimates.filter(\.dropped).map { Events.estimatedDrop(job: job, run: number, version: version, $0, at: clock.now()) }
        try registry.recordDrift(
            run: run, report: try json(report),
            events: [Events.driftDetected(job: job, run: number, productionVersion: version, report: report, at: clock.now())].compactMap { $0 } + drops)
    }

    func reject(_ batch: BatchRecord, error: String) throws {
        try registry.reject(batch: batch, error: error, run: run)
    }

    func consume(_ c: Registry.Consumption) throws {
        try registry.consume(c, run: run)
    }

    func candidate(
        _ version: VersionRecord, gate: [GateResultRecord], training: Registry.TrainingRecord, consuming: Registry.Consumption,
        event: WebhookEventRecord
    ) throws {
        try registry.recordCandidate(version, gate: gate, training: training, consuming: consuming, event: event)
    }

    func finish(_ state: RunRecord.State, decision: String? = nil, reason: String? = nil, drift: DriftReport? = nil, error: String? = nil) throws {
        try Self.finish(registry, run: run, state, decision: decision, reason: reason, drift: drift, error: error, at: clock.now())
    }

    static func finish(
        _ registry: Registry, run: Int64, _ state: RunRecord.State, decision: String? = nil, reason: String? = nil, drift: DriftReport? = nil,
        error: String? = nil, at now: Date
    ) throws {
        try registry.finishRun(
            run, state: state, decision: decision, reason: reason, driftReport: try drift.map { try json($0) }, error: error, at: now
        ) { run, production in Events.runFinished(run, productionVersion: production, at: now) }
    }
}

extension GateResultRecord {
    /// The records of a candidate's gate results; a gate with no rules passes, recorded as one row.
    static func records(_ results: [RuleResult], rules: [GateRule], run: Int64, job: String, version: Int) -> [GateResultRecord] {
        if results.isEmpty {
            return [GateResultRecord(
                id: nil, runID: run, job: job, version: version, ruleIndex: 0, metric: "none", min: nil, maxDrop: nil,
                candidate: nil, baseline: nil, passed: true, reason: "the job has no gate rules: the candidate passes")]
        }
        return results.map { r in
            let rule = r.index < rules.count ? rules[r.index] : nil
            return GateResultRecord(
                runID: run, job: job, version: version, ruleIndex: r.index, metric: r.metric, min: rule?.min,
                max: rule?.max, change: rule?.change, relativeChange: rule?.relativeChange, test: rule?.test?.rawValue,
                slice: r.slice, candidate: r.candidate, baseline: r.baseline, difference: r.difference, lower: r.lower,
                upper: r.upper, bound: r.bound, passed: r.passed, skipped: r.skipped, reason: r.reason)
        }
    }
}
