import Drift
import Evaluation
import Foundation
import Trainers
import Support
import GRDB
import Synchronization
import JobFiles
import Registry
import Tabular
import Training

/// What one cycle of one job did.
package struct CycleOutcome: Sendable, Equatable {
    package enum Kind: String, Sendable {
        /// No new data and no request: nothing was recorded.
        case idle
        /// New data without drift: recorded, no training.
        case noDrift = "no_drift"
        /// A requested run found no new data to check: recorded, no training.
        case noData = "no_data"
        case promoted
        case rejected
        case failed
        /// Paused by a person (`updater pause`): no run.
        case paused
    }

    package var job: String
    package var kind: Kind
    package var runID: Int64?
    package var version: Int?
    package var message: String

    package init(job: String, kind: Kind, runID: Int64?, version: Int?, message: String) {
        self.job = job
        self.kind = kind
        self.runID = runID
        self.version = version
        self.message = message
    }
}

/// One update cycle for one job: register new batches → drift check → decide → train →
/// evaluate candidate and production on the same rows → gate → promote or reject.
///
/// Nothing here throws to the caller: every failure is recorded on the run and logged, and the
/// caller goes on with the other jobs.
package struct UpdateCycle: Sendable {
    package let registry: Registry
    package let state: StateDirectory
    package var log: Log
    /// The training engine every job of this daemon trains through.
    package let engine: TrainingEngine
    /// Who promotions are attributed to in the production history.
    package var actor = "updater"

    package init(registry: Registry, state: StateDirectory, log: Log, engine: TrainingEngine = TrainingEngine()) {
        self.registry = registry
        self.state = state
        self.log = log
        self.engine = engine
    }

    package func run(_ job: JobConfig, now: Date = Date()) -> CycleOutcome {
        do {
            try registry.upsertJob(name: job.name, filePath: job.file, fileHash: job.fileHash, deployPath: job.deploy.path, now: now)
            reconcileDeployFile(job)
            resumeInterruptedPromotion(job)
            try IncomingScanner(registry: registry, state: state, log: log).scan(job, now: now)
            let requests = try registry.pendingRequests(job: job.name)
            let pending = try registry.pendingBatches(job: job.name)
            guard !pending.isEmpty || !requests.isEmpty else {
                return CycleOutcome(job: job.name, kind: .idle, runID: nil, version: nil, message: "no new data")
            }
            let full = requests.contains(where: \.full)
            let trigger = requests.isEmpty ? "new_data" : (full ? "manual_full" : "manual")
            let runID = try startRun(job, trigger: trigger, requests: requests, batches: pending.count, now: now)
            try registry.claim(batches: pending.compactMap(\.id), run: runID)
            // Everything this run logs also goes to its own log file, shown by `updater runs --run N`.
            var scoped = self
            let logPath = state.runDirectory(job: job.name, run: runID) + "/run.log"
            try Files.makeDirectories(Files.directory(of: logPath))
            scoped.log = log.teeing(to: logPath)
            try registry.write { db in try db.execute(sql: "UPDATE run SET log_path = ? WHERE id = ?", arguments: [logPath, runID]) }
            scoped.log(.info, "\(job.name): run \(runID) started (\(trigger), \(pending.count) new batch\(pending.count == 1 ? "" : "es"))")
            var context = RunContext(job: job, runID: runID, trigger: trigger, forceFull: full, pending: pending)
            do {
                return try scoped.execute(&context)
            } catch {
                let message = "\(error)"
                // Stopped by a shutdown: the run is interrupted and its batches are retried after a restart.
                let state: RunRecord.State = engine.isShuttingDown ? .interrupted : .failed
                try? finishRun(runID, state: state, decision: context.decision, reason: context.reason, drift: context.drift, error: message)
                // Its requests (a --full, say) stand for the retry, unless a person cancelled it.
                if (try? registry.cancelRequest(run: runID)) == nil { try? registry.releaseRequests(run: runID) }
                scoped.log(.error, "\(job.name): run \(runID) \(state == .interrupted ? "interrupted" : "failed"): \(message)")
                return CycleOutcome(job: job.name, kind: .failed, runID: runID, version: nil, message: message)
            }
        } catch {
            log(.error, "\(job.name): \(error)")
            return CycleOutcome(job: job.name, kind: .failed, runID: nil, version: nil, message: "\(error)")
        }
    }

    struct RunContext {
        var job: JobConfig
        var runID: Int64
        var trigger: String
        var forceFull: Bool
        var pending: [BatchRecord]
        var decision: String?
        var reason: String?
        var drift: DriftReport?
        /// The online detectors' new state, saved when the run's batches are consumed.
        var online: OnlineDetectorRecord?
    }

    // MARK: The cycle

    func execute(_ ctx: inout RunContext) throws -> CycleOutcome {
        let job = ctx.job
        let production = try ProductionModel.load(job: job.name, registry: registry)
        let schema = try DataSchema(
            job: job, production: production, accepted: try registry.consumedBatches(job: job.name).last?.storedPath,
            candidates: ctx.pending.map(\.storedPath))
        var scorer = Scorer(job: job, directory: state.runDirectory(job: job.name, run: ctx.runID), runID: ctx.runID)
        scorer.stop = { [engine] in engine.isShuttingDown }

        // 1. Read the new batches; a malformed one is rejected on its own.
        var accepted: [(batch: BatchRecord, table: DataTable)] = []
        var rejections: [String] = []
        for batch in ctx.pending {
            do {
                let table = try schema.load(batch.storedPath, shownAs: batch.path)
                if table.rowCount == 0 { throw DataError(.empty, file: batch.path, "no data rows") }
                accepted.append((batch, table))
            } catch {
                rejections.append("\(error)")
                try markBatch(batch, status: .rejected, rows: nil, error: "\(error)", runID: ctx.runID)
                log(.error, "\(job.name): batch \(batch.id ?? 0) rejected: \(error)")
            }
        }
        if accepted.isEmpty && ctx.trigger == "new_data" {
            throw CycleError("no usable new data: \(rejections.joined(separator: "; "))")
        }
        let newData = accepted.isEmpty ? nil : accepted.dropFirst().reduce(accepted[0].table) { $0.appending($1.table) }

        // 2. Split the new rows into training and evaluation rows.
        let newSplits = accepted.map { holdoutSplit($0.table, sha256: $0.batch.sha256, job: job) }
        let newTrain = newSplits.map(\.train)
        let newEval = newSplits.compactMap(\.eval)

        // 3. Drift check against the production model's reference.
        if let production, let newData {
            let check = try DriftCheck(job: job, production: production, schema: schema, registry: registry, scorer: scorer)
                .run(on: newData)
            ctx.drift = check.report
            ctx.online = check.online
            try recordDrift(ctx.runID, job: job.name, production: production.record.version, check.report)
            log(.info, "\(job.name): run \(ctx.runID): drift \(check.report.summary)")
        }

        // 4. Decide.
        let decision = decide(ctx, production: production, hasNewData: newData != nil)
        ctx.decision = decision.kind
        ctx.reason = decision.reason
        log(.info, "\(job.name): run \(ctx.runID): \(decision.kind): \(decision.reason)")
        if decision.kind == "no_drift" || decision.kind == "no_data" {
            try consume(accepted, runID: ctx.runID, online: ctx.online)
            try finishRun(ctx.runID, state: .succeeded, decision: decision.kind, reason: decision.reason, drift: ctx.drift, error: nil)
            return CycleOutcome(
                job: job.name, kind: decision.kind == "no_drift" ? .noDrift : .noData, runID: ctx.runID, version: nil,
                message: decision.reason)
        }

        // 5. The rows every candidate is judged on: held-out rows of the new batches; without new
        // batches (a manual retrain), those of the newest earlier batches; or the holdout file.
        let older = try olderWindow(job, schema: schema)
        let evalTable: DataTable
        switch job.data.holdout {
        case .file(let path): evalTable = try schema.load(path, shownAs: path)
        case .fraction:
            let parts = newEval.isEmpty ? older.eval : newEval
            guard let first = parts.first ?? newTrain.first?.emptyCopy ?? older.train?.emptyCopy else {
                throw CycleError("no training rows: no accepted batches yet")
            }
            evalTable = parts.dropFirst().reduce(first) { $0.appending($1) }
        }
        let inputs = CandidateInputs(
            production: production, schema: schema, older: older, newTrain: concatenated(newTrain),
            newBatches: accepted.map(\.batch.sha256), evalTable: evalTable, scorer: scorer)

        // 6–9. Train, evaluate, gate and record a candidate; an incremental candidate that fails the
        // gate is followed by a full retrain in the same run.
        var incremental = decision.kind == "incremental"
        // An incremental candidate consumes the batches only if it passes: if it fails, the full
        // retrain that follows does, so a failure of that retrain leaves them pending for a retry.
        var candidate = try makeCandidate(incremental: incremental, inputs, &ctx, consuming: accepted, onlyIfPassed: incremental)
        if !candidate.passed && incremental {
            incremental = false
            ctx.decision = "full"
            ctx.reason = (ctx.reason ?? "") + "; incremental v\(candidate.version) failed the gate → full retrain"
            log(.info, "\(job.name): run \(ctx.runID): incremental v\(candidate.version) failed the gate → full retrain")
            candidate = try makeCandidate(incremental: false, inputs, &ctx, consuming: accepted, onlyIfPassed: false)
        }

        // 10. Promote or reject.
        let number = candidate.version
        guard candidate.passed else {
            try finishRun(ctx.runID, state: .rejected, decision: ctx.decision, reason: ctx.reason, drift: ctx.drift, error: "gate failed: \(candidate.failures)")
            return CycleOutcome(job: job.name, kind: .rejected, runID: ctx.runID, version: number, message: "v\(number) rejected by the gate: \(candidate.failures)")
        }
        let from = production?.record.version
        let deployPath = job.deploy.path
        let staged = try Publisher.stage(try registry.version(job.name, number)!, to: deployPath)
        defer { staged.discard() }
        _ = try registry.moveProduction(
            job: job.name, to: number, action: .promote, actor: actor,
            reason: "\(ctx.decision ?? "full") run \(ctx.runID): gate passed", runID: ctx.runID, expectedFrom: .some(from)
        ) {
            try staged.commit()
            TestHooks.stall("promotion", log: log)
        }
        TestHooks.stall("promoted", log: log)
        try finishRun(ctx.runID, state: .succeeded, decision: ctx.decision, reason: ctx.reason, drift: ctx.drift, error: nil)
        let change = from.map { "v\($0) → v\(number)" } ?? "v\(number)"
        log(.info, "\(job.name): run \(ctx.runID): promoted \(change) to \(deployPath)")
        return CycleOutcome(job: job.name, kind: .promoted, runID: ctx.runID, version: number, message: "promoted \(change)")
    }

    /// What every candidate of a run is built from and judged on.
    struct CandidateInputs {
        var production: ProductionModel?
        var schema: DataSchema
        var older: (train: DataTable?, eval: [DataTable], batches: [String])
        var newTrain: DataTable?
        var newBatches: [String]
        var evalTable: DataTable
        var scorer: Scorer
    }

    struct Candidate {
        var version: Int
        var passed: Bool
        var failures: String
    }

    /// Trains one candidate through the engine, evaluates it and production on the same rows, gates it
    /// and records it (artifact first, so a record always points at a complete file). The first
    /// candidate of a run also consumes the run's batches, in the same transaction.
    func makeCandidate(
        incremental: Bool, _ inputs: CandidateInputs, _ ctx: inout RunContext,
        consuming accepted: [(batch: BatchRecord, table: DataTable)], onlyIfPassed: Bool
    ) throws -> Candidate {
        let job = ctx.job
        let production = inputs.production
        let training = try trainingTable(incremental: incremental, inputs, job: job, runID: ctx.runID)
        let trainTable = training.table

        // Train: the built-in engine, or the job's external trainer.
        let seed = job.training.seed
        let trained = try job.training.command == nil
            ? trainBuiltIn(incremental: incremental, trainTable, inputs, ctx)
            : trainExternal(incremental: incremental, trainTable, training.replayTable, inputs, ctx)
        let usage = trained.usage
        log(.info, "\(job.name): run \(ctx.runID): trained \(incremental ? "incrementally" : "from scratch") on \(trainTable.rowCount) rows in \(String(format: "%.2f", usage.wallSeconds))s (\(trained.note), CPU \(String(format: "%.2f", usage.cpuSeconds))s)")

        // Evaluate the candidate and production on the same rows.
        let evalTable = inputs.evalTable
        let truth = try trained.target.truth(evalTable)
        var baselineProblem: String? = nil
        var productionOutput: [Double]? = nil
        if let production {
            do {
                let target = try production.target
                guard target == trained.target else {
                    throw CycleError(
                        "it predicts \(target.summary), the candidate \(trained.target.summary)")
                }
                productionOutput = try inputs.scorer.output(production, evalTable, purpose: "evaluation")
            } catch {
                baselineProblem = "production v\(production.record.version) cannot be scored on the evaluation rows: \(error)"
                log(.warning, "\(job.name): run \(ctx.runID): \(baselineProblem!)")
            }
        }

        // Gate: every rule (per slice where it has one) against production on the same rows.
        let evaluation = GateEvaluation(
            job: job, evalTable: evalTable, truth: truth, candidateOutput: trained.output,
            candidateThreshold: trained.threshold, productionOutput: productionOutput,
            productionThreshold: production?.threshold(job) ?? job.gate.threshold, productionProblem: baselineProblem)
        let results = evaluation.results()
        let passed = results.allSatisfy(\.passed)

        // Record.
        let number = try nextVersion(job.name)
        let parent = incremental ? production?.record : nil
        let artifactPath: String
        let artifactDigest: String
        switch trained.artifact {
        case .builtIn(let candidate):
            let artifact = try ModelArtifact.encode(candidate, metadata: [
                "job": job.name, "version": String(number), "mode": incremental ? "incremental" : "full",
                "parent_version": parent.map { String($0.version) } ?? "", "data_fingerprint": training.window,
                "job_file_sha256": job.fileHash,
            ].merging(trained.target.task == .binary ? ["decision_threshold": String(trained.threshold)] : [:]) { a, _ in a })
            artifactPath = state.artifactPath(job: job.name, version: number)
            try Files.writeAtomically(artifact, to: artifactPath)
            artifactDigest = Files.sha256(artifact)
        case .directory(let output, let info):
            // The trainer's output directory, with updater's own description of the model, becomes the
            // version's artifact directory; its digest identifies it.
            artifactPath = state.artifactDirectory(job: job.name, version: number)
            try? FileManager.default.removeItem(atPath: artifactPath)
            try Files.copyDirectory(output, to: artifactPath)
            try info.write(directory: artifactPath)
            artifactDigest = try Files.directoryDigest(artifactPath)
        }
        TestHooks.stall("artifact", log: log)
        let reference = ReferenceProfile(
            table: trainTable, features: inputs.schema.features, label: job.data.label,
            prediction: trained.target.predictionColumn(trained.output), policy: job.drift.policy, seed: seed)
        let version = VersionRecord(
            id: nil, job: job.name, version: number, runID: ctx.runID, parentVersion: parent?.version,
            mode: incremental ? .incremental : .full, generation: incremental ? (parent?.generation ?? 0) + 1 : 0,
            trainingRows: trainTable.rowCount, dataFingerprint: training.window, jobFileHash: job.fileHash,
            metrics: try json(evaluation.candidateMetrics.summary), baselineMetrics: try evaluation.productionMetrics.map { try json($0.summary) },
            artifactPath: artifactPath, artifactSHA256: artifactDigest, reference: try json(reference),
            status: passed ? .passed : .rejected, createdAt: Date(),
            decisionThreshold: trained.chosenThreshold ? trained.threshold : nil)
        let gateRows = gateRecords(results, rules: job.gate.rules, runID: ctx.runID, job: job.name, version: number)
        let consuming = onlyIfPassed && !passed ? [] : accepted
        let consumedBatches = consuming.map { ($0.batch, $0.table.rowCount) }
        let runID = ctx.runID
        let decisionKind = incremental ? "incremental" : "full"
        let onlineState = consuming.isEmpty ? nil : ctx.online
        let gateEvent = Events.gate(
            job: job.name, run: runID, version: number, mode: decisionKind, productionVersion: production?.record.version,
            metrics: evaluation.candidateMetrics.summary, results: results, passed: passed, at: Date())
        try registry.write { db in
            try Self.markConsumed(db, consumedBatches, runID: runID, online: onlineState)
            var v = version
            try v.insert(db)
            for var g in gateRows { try g.insert(db) }
            if var run = try RunRecord.fetchOne(db, key: runID) {
                run.candidateVersion = number
                run.decision = decisionKind
                run.seed = Int64(bitPattern: seed)
                run.trainingRows = trainTable.rowCount
                run.windowFingerprint = training.window
                run.replayFingerprint = training.replay
                run.wallSeconds = usage.wallSeconds
                run.cpuSeconds = usage.cpuSeconds
                run.peakMemoryBytes = usage.peakMemoryBytes
                try run.update(db)
            }
            try Registry.emit(db, gateEvent)
        }
        let summary = results.map { "\($0.metric)\($0.slice.map { "[\($0)]" } ?? ""): \($0.skipped ? "skipped" : $0.passed ? "pass" : "FAIL") (\($0.reason))" }.joined(separator: "; ")
        log(.info, "\(job.name): run \(ctx.runID): v\(number) gate \(passed ? "passed" : "failed"): \(summary.isEmpty ? "no rules" : summary)")
        let failures = results.filter { !$0.passed }.map { "\($0.metric)\($0.slice.map { "[\($0)]" } ?? ""): \($0.reason)" }.joined(separator: "; ")
        return Candidate(version: number, passed: passed, failures: failures)
    }

    /// A trained candidate: what it predicts, its output on the evaluation rows (see ``Truth``), its
    /// cost, and what becomes its artifact.
    struct Trained {
        enum Artifact {
            case builtIn(Model)
            case directory(String, ExternalModelInfo)
        }
        var artifact: Artifact
        var target: Target
        var output: [Double]
        var usage: TrainingEngine.Usage
        /// For the log line: iterations, or the trainer.
        var note: String
        /// The binary decision threshold, and whether it was chosen on validation rows.
        var threshold: Double
        var chosenThreshold: Bool = false
    }

    /// What a new model of the job predicts, from the label values of its training rows and (for
    /// multiclass, so that a rare class seen only in the evaluation rows is still a class) of the
    /// evaluation rows.
    func newTarget(_ job: JobConfig, training: DataTable, evaluation: DataTable) throws -> Target {
        switch job.data.task {
        case .binary:
            let labels = try LabelEncoding.infer(from: training, column: job.data.label, positive: job.data.positiveLabel)
            return Target(column: labels.column, task: .binary, classes: [labels.negative, labels.positive])
        case .multiclass:
            return try Target.infer(from: [training, evaluation], column: job.data.label, task: .multiclass)
        case .regression:
            return try Target.infer(from: training, column: job.data.label, task: .regression)
        }
    }

    func trainBuiltIn(incremental: Bool, _ allRows: DataTable, _ inputs: CandidateInputs, _ ctx: RunContext) throws -> Trained {
        let job = ctx.job
        let t = job.training
        let parent = incremental ? inputs.production?.model : nil
        // A threshold chosen on data is chosen on validation rows held out of the training rows
        // (10%, by a per-row hash with the seed), never on the gate's evaluation rows.
        var table = allRows
        var validation: DataTable? = nil
        if job.gate.decisionThreshold.fixedValue == nil {
            var fit: [Int] = [], held: [Int] = []
            for r in 0..<allRows.rowCount {
                if isHeldOut(sha256: "validation", row: r, fraction: 0.1, seed: t.seed) { held.append(r) } else { fit.append(r) }
            }
            table = allRows.rows(fit)
            validation = allRows.rows(held)
        }
        let features = inputs.schema.features
        let (result, usage) = try engine.train(timeLimit: t.timeLimit, cancelledBy: cancellation(ctx.runID)) {
            stop -> (Model, String) in
            switch t.model {
            case .logisticRegression:
                let options = LogisticRegressionTrainer.Options(
                    l2: t.l2, maxIterations: t.maxIterations, shouldStop: stop, classWeights: t.classWeights)
                let outcome: LogisticRegressionTrainer.Outcome
                if let parent = parent?.logistic {
                    outcome = try LogisticRegressionTrainer.update(parent, on: table, options: options)
                } else {
                    let labels = try LabelEncoding.infer(from: table, column: job.data.label, positive: job.data.positiveLabel)
                    outcome = try LogisticRegressionTrainer.fit(table, features: features, labels: labels, options: options)
                }
                return (Model(outcome.model), "\(outcome.iterations) iterations\(outcome.converged ? "" : ", not converged")")
            case .softmaxRegression:
                // Full trainings only (decide() never asks for an incremental one).
                let target = try newTarget(job, training: table, evaluation: inputs.evalTable)
                let preprocessor = try Preprocessor.fit(table, features: features)
                let fit = try SoftmaxRegressionTrainer.fit(
                    table, preprocessor: preprocessor, target: target,
                    options: .init(l2: t.l2, maxIterations: t.maxIterations, classWeights: t.classWeights, shouldStop: stop))
                return (
                    Model(kind: .softmaxRegression, preprocessor: preprocessor, target: target, layers: [fit.layer]),
                    "\(target.classes.count) classes, \(fit.iterations) iterations\(fit.converged ? "" : ", not converged")"
                )
            case .ridge:
                let target = try newTarget(job, training: table, evaluation: inputs.evalTable)
                let preprocessor = try Preprocessor.fit(table, features: features)
                let layer = try RidgeTrainer.fit(table, preprocessor: preprocessor, target: target, l2: t.l2)
                return (Model(kind: .ridge, preprocessor: preprocessor, target: target, layers: [layer]), "exact solution")
            case .mlp:
                let options = MLPTrainer.Options(
                    hiddenLayers: t.mlp.hiddenLayers, dropout: t.mlp.dropout, l2: t.mlp.alpha, learningRate: t.mlp.learningRate,
                    batchSize: t.mlp.batchSize, maxEpochs: t.mlp.maxEpochs, validationFraction: t.mlp.validationFraction,
                    patience: t.mlp.patience, seed: t.seed, classWeights: t.classWeights, shouldStop: stop)
                let outcome: MLPTrainer.Outcome
                let preprocessor: Preprocessor
                let target: Target
                if let parent, parent.kind == .mlp, parent.layers.dropLast().map(\.outputs) == t.mlp.hiddenLayers {
                    (preprocessor, target) = (parent.preprocessor, parent.target)
                    outcome = try MLPTrainer.update(parent.layers, on: table, preprocessor: preprocessor, target: target, options: options)
                } else {
                    target = try newTarget(job, training: table, evaluation: inputs.evalTable)
                    preprocessor = try Preprocessor.fit(table, features: features)
                    outcome = try MLPTrainer.fit(table, preprocessor: preprocessor, target: target, options: options)
                }
                return (
                    Model(kind: .mlp, preprocessor: preprocessor, target: target, layers: outcome.layers),
                    "\(outcome.epochs) epochs\(outcome.stoppedEarly ? ", stopped early" : "")"
                )
            }
        }
        let (model, note) = result
        var threshold = job.gate.threshold
        var thresholdNote = ""
        if let validation, let labels = model.binaryLabels {
            let choice = job.gate.decisionThreshold.choose(
                labels: try labels.encode(validation), scores: try model.positiveProbabilities(validation))
            threshold = choice.threshold
            thresholdNote = "; threshold \(threshold): \(choice.note)"
        }
        return Trained(
            artifact: .builtIn(model), target: model.target, output: try model.output(inputs.evalTable), usage: usage,
            note: note + thresholdNote, threshold: threshold, chosenThreshold: validation != nil)
    }

    /// Runs the job's external trainer (docs/trainers.md) through the engine: the rows go to it as
    /// CSV files in the run's directory; it writes its model files and its scores of the evaluation
    /// rows (which it gets without their labels), and updater computes every metric from those.
    func trainExternal(
        incremental: Bool, _ table: DataTable, _ replay: DataTable?, _ inputs: CandidateInputs, _ ctx: RunContext
    ) throws -> Trained {
        let job = ctx.job
        let command = job.training.command!
        let labels = try incremental && inputs.production?.external != nil
            ? inputs.production!.labels
            : LabelEncoding.infer(from: table, column: job.data.label, positive: job.data.positiveLabel)
        let features = inputs.schema.features
        let dir = state.runDirectory(job: job.name, run: ctx.runID) + "/trainer-" + (incremental ? "incremental" : "full")
        try? FileManager.default.removeItem(atPath: dir)
        try Files.makeDirectories(dir + "/data")
        let columns = features + [job.data.label]
        var data = ExternalTrainer.Spec.Inputs(evaluation: dir + "/data/evaluation.csv")
        try Files.writeAtomically(CSVWriter.encode(inputs.evalTable, columns: features), to: data.evaluation)
        var parentDirectory: String? = nil
        if incremental, let parent = inputs.production, parent.external != nil {
            // New rows and the replay sample are given apart, as the contract says.
            let newRows = table.rows(Array(0..<(table.rowCount - (replay?.rowCount ?? 0))))
            data.newBatches = [dir + "/data/new.csv"]
            try Files.writeAtomically(CSVWriter.encode(newRows, columns: columns), to: data.newBatches[0])
            if let replay {
                data.replay = dir + "/data/replay.csv"
                try Files.writeAtomically(CSVWriter.encode(replay, columns: columns), to: data.replay!)
            }
            parentDirectory = try inputs.scorer.parentCopy(parent, in: dir)
        } else {
            data.training = dir + "/data/training.csv"
            try Files.writeAtomically(CSVWriter.encode(table, columns: columns), to: data.training!)
        }
        let spec = ExternalTrainer.Spec(
            job: job.name, run: Int(ctx.runID), mode: parentDirectory == nil ? .full : .incremental, label: job.data.label,
            classes: [labels.negative, labels.positive], features: features,
            categorical: job.data.categorical.filter { features.contains($0) }, seed: job.training.seed, data: data,
            parentModelDir: parentDirectory, outputDir: dir + "/output", scoresFile: dir + "/scores.csv")
        let trainer = inputs.scorer.trainer(command)
        let reason = Mutex<String?>(nil)
        let (outcome, usage): (ExternalTrainer.Outcome, TrainingEngine.Usage)
        do {
            (outcome, usage) = try engine.train(timeLimit: job.training.timeLimit, cancelledBy: cancellation(ctx.runID)) { stop in
                try trainer.run(spec, runDirectory: dir, expectedRows: inputs.evalTable.rowCount) {
                    guard let why = stop() else { return false }
                    reason.withLock { $0 = why }
                    return true
                }
            }
        } catch let error as ExternalTrainerError where error.code == .cancelled {
            // Say why, as a built-in training does: the time limit, who cancelled, or a shutdown.
            throw CycleError("training stopped: \(reason.withLock { $0 } ?? "cancelled") (\(error))")
        }
        let info = ExternalModelInfo(
            contractVersion: ExternalTrainer.contractVersion, command: command, labels: labels, features: features,
            categorical: spec.categorical)
        // The trainer's own process is measured exactly: its CPU time and peak memory.
        let cost = TrainingEngine.Usage(
            wallSeconds: usage.wallSeconds, cpuSeconds: outcome.cpuSeconds, peakMemoryBytes: Int64(outcome.peakMemoryBytes))
        return Trained(
            artifact: .directory(outcome.modelDirectory, info), target: info.target, output: outcome.scores, usage: cost,
            note: "external trainer \(command[0]), log \(outcome.logPath)", threshold: job.gate.threshold)
    }

    /// The rows a candidate trains on, with fingerprints of exactly which: a full training takes the
    /// newest `training.window_rows` training rows of every batch in the window; an incremental one
    /// the new batches' training rows plus a replay sample of the older window (`replay_fraction` of
    /// the parent's training rows, drawn with the seed and the run).
    func trainingTable(incremental: Bool, _ inputs: CandidateInputs, job: JobConfig, runID: Int64) throws
        -> (table: DataTable, window: String, replay: String?, replayTable: DataTable?)
    {
        let t = job.training
        var sources = (inputs.older.batches + inputs.newBatches).map { "\($0):train" }
        if incremental, let parent = inputs.production {
            let k = Int((t.replayFraction * Double(parent.record.trainingRows)).rounded())
            let replaySeed = t.seed ^ UInt64(runID)
            let replayRows = sampleIndexes(inputs.older.train?.rowCount ?? 0, k, seed: replaySeed)
            let replay = inputs.older.train.map { $0.rows(replayRows) }
            let replayFingerprint = Files.sha256((inputs.older.batches.map { "\($0):train" } + ["replay:\(replayRows.count):seed:\(replaySeed)"]).joined(separator: "\n"))
            let parts = [inputs.newTrain, replay].compactMap { $0 }
            guard let first = parts.first else { throw CycleError("no training rows") }
            let table = parts.dropFirst().reduce(first) { $0.appending($1) }
            return (table, Files.sha256(inputs.newBatches.map { "\($0):train" }.joined(separator: "\n")), replayFingerprint, replay)
        }
        let parts = [inputs.older.train, inputs.newTrain].compactMap { $0 }
        guard let first = parts.first else { throw CycleError("no training rows: no accepted batches yet") }
        var table = parts.dropFirst().reduce(first) { $0.appending($1) }
        if table.rowCount > t.windowRows {
            table = table.rows(Array((table.rowCount - t.windowRows)..<table.rowCount))
            sources.append("tail:\(t.windowRows)")
        }
        return (table, Files.sha256(sources.joined(separator: "\n")), nil, nil)
    }

    /// Who cancelled the run (`updater cancel`), for the training engine.
    func cancellation(_ runID: Int64) -> @Sendable () -> String? {
        { [registry] in try? registry.cancelRequest(run: runID) }
    }

    struct Decision {
        var kind: String
        var reason: String
    }

    func decide(_ ctx: RunContext, production: ProductionModel?, hasNewData: Bool) -> Decision {
        let t = ctx.job.training
        guard let production else { return Decision(kind: "full", reason: "no model in production yet: full training") }
        if ctx.forceFull { return Decision(kind: "full", reason: "full retrain requested (updater trigger --full)") }
        guard hasNewData, let drift = ctx.drift else {
            return Decision(kind: "no_data", reason: "no new data to check (use updater trigger --full to retrain anyway)")
        }
        switch drift.severity {
        case .none:
            return Decision(kind: "no_drift", reason: drift.summary)
        case .severe:
            return Decision(kind: "full", reason: "severe drift → full retrain (\(drift.summary))")
        case .moderate:
            if !t.incremental { return Decision(kind: "full", reason: "moderate drift, incremental updates disabled → full retrain") }
            if (production.external != nil) != (t.command != nil) {
                return Decision(
                    kind: "full",
                    reason: "moderate drift, but the job now trains with \(t.command == nil ? "the built-in model" : "an external trainer") and v\(production.record.version) was not made that way → full retrain")
            }
            if t.command == nil, let model = production.model, model.kind == .mlp, t.model == .mlp,
                model.layers.dropLast().map(\.outputs) != t.mlp.hiddenLayers
            {
                return Decision(
                    kind: "full",
                    reason: "moderate drift, but the job's hidden_layers \(t.mlp.hiddenLayers) differ from v\(production.record.version)'s \(model.layers.dropLast().map(\.outputs)) → full retrain")
            }
            if t.command == nil, let kind = production.model?.kind, kind.rawValue != t.model.rawValue {
                return Decision(
                    kind: "full",
                    reason: "moderate drift, but the job now trains \(t.model.rawValue) and v\(production.record.version) is \(kind.rawValue) → full retrain")
            }
            if t.command == nil, t.model == .softmaxRegression || t.model == .ridge {
                return Decision(kind: "full", reason: "moderate drift → full retrain (\(t.model.rawValue) has no incremental update; \(drift.summary))")
            }
            if production.record.generation >= t.maxIncrementalGenerations {
                return Decision(
                    kind: "full",
                    reason: "moderate drift, but v\(production.record.version) is already \(production.record.generation) incremental generation(s) from a full training (max \(t.maxIncrementalGenerations)) → full retrain")
            }
            return Decision(kind: "incremental", reason: "moderate drift → incremental update of v\(production.record.version) (\(drift.summary))")
        }
    }

    /// The rows of batches accepted by earlier runs, newest first until `training.window_rows` training
    /// rows: their training rows (oldest first) and, for a run without new data, their held-out rows.
    func olderWindow(_ job: JobConfig, schema: DataSchema) throws -> (train: DataTable?, eval: [DataTable], batches: [String]) {
        var train: [DataTable] = []
        var eval: [DataTable] = []
        var hashes: [String] = []
        var count = 0
        let oldest = job.training.windowDays.map { Date().addingTimeInterval(-Double($0) * 86_400) } ?? .distantPast
        for batch in try registry.consumedBatches(job: job.name).reversed() where count < job.training.windowRows {
            guard batch.firstSeenAt >= oldest else { break }
            do {
                let split = holdoutSplit(try schema.load(batch.storedPath, shownAs: batch.path), sha256: batch.sha256, job: job)
                train.append(split.train)
                if let e = split.eval, eval.reduce(0, { $0 + $1.rowCount }) < max(job.gate.minRows, 1) { eval.append(e) }
                hashes.append(batch.sha256)
                count += split.train.rowCount
            } catch {
                log(.warning, "\(job.name): stored batch \(batch.id ?? 0) no longer fits the model's columns and is left out of training: \(error)")
            }
        }
        train.reverse()
        hashes.reverse()
        guard let first = train.first else { return (nil, eval, []) }
        return (train.dropFirst().reduce(first) { $0.appending($1) }, eval, hashes)
    }

    /// Splits a batch into training rows and held-out evaluation rows. With `data.holdout` a fraction,
    /// each row's side is a function of the batch's content hash, the row and the seed alone, so a
    /// batch splits the same way in every run and held-out rows are never trained on.
    func holdoutSplit(_ table: DataTable, sha256: String, job: JobConfig) -> (train: DataTable, eval: DataTable?) {
        guard case .fraction(let f) = job.data.holdout else { return (table, nil) }
        var train: [Int] = [], eval: [Int] = []
        for r in 0..<table.rowCount {
            if isHeldOut(sha256: sha256, row: r, fraction: f, seed: job.training.seed) { eval.append(r) } else { train.append(r) }
        }
        return (table.rows(train), table.rows(eval))
    }

    // MARK: Registry steps

    func startRun(_ job: JobConfig, trigger: String, requests: [RequestRecord], batches: Int, now: Date) throws -> Int64 {
        try registry.write { db in
            var run = RunRecord(
                id: nil, job: job.name, trigger: trigger, state: .running, decision: nil, reason: nil, driftReport: nil,
                jobFileHash: job.fileHash, candidateVersion: nil, createdAt: now, startedAt: now, finishedAt: nil,
                error: nil)
            try run.insert(db)
            for var r in requests {
                r.consumedAt = now
                r.runID = run.id
                try r.update(db)
            }
            try Registry.emit(db, Events.runStarted(job: job.name, run: run.id!, trigger: trigger, batches: batches, at: now))
            return run.id!
        }
    }

    func finishRun(_ id: Int64, state: RunRecord.State, decision: String?, reason: String?, drift: DriftReport?, error: String?) throws {
        let driftJSON = try drift.map { try json($0) }
        try registry.write { db in
            guard var run = try RunRecord.fetchOne(db, key: id) else { return }
            run.state = state
            run.decision = decision ?? run.decision
            run.reason = reason ?? run.reason
            run.driftReport = driftJSON ?? run.driftReport
            run.error = error
            run.finishedAt = Date()
            try run.update(db)
            let production = try JobRecord.fetchOne(db, key: run.job)?.productionVersion
            try Registry.emit(db, Events.runFinished(run, productionVersion: production, at: run.finishedAt!))
        }
    }

    /// Records the drift report on the running run (so `updater runs` shows it) with its
    /// `drift.detected` event when it found drift.
    func recordDrift(_ id: Int64, job: String, production: Int, _ report: DriftReport) throws {
        let text = try json(report)
        let event = Events.driftDetected(job: job, run: id, productionVersion: production, report: report, at: Date())
        try registry.write { db in
            try db.execute(sql: "UPDATE run SET drift_report = ? WHERE id = ?", arguments: [text, id])
            if let event { try Registry.emit(db, event) }
        }
    }

    func markBatch(_ batch: BatchRecord, status: BatchRecord.Status, rows: Int?, error: String?, runID: Int64) throws {
        try registry.write { db in
            var b = batch
            b.status = status
            b.rowCount = rows
            b.error = error
            b.runID = runID
            try b.update(db)
        }
    }

    /// Marks the accepted batches consumed, together with the online detectors' new state.
    func consume(_ accepted: [(batch: BatchRecord, table: DataTable)], runID: Int64, online: OnlineDetectorRecord?) throws {
        let batches = accepted.map { ($0.batch, $0.table.rowCount) }
        try registry.write { db in try Self.markConsumed(db, batches, runID: runID, online: online) }
    }

    /// Inside a write transaction: batches consumed by `runID` with their row counts, and the
    /// online detectors' state that includes their rows, so the two never disagree.
    static func markConsumed(_ db: Database, _ batches: [(BatchRecord, Int)], runID: Int64, online: OnlineDetectorRecord?) throws {
        if let online { try online.save(db) }
        for (batch, rows) in batches {
            var b = batch
            b.status = .consumed
            b.rowCount = rows
            b.runID = runID
            try b.update(db)
        }
    }

    func nextVersion(_ job: String) throws -> Int {
        try registry.read { db in
            (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM model_version WHERE job = ?", arguments: [job]) ?? 0) + 1
        }
    }

    func gateRecords(_ results: [RuleResult], rules: [GateRule], runID: Int64, job: String, version: Int) -> [GateResultRecord] {
        if results.isEmpty {
            return [GateResultRecord(
                id: nil, runID: runID, job: job, version: version, ruleIndex: 0, metric: "none", min: nil, maxDrop: nil,
                candidate: nil, baseline: nil, passed: true, reason: "the job has no gate rules: the candidate passes")]
        }
        return results.map { r in
            let rule = r.index < rules.count ? rules[r.index] : nil
            return GateResultRecord(
                runID: runID, job: job, version: version, ruleIndex: r.index, metric: r.metric, min: rule?.min,
                max: rule?.max, change: rule?.change, relativeChange: rule?.relativeChange, test: rule?.test?.rawValue,
                slice: r.slice, candidate: r.candidate, baseline: r.baseline, difference: r.difference, lower: r.lower,
                upper: r.upper, bound: r.bound, passed: r.passed, skipped: r.skipped, reason: r.reason)
        }
    }

    /// Completes the promotion of a job's last run when updater stopped (`interrupted`) or publishing
    /// failed (`failed`: an unwritable deploy path, a full disk) between recording its candidate
    /// (which passed the gate, its batches consumed with it) and committing the promotion, so the
    /// passed candidate is not lost and the failure is retried at every cycle. Not if production
    /// has changed since that run started (a person rolled back or promoted meanwhile): then the
    /// candidate stays recorded, for `updater promote`.
    func resumeInterruptedPromotion(_ job: JobConfig) {
        do {
            guard let run = try registry.runs(of: job.name, limit: 1).first, run.state == .interrupted || run.state == .failed,
                let runID = run.id,
                let number = run.candidateVersion, let candidate = try registry.version(job.name, number),
                candidate.status == .passed
            else { return }
            let production = try registry.job(job.name)?.productionVersion
            guard production != number else {
                // updater stopped after the promotion committed but before the run was finished:
                // the run succeeded (its model.promoted event went out with the promotion).
                if let last = try registry.history(of: job.name).last, last.runID == runID, last.toVersion == number {
                    try finishRun(runID, state: .succeeded, decision: nil, reason: (run.reason ?? "") + "; updater stopped after promoting v\(number)", drift: nil, error: nil)
                    log(.info, "\(job.name): run \(runID) had promoted v\(number) before updater stopped; recorded as succeeded")
                }
                return
            }
            if let last = try registry.history(of: job.name).last, last.at >= run.startedAt ?? run.createdAt {
                log(.warning, "\(job.name): run \(runID) was interrupted before promoting v\(number), and production changed since; use updater promote to release it")
                return
            }
            let deployPath = job.deploy.path
            let staged = try Publisher.stage(candidate, to: deployPath)
            defer { staged.discard() }
            _ = try registry.moveProduction(
                job: job.name, to: number, action: .promote, actor: actor,
                reason: "\(run.decision ?? "full") run \(runID): gate passed (promotion completed \(run.state == .failed ? "on retry" : "after updater restarted"))",
                runID: runID, expectedFrom: .some(production)
            ) { try staged.commit() }
            let how = run.state == .failed ? "on retry, after: \(run.error ?? "an error")" : "after updater restarted"
            try finishRun(runID, state: .succeeded, decision: nil, reason: (run.reason ?? "") + "; promotion completed \(how)", drift: nil, error: nil)
            log(.info, "\(job.name): run \(runID): promoted \(production.map { "v\($0) → " } ?? "")v\(number) to \(deployPath) (promotion completed \(run.state == .failed ? "on retry" : "after updater restarted"))")
        } catch {
            log(.error, "\(job.name): cannot complete the promotion of its last run's candidate (retried at the next cycle): \(error)")
        }
    }

    /// Makes the deploy file match the production version's artifact (after a crash between
    /// publishing and committing, or if someone changed the file).
    ///
    /// The check and the publication happen inside one write transaction, so a rollback committing
    /// meanwhile cannot be undone by a stale republication.
    func reconcileDeployFile(_ job: JobConfig) {
        guard let number = try? registry.job(job.name)?.productionVersion,
            let record = try? registry.version(job.name, number),
            !Publisher.isServing(record, at: job.deploy.path)
        else { return }
        let name = job.name, deployPath = job.deploy.path
        do {
            // Written beside the deploy path first; put in place (a rename) only if, inside the
            // transaction, that version is still production's and still not served.
            let staged = try Publisher.stage(record, to: deployPath)
            defer { staged.discard() }
            let republished = try registry.write { db -> Int? in
                guard let current = try JobRecord.fetchOne(db, key: name)?.productionVersion, current == number,
                    !Publisher.isServing(record, at: deployPath)
                else { return nil }
                try staged.commit()
                return current
            }
            if let republished {
                log(.warning, "\(job.name): \(job.deploy.path) did not hold production v\(republished); published it again")
            }
        } catch {
            log(.error, "\(job.name): cannot restore production v\(number) at \(job.deploy.path): \(error)")
        }
    }
}

/// Rows of several tables one after the other, or nil when there are none.
func concatenated(_ tables: [DataTable]) -> DataTable? {
    guard let first = tables.first else { return nil }
    return tables.dropFirst().reduce(first) { $0.appending($1) }
}

struct CycleError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
