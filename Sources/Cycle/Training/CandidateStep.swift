import Drift
import Evaluation
import Foundation
import JobFiles
import Registry
import Support
import Tabular
import Training

/// A recorded candidate: its version, the gate's decision, and whether it confirmed a suspected
/// change of concept.
struct Candidate {
    var record: VersionRecord
    var verdict: CandidateGate.Verdict
    var version: Int { record.version }
    var passed: Bool { verdict.passed }
}

/// One candidate of a run: trained through the engine, judged together with production on the same
/// evaluation rows, and recorded: the artifact first, so that a record always points at a complete
/// file, then in one transaction its version, gate results, the run's training and the batches it
/// consumes (`consuming`, given whether it confirmed a suspected change and passed).
struct CandidateStep {
    let run: RunContext

    func make(
        _ plan: TrainingPlan, window: TrainingWindow, evaluation: DataTable,
        consuming: (_ confirmed: Bool?, _ passed: Bool) -> Registry.Consumption
    ) throws -> Candidate {
        let job = run.job
        let log = run.recorder.log
        let production = run.production
        let trained = try CandidateTrainer(
            job: job, engine: run.engine, registry: run.registry, state: run.state, scorer: run.scorer, run: run.id, number: run.number
        ).train(plan.mode, window, evaluation: evaluation, schema: run.schema, production: production)
        let usage = trained.usage
        log.info("trained \(plan.mode == .incremental ? "incrementally" : "from scratch") on \(window.table.rowCount) rows in \(String(format: "%.2f", usage.wallSeconds))s (\(trained.note), CPU \(String(format: "%.2f", usage.cpuSeconds))s)")

        // Production on the same rows as the candidate.
        var problem: String? = nil
        var productionOutput: [Double]? = nil
        if let production {
            do {
                let target = try production.target
                guard target == trained.target else {
                    throw CycleError("it predicts \(target.summary), the candidate \(trained.target.summary)")
                }
                productionOutput = try run.scorer.output(production, evaluation, purpose: "evaluation")
            } catch {
                problem = "production v\(production.record.version) cannot be scored on the evaluation rows: \(error)"
                log.warning("\(problem!)")
            }
        }
        let gate = CandidateGate(
            job: job, evalTable: evaluation, truth: try trained.target.truth(evaluation), candidateOutput: trained.output,
            candidateThreshold: trained.threshold, productionOutput: productionOutput,
            productionThreshold: production?.threshold(job) ?? job.gate.threshold, productionProblem: problem)
        let isChange = if case .conceptChange = plan.purpose { true } else { false }
        let verdict = gate.verdict(confirmChange: isChange && production != nil ? job.drift.performance : nil)

        let record = try recordVersion(plan, window: window, trained: trained, gate: gate, verdict: verdict, consuming: consuming)
        let summary = verdict.results.map {
            "\($0.metric)\($0.slice.map { "[\($0)]" } ?? ""): \($0.skipped ? "skipped" : $0.passed ? "pass" : "FAIL") (\($0.reason))"
        }.joined(separator: "; ")
        log.info("v\(record.version) gate \(verdict.passed ? "passed" : "failed"): \(summary.isEmpty ? "no rules" : summary)")
        return Candidate(record: record, verdict: verdict)
    }

    /// Writes the artifact, then records the version and everything with it.
    func recordVersion(
        _ plan: TrainingPlan, window: TrainingWindow, trained: Trained, gate: CandidateGate, verdict: CandidateGate.Verdict,
        consuming: (Bool?, Bool) -> Registry.Consumption
    ) throws -> VersionRecord {
        let job = run.job
        let number = try run.registry.nextVersion(of: job.name)
        let incremental = plan.mode == .incremental
        let parent = incremental ? run.production?.record : nil
        let artifactPath: String
        let artifactDigest: String
        switch trained.artifact {
        case .builtIn(let model):
            var metadata = [
                "job": job.name, "version": String(number), "mode": plan.mode.rawValue,
                "parent_version": parent.map { String($0.version) } ?? "", "data_fingerprint": window.fingerprint,
                "job_file_sha256": job.fileHash,
            ]
            if trained.target.task == .binary { metadata["decision_threshold"] = String(trained.threshold) }
            let artifact = try ModelArtifact.encode(model, metadata: metadata)
            artifactPath = run.state.artifactPath(job: job.name, version: number)
            try Files.writeAtomically(artifact, to: artifactPath)
            artifactDigest = Files.sha256(artifact)
        case .directory(let output, let info):
            // The trainer's output directory, with updater's own description of the model, becomes the
            // version's artifact directory; its digest identifies it.
            artifactPath = run.state.artifactDirectory(job: job.name, version: number)
            try? FileManager.default.removeItem(atPath: artifactPath)
            try Files.copyDirectory(output, to: artifactPath)
            try info.write(directory: artifactPath)
            artifactDigest = try Files.directoryDigest(artifactPath)
        }
        run.checkpoints.reached(.artifact)
        let now = run.clock.now()
        let reference = ReferenceProfile(
            table: window.table, features: run.schema.features, label: job.data.label,
            prediction: trained.target.predictionColumn(trained.output), policy: job.drift.policy, seed: job.training.seed)
        var version = VersionRecord(
            job: job.name, version: number, runID: run.id, parentVersion: parent?.version, mode: incremental ? .incremental : .full,
            generation: incremental ? (parent?.generation ?? 0) + 1 : 0, trainingRows: window.table.rowCount,
            dataFingerprint: window.fingerprint, jobFileHash: job.fileHash, metrics: try json(gate.candidateMetrics.summary),
            baselineMetrics: try gate.productionMetrics.map { try json($0.summary) }, artifactPath: artifactPath,
            artifactSHA256: artifactDigest, reference: try json(reference), status: verdict.passed ? .passed : .rejected, createdAt: now,
            decisionThreshold: trained.chosenThreshold ? trained.threshold : nil)
        version.trainerReport = trained.report
        // What estimates its performance on rows without labels later: fitted on the rows it was
        // judged on (binary jobs).
        if case .binary(let labels) = gate.truth,
            let estimator = PerformanceEstimator.fit(scores: trained.output, labels: labels, threshold: trained.threshold)
        {
            version.estimation = try json(estimator)
        }
        let training = Registry.TrainingRecord(
            decision: plan.mode.rawValue, seed: Int64(bitPattern: job.training.seed), trainingRows: window.table.rowCount,
            windowFingerprint: window.fingerprint, replayFingerprint: window.replayFingerprint, windowFromBatch: window.fromBatch,
            windowBatches: window.batches, windowReason: window.reason, wallSeconds: trained.usage.wallSeconds,
            cpuSeconds: trained.usage.cpuSeconds, peakMemoryBytes: trained.usage.peakMemoryBytes)
        let event = Events.gate(
            job: job.name, run: run.number, version: number, mode: plan.mode.rawValue, productionVersion: run.production?.record.version,
            metrics: gate.candidateMetrics.summary, results: verdict.results, passed: verdict.passed, at: now)
        try run.recorder.candidate(
            version, gate: GateResultRecord.records(verdict.results, rules: job.gate.rules, run: run.id, job: job.name, version: number),
            training: training, consuming: consuming(verdict.confirmed, verdict.passed), event: event)
        return version
    }
}
