import Evaluation
import Foundation
import JobFiles
import Registry
import Support
import Synchronization
import Tabular
import Trainers
import Training

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
    /// An external trainer's own report (contract 2): its parameters and metrics, as JSON.
    var report: String? = nil
}

/// Trains one candidate through the daemon's training engine: the built-in model in process, or
/// the job's external trainer as a child process (docs/trainers.md).
struct CandidateTrainer {
    let job: JobConfig
    let engine: TrainingEngine
    let registry: Registry
    let state: StateDirectory
    let scorer: Scorer
    let run: Int64
    /// The run's number within the job, told to an external trainer.
    let number: Int

    func train(_ mode: TrainingPlan.Mode, _ window: TrainingWindow, evaluation: DataTable, schema: DataSchema, production: ProductionModel?)
        throws -> Trained
    {
        let incremental = mode == .incremental
        return try job.training.command == nil
            ? builtIn(incremental: incremental, window.table, evaluation: evaluation, features: schema.features, production: production)
            : external(incremental: incremental, window, evaluation: evaluation, features: schema.features, production: production)
    }

    /// Who cancelled the run (`updater cancel`), asked by the engine.
    var cancellation: @Sendable () -> String? {
        { [registry, run] in try? registry.cancelRequest(run: run) }
    }

    func builtIn(incremental: Bool, _ allRows: DataTable, evaluation: DataTable, features: [String], production: ProductionModel?) throws -> Trained {
        let t = job.training
        let parent = incremental ? production?.model : nil
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
        let (result, usage) = try engine.train(timeLimit: t.timeLimit, cancelledBy: cancellation) { stop -> (Model, String) in
            try BuiltInFit(job: job).fit(table, evaluation: evaluation, features: features, parent: parent, stop: stop)
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
            artifact: .builtIn(model), target: model.target, output: try model.output(evaluation), usage: usage,
            note: note + thresholdNote, threshold: threshold, chosenThreshold: validation != nil)
    }

    /// Runs the job's external trainer (docs/trainers.md) through the engine: the rows go to it as
    /// CSV files in the run's directory; it writes its model files and its scores of the evaluation
    /// rows (which it gets without their labels), and updater computes every metric from those.
    func external(
        incremental: Bool, _ window: TrainingWindow, evaluation: DataTable, features: [String], production: ProductionModel?
    ) throws -> Trained {
        let command = job.training.command!
        let contract = job.training.contract
        var table = window.table
        let fromParent = incremental && production?.external != nil
        let target = try fromParent ? production!.target : externalTarget(table)
        // Contract 2, binary, a threshold chosen on data: validation rows held out of the training
        // rows (as for the built-in model), which the trainer scores too.
        var validation: DataTable? = nil
        var newCount = table.rowCount - (window.replay?.rowCount ?? 0)
        if contract >= 2, target.task == .binary, job.gate.decisionThreshold.fixedValue == nil {
            var fit: [Int] = [], held: [Int] = []
            for r in 0..<table.rowCount {
                if isHeldOut(sha256: "validation", row: r, fraction: 0.1, seed: job.training.seed) { held.append(r) } else { fit.append(r) }
            }
            newCount = fit.filter { $0 < newCount }.count
            validation = table.rows(held)
            table = table.rows(fit)
        }
        let dir = state.runDirectory(job: job.name, run: run) + "/trainer-" + (incremental ? "incremental" : "full")
        try? FileManager.default.removeItem(atPath: dir)
        try Files.makeDirectories(dir + "/data")
        let columns = features + [job.data.label]
        var data = ExternalTrainer.Spec.Inputs(evaluation: dir + "/data/evaluation.csv")
        try Files.writeAtomically(CSVWriter.encode(evaluation, columns: features), to: data.evaluation)
        if let validation {
            data.validation = dir + "/data/validation.csv"
            try Files.writeAtomically(CSVWriter.encode(validation, columns: features), to: data.validation!)
        }
        var parentDirectory: String? = nil
        if fromParent, let parent = production {
            // New rows and the replay sample are given apart, as the contract says.
            data.newBatches = [dir + "/data/new.csv"]
            try Files.writeAtomically(CSVWriter.encode(table.rows(Array(0..<newCount)), columns: columns), to: data.newBatches[0])
            if newCount < table.rowCount {
                data.replay = dir + "/data/replay.csv"
                try Files.writeAtomically(CSVWriter.encode(table.rows(Array(newCount..<table.rowCount)), columns: columns), to: data.replay!)
            }
            parentDirectory = try scorer.parentCopy(parent, in: dir)
        } else {
            data.training = dir + "/data/training.csv"
            try Files.writeAtomically(CSVWriter.encode(table, columns: columns), to: data.training!)
        }
        var spec = ExternalTrainer.Spec(
            job: job.name, run: number, mode: parentDirectory == nil ? .full : .incremental, task: target.task.rawValue, label: job.data.label,
            classes: target.classes, features: features, categorical: job.data.categorical.filter { features.contains($0) },
            seed: job.training.seed, data: data, parentModelDir: parentDirectory, outputDir: dir + "/output", scoresFile: dir + "/scores.csv",
            contractVersion: contract)
        if contract >= 2 {
            spec.reportFile = dir + "/report.json"
            spec.validationScoresFile = validation == nil ? nil : dir + "/validation-scores.csv"
        }
        let trainer = scorer.trainer(command)
        let reason = Mutex<String?>(nil)
        let (outcome, usage): (ExternalTrainer.Outcome, TrainingEngine.Usage)
        do {
            (outcome, usage) = try engine.train(timeLimit: job.training.timeLimit, cancelledBy: cancellation) { stop in
                try trainer.run(spec, runDirectory: dir, expectedRows: evaluation.rowCount, validationRows: validation?.rowCount) {
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
            contractVersion: contract, command: command, target: target, features: features, categorical: spec.categorical)
        // The trainer's own process is measured exactly: its CPU time and peak memory.
        let cost = TrainingEngine.Usage(
            wallSeconds: usage.wallSeconds, cpuSeconds: outcome.cpuSeconds, peakMemoryBytes: Int64(outcome.peakMemoryBytes))
        var threshold = job.gate.threshold
        var thresholdNote = ""
        if let validation, let scores = outcome.validationScores, let labels = info.labels {
            let choice = job.gate.decisionThreshold.choose(labels: try labels.encode(validation), scores: scores)
            threshold = choice.threshold
            thresholdNote = "; threshold \(threshold): \(choice.note)"
        }
        return Trained(
            artifact: .directory(outcome.modelDirectory, info), target: info.target, output: outcome.scores, usage: cost,
            note: "external trainer \(command[0]), log \(outcome.logPath)" + thresholdNote, threshold: threshold,
            chosenThreshold: validation != nil, report: outcome.report)
    }

    /// What a new external model predicts: the job's label, task and classes (binary: negative,
    /// then the positive label).
    func externalTarget(_ table: DataTable) throws -> Target {
        if job.data.task == .binary {
            let labels = try LabelEncoding.infer(from: table, column: job.data.label, positive: job.data.positiveLabel)
            return Target(column: labels.column, task: .binary, classes: [labels.negative, labels.positive])
        }
        return try Target.infer(from: table, column: job.data.label, task: job.data.task)
    }
}
