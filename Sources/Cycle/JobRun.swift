import Drift
import Foundation
import JobFiles
import Logging
import Registry
import Support
import Tabular
import Trainers
import Training

/// A new batch as the run read it.
struct NewBatch {
    var record: BatchRecord
    var loaded: DataSchema.Loaded
    /// Its labelled rows.
    var table: DataTable { loaded.table }
}

/// What every step of one run shares.
struct RunContext {
    let job: JobConfig
    let id: Int64
    /// The run's number within the job, as people see it.
    let number: Int
    let trigger: Trigger
    let production: ProductionModel?
    let schema: DataSchema
    let scorer: Scorer
    let recorder: RunRecorder
    let registry: Registry
    let state: StateDirectory
    let engine: TrainingEngine
    let clock: WallClock
    let checkpoints: Checkpoints
}

/// One run of a job, as a short pipeline: read the new batches → check them against production →
/// decide (``FreshnessPolicy``) → either record the evidence, or choose the rows, train a candidate,
/// gate it and promote it or not. Every registry write goes through ``RunRecorder``.
struct JobRun {
    let cycle: UpdateCycle
    let job: JobConfig
    let recorder: RunRecorder
    let trigger: Trigger
    let pending: [BatchRecord]

    var log: Logger { recorder.log }

    /// What the run found and decided so far, for the record if it fails.
    final class Progress {
        var decision: Decision?
        var drift: DriftReport?
    }
    let progress = Progress()

    func execute() throws -> CycleOutcome {
        let production = try ProductionModel.load(job: job.name, registry: cycle.registry)
        // A requested run of a job that has no data yet (its first file may still be settling):
        // nothing to check or train, which is no failure.
        if production == nil, pending.isEmpty, try cycle.registry.consumedBatches(job: job.name).isEmpty {
            let decision = Decision(action: .noData, reason: "nothing to train on yet: the job has no batch (a file still settling is read once it is readable)")
            progress.decision = decision
            try recorder.consume(Registry.Consumption(batches: [], online: nil, served: []))
            try recorder.finish(.succeeded, decision: decision.recorded, reason: decision.reason, drift: nil)
            log.info("\(decision.recorded): \(decision.reason)")
            return CycleOutcome(job: job.name, kind: .noData, runID: recorder.run, run: recorder.number, version: nil, message: decision.reason)
        }
        let schema = try DataSchema(
            job: job, production: production, accepted: try cycle.registry.consumedBatches(job: job.name).last?.storedPath,
            candidates: pending.map(\.storedPath))
        var scorer = Scorer(job: job, directory: cycle.state.runDirectory(job: job.name, run: recorder.run), run: recorder.number)
        scorer.stop = { [engine = cycle.engine] in engine.isShuttingDown }
        let run = RunContext(
            job: job, id: recorder.run, number: recorder.number, trigger: trigger, production: production, schema: schema, scorer: scorer, recorder: recorder,
            registry: cycle.registry, state: cycle.state, engine: cycle.engine, clock: cycle.clock, checkpoints: cycle.checkpoints)

        let new = try readBatches(run)
        var evidence: Evidence? = nil
        if let production, !new.isEmpty {
            let check = DriftCheck(job: job, production: production, schema: schema, registry: cycle.registry, scorer: scorer, clock: cycle.clock)
            let found = try check.run(on: new.map { .init(id: $0.record.id, table: $0.table, unlabelled: $0.loaded.unlabelled, joined: $0.record.joined) }, run: run.id)
            try recorder.drift(found.report, production: production.record.version, estimates: found.estimates)
            progress.drift = found.report
            log.info("drift \(found.report.summary)")
            evidence = found
        }
        let segment = try self.segment(production: production, new: new)
        let decision = FreshnessPolicy(job: job, reference: cycle.reference)
            .decide(production: production, trigger: trigger, evidence: evidence, segment: segment)
        progress.decision = decision
        log.info("\(decision.recorded): \(decision.reason)")
        let splits = new.map { SplitBatch($0.record, $0.table, ids: $0.loaded.ids, job: job) }
        guard let plan = decision.plan else { return try keep(decision, run: run, new: new, evidence: evidence) }
        return try train(plan, decision: decision, run: run, new: splits, loaded: new, segment: segment, evidence: evidence)
    }

    /// 1. Reads the pending batches; a malformed one is rejected on its own.
    func readBatches(_ run: RunContext) throws -> [NewBatch] {
        var accepted: [NewBatch] = []
        var rejections: [String] = []
        for batch in pending {
            do {
                let loaded = try run.schema.load(batch.storedPath, shownAs: batch.path, badRows: job.data.badRows)
                if loaded.table.rowCount + loaded.unlabelledCount == 0 { throw DataError(.empty, file: batch.path, "no data rows") }
                var record = batch
                if !loaded.skipped.isEmpty {
                    try keep(loaded.skipped, of: batch)
                    record.skippedRows = loaded.skipped.count  // recorded when the run consumes the batch
                }
                // Recorded when the run consumes the batch.
                record.unlabelledRows = loaded.unlabelledCount
                if loaded.unlabelledCount > 0 {
                    let rows = loaded.unlabelledRows.prefix(5).map(String.init).joined(separator: ", ") + (loaded.unlabelledCount > 5 ? ", …" : "")
                    let later = job.data.labels != nil
                        ? "trained on once their labels arrive in \(job.data.labels!)"
                        : (job.data.id == nil ? "set data.id and data.labels to join their labels later" : "set data.labels to join their labels later")
                    log.info(
                        "batch \(batch.id ?? 0) (\(batch.path)): \(loaded.unlabelledCount) of \(loaded.unlabelledCount + loaded.table.rowCount) rows without a label (data row\(loaded.unlabelledCount == 1 ? "" : "s") \(rows)): checked for drift and scored, not trained on; \(later)")
                }
                accepted.append(NewBatch(record: record, loaded: loaded))
            } catch {
                rejections.append("\(error)")
                try recorder.reject(batch, error: "\(error)")
                log.error("batch \(batch.id ?? 0) rejected: \(error)")
            }
        }
        if accepted.isEmpty && trigger == .newData {
            throw CycleError("no usable new data: \(rejections.joined(separator: "; "))")
        }
        return accepted
    }

    /// Rows left out for bad values (`data.bad_rows = "skip"`): said in the run's log with the first
    /// ones and kept beside the batch's stored copy (`line,column,reason,row`).
    func keep(_ skipped: [SkippedRow], of batch: BatchRecord) throws {
        var text = "line,column,reason,row\n"
        for row in skipped {
            text += [String(row.line), row.column ?? "", row.reason, row.text].map(csvField).joined(separator: ",") + "\n"
        }
        try Files.writeAtomically(Array(text.utf8), to: batch.skippedRowsPath)
        let lines = skipped.prefix(5).map { String($0.line) }.joined(separator: ", ") + (skipped.count > 5 ? ", …" : "")
        log.warning(
            "batch \(batch.id ?? 0) (\(batch.path)): \(skipped.count) bad row\(skipped.count == 1 ? "" : "s") left out (line\(skipped.count == 1 ? "" : "s") \(lines); first: \(skipped[0].description)); kept in \(batch.skippedRowsPath)")
    }

    /// The rows of the current concept, for the warm-up rule.
    func segment(production: ProductionModel?, new: [NewBatch]) throws -> FreshnessPolicy.Segment {
        let registry = cycle.registry
        let change = try registry.conceptChanges(job: job.name).last { $0.state == .confirmed }
        let versions = try registry.versions(of: job.name).filter { $0.runID >= change?.runID ?? Int64.min }
        let earlier = try EarlierBatches.trainingRows(job, since: change?.batchID, registry: registry, now: cycle.clock.now())
        let fresh = new.reduce(0) { $0 + SplitBatch.trainingRows(sha256: $1.record.sha256, rows: $1.table.rowCount, job: job) }
        let inSegment = production.flatMap { p in versions.contains { $0.version == p.record.version } ? p.record.trainingRows : nil }
        return .init(
            start: change?.batchID, availableRows: earlier + fresh, productionRows: inSegment,
            triedRows: versions.map(\.trainingRows).max() ?? 0, newRows: new.reduce(0) { $0 + $1.table.rowCount })
    }

    /// The evidence the run's batches are consumed with.
    func consumption(_ new: [NewBatch], _ evidence: Evidence?, run: RunContext) -> Registry.Consumption {
        var c = Registry.Consumption(batches: new.map { ($0.record, $0.table.rowCount) }, online: evidence?.online, served: evidence?.served ?? [])
        (c.predictions, c.estimates) = logged(new, evidence, run: run)
        return c
    }

    /// The prediction log of the new batches' rows (jobs with data.id; not for a batch of joined
    /// rows, whose rows are already in it) and production's estimated performance on their rows
    /// without labels.
    func logged(_ new: [NewBatch], _ evidence: Evidence?, run: RunContext) -> ([PredictionRecord], [EstimatedBatchRecord]) {
        let now = run.clock.now()
        var predictions: [PredictionRecord] = []
        let version = run.production?.record.version
        let target = try? run.production?.target
        let threshold = run.production?.threshold(job) ?? job.gate.threshold
        for (i, b) in new.enumerated() where job.data.id != nil && !b.record.joined {
            guard let id = b.record.id else { continue }
            let scores: (labelled: [Double], unlabelled: [Double]) = evidence?.scores.indices.contains(i) == true ? evidence!.scores[i] : ([], [])
            let labels = b.table.column(job.data.label)
            let parts: [(ids: [String], rows: [Int], output: [Double], labelled: Bool)] = [
                (b.loaded.ids ?? [], b.loaded.labelledRows, scores.labelled, true),
                (b.loaded.unlabelledIDs ?? [], b.loaded.unlabelledRows, scores.unlabelled, false),
            ]
            for part in parts {
                for (k, rowID) in part.ids.enumerated() {
                    let (score, prediction) = target.map { Self.prediction(part.output, row: k, target: $0, threshold: threshold) } ?? (nil, nil)
                    let label = part.labelled ? labels?.string(at: k) : nil
                    predictions.append(PredictionRecord(
                        job: job.name, batchID: id, row: part.rows[k], rowID: rowID, version: score == nil ? nil : version, score: score,
                        prediction: prediction, label: label, at: now))
                }
            }
        }
        let estimates = (evidence?.estimates ?? []).compactMap { e -> EstimatedBatchRecord? in
            guard let version, let id = e.batch, let json = try? json(e.estimate) else { return nil }
            return EstimatedBatchRecord(job: job.name, batchID: id, runID: run.id, version: version, rows: e.estimate.rows, estimate: json, dropped: e.dropped, at: now)
        }
        return (predictions, estimates)
    }

    /// Row `row`'s score and predicted class in `output` (nil when production could not score it).
    static func prediction(_ output: [Double], row: Int, target: Training.Target, threshold: Double) -> (Double?, String?) {
        switch target.task {
        case .binary:
            guard row < output.count, target.classes.count == 2 else { return (nil, nil) }
            return (output[row], output[row] >= threshold ? target.classes[1] : target.classes[0])
        case .multiclass:
            let k = target.classes.count
            guard (row + 1) * k <= output.count else { return (nil, nil) }
            let p = output[(row * k)..<((row + 1) * k)]
            let best = p.indices.max { p[$0] < p[$1] }!
            return (p[best], target.classes[best - row * k])
        case .regression:
            return row < output.count ? (output[row], nil) : (nil, nil)
        }
    }


    /// 2a. Nothing to train: the batches are consumed with their evidence.
    func keep(_ decision: Decision, run: RunContext, new: [NewBatch], evidence: Evidence?) throws -> CycleOutcome {
        var c = consumption(new, evidence, run: run)
        if decision.action == .acknowledgeShift, let production = run.production, let data = concatenated(new.map(\.table)) {
            let profile = ReferenceProfile(
                table: data, features: production.features, label: job.data.label, prediction: nil, policy: job.drift.policy,
                seed: job.training.seed)
            c.baseline = DriftBaselineRecord(
                job: job.name, version: production.record.version, runID: run.id, reference: try json(profile), at: cycle.clock.now())
        }
        try recorder.consume(c)
        try recorder.finish(.succeeded, decision: decision.recorded, reason: decision.reason, drift: evidence?.report)
        let kind: CycleOutcome.Kind = switch decision.action {
        case .noData: .noData
        case .acknowledgeShift: .shift
        default: .noDrift
        }
        return CycleOutcome(job: job.name, kind: kind, runID: run.id, run: run.number, version: nil, message: decision.reason)
    }

    /// 2b. Train, gate, and promote or reject; an incremental candidate that fails the gate is
    /// followed by a full retrain in the same run.
    func train(
        _ plan: TrainingPlan, decision: Decision, run: RunContext, new: [SplitBatch], loaded loadedBatches: [NewBatch],
        segment: FreshnessPolicy.Segment, evidence: Evidence?
    ) throws -> CycleOutcome {
        let since: Int64? = if case .reference = plan.purpose { nil } else { segment.start }
        let earlier = if case .conceptChange = plan.purpose {
            EarlierBatches(batches: [])
        } else {
            try EarlierBatches.load(job, since: since, schema: run.schema, registry: run.registry, now: run.clock.now(), log: log)
        }
        let window = try TrainingWindow.select(plan, concept: since, new: new, earlier: earlier, production: run.production, job: job, run: run.id)
        log.info("training rows: \(window.reason)")
        let evaluation = try EvaluationRows.select(job, plan: plan, new: new, earlier: earlier, schema: run.schema)
        let accepted = new.map { ($0.record, $0.train.rowCount + ($0.eval?.rowCount ?? 0)) }
        let (predictions, estimates) = logged(loadedBatches, evidence, run: run)
        let consuming = { (confirmed: Bool?, passed: Bool) -> Registry.Consumption in
            var c = Registry.Consumption(batches: accepted, online: evidence?.online, served: evidence?.served ?? [])
            (c.predictions, c.estimates) = (predictions, estimates)
            if case .conceptChange(let batch) = plan.purpose, let confirmed, let production = run.production {
                c.change = ConceptChangeRecord(
                    job: job.name, runID: run.id, batchID: batch, productionVersion: production.record.version,
                    state: confirmed ? .confirmed : .unconfirmed, reason: decision.reason, at: run.clock.now())
                // Not a change after all: production's level on this batch is its new reference, so
                // the same fall does not bring the same candidate again.
                if !confirmed, let i = c.served.firstIndex(where: { $0.batchID == batch }) { c.served[i].restartsReference = true }
            }
            return c
        }
        let step = CandidateStep(run: run)
        var recorded = decision.recorded
        var reason = decision.reason
        var candidate: Candidate
        if plan.mode == .incremental {
            // It consumes the batches only if it passes: if it fails, the full retrain that follows
            // does, so a failure of that retrain leaves them pending for a retry.
            candidate = try step.make(plan, window: window, evaluation: evaluation) { c, passed in passed ? consuming(c, passed) : .nothing }
            if !candidate.passed {
                let full = TrainingPlan(mode: .full, purpose: plan.purpose)
                recorded = full.mode.rawValue
                reason += "; incremental v\(candidate.version) failed the gate → full retrain"
                log.info("incremental v\(candidate.version) failed the gate → full retrain")
                let fullWindow = try TrainingWindow.select(full, concept: since, new: new, earlier: earlier, production: run.production, job: job, run: run.id)
                candidate = try step.make(full, window: fullWindow, evaluation: evaluation, consuming: consuming)
            }
        } else {
            candidate = try step.make(plan, window: window, evaluation: evaluation, consuming: consuming)
        }
        progress.decision = Decision(action: decision.action, reason: reason)
        guard candidate.passed || cycle.reference != nil else {
            let failures = candidate.verdict.failures
            try recorder.finish(.rejected, decision: recorded, reason: reason, drift: evidence?.report, error: "gate failed: \(failures)")
            return CycleOutcome(
                job: job.name, kind: .rejected, runID: run.id, run: run.number, version: candidate.version,
                message: "v\(candidate.version) rejected by the gate: \(failures)")
        }
        let from = run.production?.record.version
        try Promoter(registry: run.registry, clock: run.clock, checkpoints: run.checkpoints).publish(
            candidate.record, to: job.deploy, action: candidate.passed ? .promote : .forced, actor: cycle.actor,
            reason: "\(recorded) run \(run.number): \(candidate.passed ? "gate passed" : "a reference policy of updater backtest")", run: run.id,
            expectedFrom: from)
        run.checkpoints.reached(.promoted)
        try recorder.finish(.succeeded, decision: recorded, reason: reason, drift: evidence?.report)
        let change = from.map { "v\($0) → v\(candidate.version)" } ?? "v\(candidate.version)"
        log.info("promoted \(change) to \(job.deploy.path)")
        return CycleOutcome(job: job.name, kind: .promoted, runID: run.id, run: run.number, version: candidate.version, message: "promoted \(change)")
    }
}
