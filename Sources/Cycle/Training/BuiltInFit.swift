import JobFiles
import Tabular
import Training

/// A job's built-in model trained on rows, with nothing but the job: what ``CandidateTrainer``
/// runs through the training engine, and what `updater init` cross-validates a drafted job with.
struct BuiltInFit {
    let job: JobConfig

    /// What a new model of the job predicts, from the label values of its training rows and (for
    /// multiclass, so that a rare class seen only in the evaluation rows is still a class) of the
    /// evaluation rows.
    func newTarget(training: DataTable, evaluation: DataTable) throws -> Target {
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

    /// The built-in model's training: warm-started from `parent` where the model allows it.
    func fit(
        _ table: DataTable, evaluation: DataTable, features: [String], parent: Model? = nil, stop: @escaping @Sendable () -> String? = { nil }
    ) throws
        -> (Model, String)
    {
        let t = job.training
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
            // Full trainings only (the policy never asks for an incremental one).
            let target = try newTarget(training: table, evaluation: evaluation)
            let preprocessor = try Preprocessor.fit(table, features: features)
            let fit = try SoftmaxRegressionTrainer.fit(
                table, preprocessor: preprocessor, target: target,
                options: .init(l2: t.l2, maxIterations: t.maxIterations, classWeights: t.classWeights, shouldStop: stop))
            return (
                Model(kind: .softmaxRegression, preprocessor: preprocessor, target: target, layers: [fit.layer]),
                "\(target.classes.count) classes, \(fit.iterations) iterations\(fit.converged ? "" : ", not converged")"
            )
        case .ridge:
            let target = try newTarget(training: table, evaluation: evaluation)
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
                target = try newTarget(training: table, evaluation: evaluation)
                preprocessor = try Preprocessor.fit(table, features: features)
                outcome = try MLPTrainer.fit(table, preprocessor: preprocessor, target: target, options: options)
            }
            return (
                Model(kind: .mlp, preprocessor: preprocessor, target: target, layers: outcome.layers),
                "\(outcome.epochs) epochs\(outcome.stoppedEarly ? ", stopped early" : "")"
            )
        }
    }
}
