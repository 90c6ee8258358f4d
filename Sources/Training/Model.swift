import Foundation
import Tabular

/// The built-in model kinds.
package enum ModelKind: String, Sendable, Codable, CaseIterable {
    /// Binary logistic regression (one sigmoid output).
    case logisticRegression = "logistic_regression"
    /// Multinomial logistic regression (softmax over the classes).
    case softmaxRegression = "softmax_regression"
    /// Linear least squares with an L2 penalty.
    case ridge
    /// A multilayer perceptron: 1–3 ReLU hidden layers, then the task's output.
    case mlp

    /// The tasks this kind of model can do.
    package var tasks: [Task] {
        switch self {
        case .logisticRegression: [.binary]
        case .softmaxRegression: [.multiclass, .binary]
        case .ridge: [.regression]
        case .mlp: [.binary, .multiclass, .regression]
        }
    }
}

/// A trained model with everything prediction needs: its preprocessing, what it predicts, and its
/// layers (a linear model is one layer; hidden layers use ReLU, the last the task's link: sigmoid for
/// a one-output binary model, softmax for classes, identity for regression).
package struct Model: Sendable, Equatable {
    package var kind: ModelKind
    package var preprocessor: Preprocessor
    package var target: Target
    package var layers: [DenseLayer]

    package init(kind: ModelKind, preprocessor: Preprocessor, target: Target, layers: [DenseLayer]) {
        precondition(!layers.isEmpty && layers[0].inputs == preprocessor.width, "the first layer reads the preprocessed inputs")
        self.kind = kind
        self.preprocessor = preprocessor
        self.target = target
        self.layers = layers
    }

    /// The feature columns the model reads.
    package var features: [String] { preprocessor.numeric.map(\.name) + preprocessor.categorical.map(\.name) }

    /// Predictions for every row of `table`.
    package func predict(_ table: DataTable) throws -> Prediction {
        Training.predict(layers, inputs: try preprocessor.transform(table), task: target.task)
    }

    /// For a binary model: the probability of the positive class (`target.classes[1]`) per row.
    package func positiveProbabilities(_ table: DataTable) throws -> [Double] {
        guard target.task == .binary else { throw TrainingError("a \(target.task.rawValue) model has no positive class") }
        guard case .probabilities(let k, let p) = try predict(table) else { throw TrainingError("not a classifier") }
        return (0..<table.rowCount).map { p[$0 * k + k - 1] }
    }

    /// A binary model's label encoding (negative, positive).
    package var binaryLabels: LabelEncoding? {
        guard target.task == .binary, target.classes.count == 2 else { return nil }
        return LabelEncoding(column: target.column, negative: target.classes[0], positive: target.classes[1])
    }

    /// A built-in binary logistic regression as a general model.
    package init(_ logistic: LogisticModel) {
        self.init(
            kind: .logisticRegression, preprocessor: logistic.preprocessor,
            target: Target(column: logistic.labels.column, task: .binary, classes: [logistic.labels.negative, logistic.labels.positive]),
            layers: [DenseLayer(inputs: logistic.coefficients.count, outputs: 1, weights: logistic.coefficients, bias: [logistic.intercept])])
    }

    /// This model as a binary logistic regression, when it is one (for incremental updates).
    package var logistic: LogisticModel? {
        guard kind == .logisticRegression, let labels = binaryLabels, layers.count == 1, layers[0].outputs == 1 else { return nil }
        return LogisticModel(preprocessor: preprocessor, labels: labels, coefficients: layers[0].weights, intercept: layers[0].bias[0])
    }
}
