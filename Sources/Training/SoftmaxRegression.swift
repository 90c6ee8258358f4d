import Dispatch
import Foundation
import Tabular

/// Multinomial logistic regression: one weight row and one intercept per class, probabilities by
/// softmax.
package enum SoftmaxRegressionTrainer {
    package struct Options: Sendable {
        package var l2: Double
        package var maxIterations: Int
        package var classWeights: ClassWeights
        /// Asked before every iteration; a reason (a time limit, a cancellation) stops the training,
        /// which then throws ``TrainingError`` with that reason (as ``LogisticRegressionTrainer``).
        package var shouldStop: @Sendable () -> String?
        package init(
            l2: Double = 1.0, maxIterations: Int = 500, classWeights: ClassWeights = .none,
            shouldStop: @escaping @Sendable () -> String? = { nil }
        ) {
            self.l2 = l2
            self.maxIterations = maxIterations
            self.classWeights = classWeights
            self.shouldStop = shouldStop
        }
    }

    /// Minimises `Σ_i s_i · (−log p_{i,y_i}) + l2/2 · ‖W‖²` (intercepts not penalised; `s_i` the class
    /// weight of row i) with L-BFGS from zero, which is scikit-learn's
    /// `LogisticRegression(C = 1/l2, solver="lbfgs")` for ≥ 3 classes (multinomial). Returns the fitted
    /// layer (`classes × inputs` weights, one intercept per class in ``Target/classes`` order) and the
    /// iterations.
    ///
    /// The objective does not change when the same constant is added to every intercept; the returned
    /// intercepts are the ones that sum to zero (scikit-learn's, which start from zero and keep that sum).
    /// A binary target gets the same symmetric two-row model, which is binary logistic regression with
    /// `l2 / 2` (use ``LogisticRegressionTrainer`` for scikit-learn's binary model).
    package static func fit(
        _ table: DataTable, preprocessor: Preprocessor, target: Target, options: Options
    ) throws -> (layer: DenseLayer, iterations: Int, converged: Bool) {
        guard target.task.isClassification else {
            throw TrainingError("softmax regression predicts classes; the target \"\(target.column)\" is a regression target")
        }
        guard target.classes.count >= 2 else {
            throw TrainingError("the target \"\(target.column)\" has \(target.classes.count) class\(target.classes.count == 1 ? "" : "es"); a classifier needs at least two")
        }
        guard options.l2 >= 0, options.l2.isFinite else { throw TrainingError("l2 must be a number ≥ 0 (got \(options.l2))") }
        guard table.rowCount > 0 else { throw TrainingError("no training rows") }
        let y = try target.encodeClasses(table)
        let s = try options.classWeights.rowWeights(y, classes: target.classes)
        let x = try preprocessor.transform(table)
        let n = table.rowCount, d = preprocessor.width, k = target.classes.count
        let parameters = k * (d + 1)  // W (k × d, row-major), then the k intercepts
        let l2 = options.l2
        let totalWeight = s.reduce(0, +)
        guard totalWeight > 0 else { throw TrainingError("every training row has class weight 0") }
        // The loss and gradient over all rows, split into one block of rows per core; each block sums
        // into its own preallocated gradient buffer and uses its own logits scratch, so the hot loop
        // allocates nothing. The objective is measured from a baseline (a loss per unit of row weight
        // and a penalty) that does not change its minimiser; see the polish below.
        let blocks = min(max(1, ProcessInfo.processInfo.activeProcessorCount), max(1, n * k / 20_000))
        var partialGradients = [Double](repeating: 0, count: blocks * parameters)
        var partialLosses = [Double](repeating: 0, count: blocks)
        var scratch = [Double](repeating: 0, count: blocks * k)
        func objective(rowBaseline: Double, penaltyBaseline: Double) -> ([Double], inout [Double]) -> Double {
            { theta, grad in
                x.withUnsafeBufferPointer { xs in
                    theta.withUnsafeBufferPointer { ws in
                        y.withUnsafeBufferPointer { ys in
                            s.withUnsafeBufferPointer { ss in
                                partialGradients.withUnsafeMutableBufferPointer { pg in
                                    partialLosses.withUnsafeMutableBufferPointer { pl in
                                        scratch.withUnsafeMutableBufferPointer { zs in
                                            let shared = SoftmaxBlocks(
                                                x: xs, theta: ws, y: ys, s: ss, gradients: pg, losses: pl, logits: zs,
                                                baseline: rowBaseline, n: n, d: d, k: k, blocks: blocks)
                                            if blocks == 1 {
                                                shared.run(block: 0)
                                            } else {
                                                DispatchQueue.concurrentPerform(iterations: blocks) { b in shared.run(block: b) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                var loss = 0.0
                for j in 0..<parameters { grad[j] = 0 }
                for b in 0..<blocks {
                    loss += partialLosses[b]
                    for j in 0..<parameters { grad[j] += partialGradients[b * parameters + j] }
                }
                var penalty = 0.0
                for j in 0..<(k * d) {
                    penalty += 0.5 * l2 * theta[j] * theta[j]
                    grad[j] += l2 * theta[j]
                }
                return loss + (penalty - penaltyBaseline)
            }
        }
        let solver = LBFGS(
            memory: 10, maxIterations: options.maxIterations, gradientTolerance: 1e-10 * totalWeight,
            shouldStop: options.shouldStop)
        let first = solver.minimize(
            [Double](repeating: 0, count: parameters), objective(rowBaseline: 0, penaltyBaseline: 0))
        if let reason = first.stopped { throw TrainingError("training stopped after \(first.iterations) iterations: \(reason)") }
        // Polish. The line search compares objective values, which near the optimum differ in their
        // last digits only: along nearly flat directions (a one-hot block's weights up and the
        // intercept down, held only by the penalty) the first run stops ~5e-7 from the optimum when
        // the objective is in the hundreds. Restarting from there with the objective measured from its
        // value at that point, row by row, makes the values compared small and resolves those digits.
        var firstPenalty = 0.0
        for j in 0..<(k * d) { firstPenalty += 0.5 * l2 * first.x[j] * first.x[j] }
        var polish = solver
        polish.maxIterations = max(0, options.maxIterations - first.iterations)
        let result = polish.minimize(
            first.x,
            objective(rowBaseline: (first.value - firstPenalty) / totalWeight, penaltyBaseline: firstPenalty))
        if let reason = result.stopped {
            throw TrainingError("training stopped after \(first.iterations + result.iterations) iterations: \(reason)")
        }
        // The polish starts at the first run's point and only accepts steps that lower the objective.
        let converged = result.converged || first.converged
        var bias = Array(result.x[(k * d)...])
        let shift = bias.reduce(0, +) / Double(k)
        for c in 0..<k { bias[c] -= shift }
        let layer = DenseLayer(inputs: d, outputs: k, weights: Array(result.x[0..<(k * d)]), bias: bias)
        return (layer, first.iterations + result.iterations, converged)
    }
}

/// One evaluation's shared inputs and per-block outputs. Each worker reads the shared buffers and
/// writes only its own block's slots (gradient, loss, logits scratch), and the caller reads them after
/// all have finished, which is what makes the `@unchecked Sendable` safe.
struct SoftmaxBlocks: @unchecked Sendable {
    let x: UnsafeBufferPointer<Double>
    let theta: UnsafeBufferPointer<Double>
    let y: UnsafeBufferPointer<Int32>
    let s: UnsafeBufferPointer<Double>
    let gradients: UnsafeMutableBufferPointer<Double>
    let losses: UnsafeMutableBufferPointer<Double>
    let logits: UnsafeMutableBufferPointer<Double>
    /// Subtracted from each row's loss before weighting (a constant shift of the objective).
    let baseline: Double
    let n: Int, d: Int, k: Int, blocks: Int

    func run(block b: Int) {
        let lower = n * b / blocks, upper = n * (b + 1) / blocks
        let parameters = k * (d + 1)
        let g = gradients.baseAddress! + b * parameters
        for j in 0..<parameters { g[j] = 0 }
        let gBias = g + k * d
        let w = theta.baseAddress!
        let bias = w + k * d
        let z = logits.baseAddress! + b * k
        var loss = 0.0
        for r in lower..<upper {
            let row = x.baseAddress! + r * d
            for c in 0..<k {
                let wc = w + c * d
                var t = bias[c]
                for j in 0..<d { t += wc[j] * row[j] }
                z[c] = t
            }
            let label = Int(y[r])
            let zLabel = z[label]
            // −log p_y = max + log Σ exp(z − max) − z_y, without overflow; z becomes p.
            let (m, logSum) = softmaxInPlace(z, k)
            let weight = s[r]
            loss += weight * ((m + logSum - zLabel) - baseline)
            z[label] -= 1
            for c in 0..<k {
                let residual = weight * z[c]
                let gc = g + c * d
                for j in 0..<d { gc[j] += residual * row[j] }
                gBias[c] += residual
            }
        }
        losses[b] = loss
    }
}
