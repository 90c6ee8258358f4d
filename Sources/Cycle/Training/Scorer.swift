import Evaluation
import Foundation
import Registry
import Trainers
import Support
import JobFiles
import Tabular
import Training

/// Scores rows with a model in production: a built-in model in process, an external trainer's
/// model by running the job's trainer in score mode (docs/trainers.md), in `directory`.
struct Scorer {
    let job: JobConfig
    let directory: String
    /// The run's number within the job, told to an external trainer.
    var run: Int = 0
    /// Asked while a trainer scores; true stops it (the daemon shutting down).
    var stop: @Sendable () -> Bool = { false }

    /// The model's output on the rows (see ``Truth``): for an external trainer's (binary) model, the
    /// positive class's probability per row.
    func output(_ production: ProductionModel, _ table: DataTable, purpose: String) throws -> [Double] {
        if let model = production.model { return try model.output(table) }
        guard let info = production.external else { throw CycleError("v\(production.record.version) has no model to score with") }
        guard let command = job.training.command else {
            throw CycleError(
                "v\(production.record.version) was made by an external trainer, but the job file names no training.command to score it with")
        }
        for column in info.features where table.index(of: column) == nil {
            throw CycleError("v\(production.record.version) cannot score these rows: column \"\(column)\" is missing")
        }
        let dir = directory + "/score-" + purpose
        try? FileManager.default.removeItem(atPath: dir)
        try Files.makeDirectories(dir)
        let evaluation = dir + "/evaluation.csv"
        try Files.writeAtomically(CSVWriter.encode(table, columns: info.features), to: evaluation)
        let target = info.target
        let spec = ExternalTrainer.Spec(
            job: job.name, run: run, mode: .score, task: target.task.rawValue, label: target.column, classes: target.classes,
            features: info.features, categorical: info.categorical, seed: job.training.seed, data: .init(evaluation: evaluation),
            parentModelDir: try parentCopy(production.record.artifactPath, in: dir), outputDir: dir + "/output", scoresFile: dir + "/scores.csv",
            contractVersion: target.task == .binary ? min(job.training.contract, ExternalTrainer.contracts.upperBound) : 2)
        return try trainer(command).run(spec, runDirectory: dir, expectedRows: table.rowCount, cancelled: stop).scores
    }

    /// A copy of a version's model directory for a trainer to read: the stored artifact itself is
    /// never handed out, so a trainer that writes where it should only read cannot corrupt it.
    func parentCopy(_ production: ProductionModel, in dir: String) throws -> String {
        try parentCopy(production.record.artifactPath, in: dir)
    }

    func parentCopy(_ artifact: String, in dir: String) throws -> String {
        let copy = dir + "/parent"
        try? FileManager.default.removeItem(atPath: copy)
        try Files.copyDirectory(artifact, to: copy)
        return copy
    }

    func trainer(_ command: [String]) -> ExternalTrainer {
        ExternalTrainer(
            command: command, environment: job.training.environment,
            workingDirectory: Files.directory(of: Files.absolute(job.file)), timeLimit: job.training.timeLimit)
    }
}

/// `updater predict` for versions external trainers made.
package enum TrainerScoring {
    /// `updater predict` for a version an external trainer made: its directory verified, then the
    /// job's trainer run in score mode on `table` in `directory` (a scratch directory). The output
    /// is laid out as ``Truth`` reads it (binary: the positive class's probability per row).
    package static func score(job: JobConfig, version: VersionRecord, table: DataTable, directory: String) throws -> (target: Target, output: [Double]) {
        try Publisher.verifyDirectory(version.artifactPath, digest: version.artifactSHA256, version: version.version)
        let info = try ExternalModelInfo.read(directory: version.artifactPath)
        let model = ProductionModel(
            record: version, model: nil, external: info, reference: nil, referenceProblem: nil,
            metrics: try decodeJSON(MetricSummary.self, version.metrics))
        return (info.target, try Scorer(job: job, directory: directory).output(model, table, purpose: "predict"))
    }

    /// The feature columns and their kinds an external trainer's version reads.
    package static func features(of version: VersionRecord) throws -> (features: [String], categorical: [String]) {
        let info = try ExternalModelInfo.read(directory: version.artifactPath)
        return (info.features, info.categorical)
    }
}

