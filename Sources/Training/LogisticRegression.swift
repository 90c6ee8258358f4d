import Dispatch
import Foundation
import Tabular

/// A binary logistic regression with its preprocessing and label encoding: everything needed to
/// score a table.
package struct LogisticModel: Sendable, Equatable {
    package var preprocessor: Preprocessor
    package var labels: LabelEncoding
    /// One weight per model input (see ``Preprocessor/inputNames``).
    package var coefficients: [Double]
    package var intercept: Double

    package init(preprocessor: Preprocessor, labels: LabelEncoding, coefficients: [Double], intercept: Double) {
        precondition(coefficients.count == preprocessor.width, "one coefficient per input")
        self.preprocessor = preprocessor
        self.labels = labels
        self.coefficients = coefficients
        self.intercept = intercept
    }

    /// The feature columns the model reads.
    package var features: [String] { preprocessor.numeric.map(\.name) + preprocessor.categorical.map(\.name) }

    /// The probability of the positive class for each row of `table`.
    package func predictProbabilities(_ table: DataTable) throws -> [Double] {
        let x = try preprocessor.transform(table)
        let d = coefficients.count
        return (0..<table.rowCount).map { r in
            var z = intercept
            for j in 0..<d { z += coefficients[j] * x[r * d + j] }
            return sigmoid(z)
        }
    }
}

/// Fits ``LogisticModel``s by minimising `Σ s_i · log-loss_i + l2/2 · ‖w − w₀‖²` with L-BFGS, where
/// `s_i` is the class weight of row i (1 without class weights) and `w₀` is
/// zero for a full training and the parent's weights for an incremental one (the parent is the
/// prior, so a small batch moves the model only as far as its evidence warrants). The intercept is
/// not penalised. With `w₀ = 0` this is scikit-learn's `LogisticRegression(C = 1/l2, class_weight=…)`.
package enum LogisticRegressionTrainer {
    package struct Options: Sendable {
        package var l2: Double
        package var maxIterations: Int
        /// Asked before every iteration; a reason (a time limit, a cancellation) stops the training,
        /// which then throws ``TrainingError`` with that reason.
        package var shouldStop: @Sendable () -> String?
        /// How much each class counts; `.balanced` is scikit-learn's `class_weight="balanced"`.
        package var classWeights: ClassWeights
        package init(
            l2: Double = 1.0, maxIterations: Int = 500, shouldStop: @escaping @Sendable () -> String? = { nil },
            classWeights: ClassWeights = .none
        ) {
            self.l2 = l2
            self.maxIterations = maxIterations
            self.shouldStop = shouldStop
            self.classWeights = classWeights
        }
    }

    package struct Outcome: Sendable {
        package var model: LogisticModel
        package var iterations: Int
        package var converged: Bool
        package var objective: Double
    }

    /// Full training: fits preprocessing on `table` and weights from zero.
    package static func fit(
        _ table: DataTable, features: [String], labels: LabelEncoding, options: Options
    ) throws -> Outcome {
        let pre = try Preprocessor.fit(table, features: features)
        return try fit(table, preprocessor: pre, labels: labels, prior: nil, options: options)
    }

    /// Incremental training: keeps `parent`'s preprocessing and label encoding, starts from its weights
    /// and pulls towards them.
    package static func update(_ parent: LogisticModel, on table: DataTable, options: Options) throws -> Outcome {
        try fit(table, preprocessor: parent.preprocessor, labels: parent.labels, prior: parent, options: options)
    }

    static func fit(
        _ table: DataTable, preprocessor: Preprocessor, labels: LabelEncoding, prior: LogisticModel?, options: Options
    ) throws -> Outcome {
        guard table.rowCount > 0 else { throw TrainingError("no training rows") }
        let y = try labels.encode(table)
        // Each row's loss and gradient are multiplied by its class weight (1 without class weights,
        // which leaves every result bit for bit as it was).
        let weights = try options.classWeights.rowWeights(
            y.map { $0 ? 1 : 0 }, classes: [labels.negative, labels.positive])
        let inputs = try preprocessor.inputs(table)
        let d = inputs.width
        let n = table.rowCount
        let center = prior?.coefficients ?? [Double](repeating: 0, count: d)
        let start = (prior?.coefficients ?? center) + [prior?.intercept ?? 0]
        let l2 = options.l2
        // The loss and gradient over all rows, split into one part of the rows per core; each part
        // sums into its own slots (a cache line apart from the next part's) of a buffer allocated once.
        let parts = min(max(1, ProcessInfo.processInfo.activeProcessorCount), max(1, n / 20_000))
        let stride = (d + 1 + 7) / 8 * 8
        var partialGradients = [Double](repeating: 0, count: parts * stride)
        var partialLosses = [Double](repeating: 0, count: parts * 8)
        let yValues = y.map { $0 ? 1.0 : 0.0 }
        let objective: ([Double], inout [Double]) -> Double = { w, grad in
            w.withUnsafeBufferPointer { ws in
                yValues.withUnsafeBufferPointer { ys in
                    weights.withUnsafeBufferPointer { ss in
                        partialGradients.withUnsafeMutableBufferPointer { pg in
                            partialLosses.withUnsafeMutableBufferPointer { pl in
                                let shared = LogisticParts(
                                    inputs: inputs, w: ws, y: ys, s: ss, gradients: pg, losses: pl, stride: stride, parts: parts)
                                DispatchQueue.concurrentPerform(iterations: parts) { shared.run(part: $0) }
                            }
                        }
                    }
                }
            }
            var loss = 0.0
            for j in 0...d { grad[j] = 0 }
            for b in 0..<parts {
                loss += partialLosses[b * 8]
                for j in 0...d { grad[j] += partialGradients[b * stride + j] }
            }
            for j in 0..<d {
                let delta = w[j] - center[j]
                loss += 0.5 * l2 * delta * delta
                grad[j] += l2 * delta
            }
            return loss
        }
        let totalWeight = weights.reduce(0, +)
        guard totalWeight > 0 else { throw TrainingError("every training row has class weight 0") }
        let solver = LBFGS(
            memory: 10, maxIterations: options.maxIterations, gradientTolerance: 1e-8 * max(totalWeight, 1),
            shouldStop: options.shouldStop)
        let result = solver.minimize(start, objective)
        if let reason = result.stopped { throw TrainingError("training stopped after \(result.iterations) iterations: \(reason)") }
        let model = LogisticModel(
            preprocessor: preprocessor, labels: labels, coefficients: Array(result.x[0..<d]), intercept: result.x[d])
        return Outcome(model: model, iterations: result.iterations, converged: result.converged, objective: result.value)
    }
}

/// One evaluation's shared inputs and per-part outputs. Each worker reads the shared buffers and
/// writes only its own part's slots, and the caller reads them after all have finished, which is
/// what makes the `@unchecked Sendable` safe.
struct LogisticParts: @unchecked Sendable {
    let inputs: InputColumns
    /// The weights, then the intercept.
    let w: UnsafeBufferPointer<Double>
    let y: UnsafeBufferPointer<Double>
    /// Each row's weight.
    let s: UnsafeBufferPointer<Double>
    let gradients: UnsafeMutableBufferPointer<Double>
    let losses: UnsafeMutableBufferPointer<Double>
    let stride: Int, parts: Int

    /// Rows a step: their inputs (4096 rows × 20 columns = 640 KB) stay in the core's cache between
    /// the dot products and the gradient, and each column is read 32 KB at a time (a step of 256
    /// rows took twice as long: memory serves long runs of one address range best).
    static let stepRows = 4096

    func run(part: Int) {
        let n = inputs.rowCount, d = inputs.width
        let lower = n * part / parts, upper = n * (part + 1) / parts
        let g = gradients.baseAddress! + part * stride
        for j in 0...d { g[j] = 0 }
        let bias = w[d]
        var loss = 0.0
        var gBias = 0.0
        withUnsafeTemporaryAllocation(of: Double.self, capacity: Self.stepRows) { z in
            let z = z.baseAddress!
            var r = lower
            while r < upper {
                let rows = r..<min(upper, r + Self.stepRows)
                z.initialize(repeating: bias, count: rows.count)
                inputs.multiply(w.baseAddress!, rows: rows, adding: z)
                // Each row's loss, and its weighted residual in place of its score.
                for i in 0..<rows.count {
                    z[i] = term(z[i], rows.lowerBound + i, &loss, &gBias)
                }
                inputs.multiplyTransposed(z, rows: rows, adding: g)
                r = rows.upperBound
            }
        }
        g[d] = gBias
        losses[part * 8] = loss
    }

    /// Row `r`'s loss, added to `loss`, and its weighted residual, added to `gBias` and returned:
    /// log(1 + e^z) − y·z and σ(z) from one exponential, without overflow.
    @inline(__always)
    func term(_ z: Double, _ r: Int, _ loss: inout Double, _ gBias: inout Double) -> Double {
        let e = exp(-abs(z))
        let weight = s[r]
        loss += weight * (max(z, 0) + log1p(e) - y[r] * z)
        let p = z >= 0 ? 1 / (1 + e) : e / (1 + e)
        let residual = weight * (p - y[r])
        gBias += residual
        return residual
    }
}

@inline(__always) func sigmoid(_ z: Double) -> Double {
    z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
}
