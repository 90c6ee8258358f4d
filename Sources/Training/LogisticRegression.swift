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
        let x = try preprocessor.transform(table)
        let d = preprocessor.width
        let n = table.rowCount
        let center = prior?.coefficients ?? [Double](repeating: 0, count: d)
        let start = (prior?.coefficients ?? center) + [prior?.intercept ?? 0]
        let l2 = options.l2
        // The loss and gradient over all rows, split into one block of rows per core; each block
        // sums into its own preallocated buffer, so the hot loop allocates nothing.
        let blocks = min(max(1, ProcessInfo.processInfo.activeProcessorCount), max(1, n / 20_000))
        var partialGradients = [Double](repeating: 0, count: blocks * (d + 1))
        var partialLosses = [Double](repeating: 0, count: blocks)
        let yValues = y.map { $0 ? 1.0 : 0.0 }
        let objective: ([Double], inout [Double]) -> Double = { w, grad in
            x.withUnsafeBufferPointer { xs in
                w.withUnsafeBufferPointer { ws in
                    yValues.withUnsafeBufferPointer { ys in
                        weights.withUnsafeBufferPointer { ss in
                            partialGradients.withUnsafeMutableBufferPointer { pg in
                                partialLosses.withUnsafeMutableBufferPointer { pl in
                                    let shared = LogisticBlocks(
                                        x: xs, w: ws, y: ys, s: ss, gradients: pg, losses: pl, n: n, d: d, blocks: blocks)
                                    DispatchQueue.concurrentPerform(iterations: blocks) { b in shared.run(block: b) }
                                }
                            }
                        }
                    }
                }
            }
            var loss = 0.0
            for j in 0...d { grad[j] = 0 }
            for b in 0..<blocks {
                loss += partialLosses[b]
                for j in 0...d { grad[j] += partialGradients[b * (d + 1) + j] }
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

/// One evaluation's shared inputs and per-block outputs. Each worker reads the shared buffers and
/// writes only its own block's slots, and the caller reads them after all have finished, which is
/// what makes the `@unchecked Sendable` safe.
struct LogisticBlocks: @unchecked Sendable {
    let x: UnsafeBufferPointer<Double>
    let w: UnsafeBufferPointer<Double>
    let y: UnsafeBufferPointer<Double>
    /// Each row's weight.
    let s: UnsafeBufferPointer<Double>
    let gradients: UnsafeMutableBufferPointer<Double>
    let losses: UnsafeMutableBufferPointer<Double>
    let n: Int, d: Int, blocks: Int

    func run(block b: Int) {
        let lower = n * b / blocks, upper = n * (b + 1) / blocks
        let g = gradients.baseAddress! + b * (d + 1)
        for j in 0...d { g[j] = 0 }
        let bias = w[d]
        var loss = 0.0
        var gBias = 0.0
        let x = self.x.baseAddress!, w = self.w.baseAddress!
        var r = lower
        // Four rows at a time: their dot products are independent chains the processor runs side by
        // side (one row's chain of d dependent additions was the loop's bound). Each row's sums, and
        // the gradient's, keep the order of one row at a time, so every result is bit for bit the same.
        while r + 4 <= upper {
            let r0 = x + r * d, r1 = r0 + d, r2 = r1 + d, r3 = r2 + d
            var z0 = bias, z1 = bias, z2 = bias, z3 = bias
            for j in 0..<d {
                z0 += w[j] * r0[j]
                z1 += w[j] * r1[j]
                z2 += w[j] * r2[j]
                z3 += w[j] * r3[j]
            }
            let e0 = term(z0, r, &loss, &gBias), e1 = term(z1, r + 1, &loss, &gBias)
            let e2 = term(z2, r + 2, &loss, &gBias), e3 = term(z3, r + 3, &loss, &gBias)
            for j in 0..<d {
                g[j] += e0 * r0[j]
                g[j] += e1 * r1[j]
                g[j] += e2 * r2[j]
                g[j] += e3 * r3[j]
            }
            r += 4
        }
        while r < upper {
            let row = x + r * d
            var z = bias
            for j in 0..<d { z += w[j] * row[j] }
            let residual = term(z, r, &loss, &gBias)
            for j in 0..<d { g[j] += residual * row[j] }
            r += 1
        }
        g[d] = gBias
        losses[b] = loss
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
