import Foundation
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
        let spec = ExternalTrainer.Spec(
            job: job.name, run: run, mode: .score, label: info.labels.column,
            classes: [info.labels.negative, info.labels.positive], features: info.features, categorical: info.categorical,
            seed: job.training.seed, data: .init(evaluation: evaluation), parentModelDir: try parentCopy(production, in: dir),
            outputDir: dir + "/output", scoresFile: dir + "/scores.csv")
        return try trainer(command).run(spec, runDirectory: dir, expectedRows: table.rowCount, cancelled: stop).scores
    }

    /// A copy of a version's model directory for a trainer to read: the stored artifact itself is
    /// never handed out, so a trainer that writes where it should only read cannot corrupt it.
    func parentCopy(_ production: ProductionModel, in dir: String) throws -> String {
        let copy = dir + "/parent"
        try? FileManager.default.removeItem(atPath: copy)
        try Files.copyDirectory(production.record.artifactPath, to: copy)
        return copy
    }

    func trainer(_ command: [String]) -> ExternalTrainer {
        ExternalTrainer(
            command: command, environment: job.training.environment,
            workingDirectory: Files.directory(of: Files.absolute(job.file)), timeLimit: job.training.timeLimit)
    }
}
