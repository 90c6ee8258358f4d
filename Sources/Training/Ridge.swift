import Dispatch
import Foundation
import Tabular

/// Linear regression with an L2 penalty, solved exactly.
package enum RidgeTrainer {
    /// Minimises `Σ (y − Xw − b)² + l2 · ‖w‖²` exactly: the normal equations of the centred inputs
    /// (from ``Preprocessor/transform(_:)``, so numeric columns are standardised) solved by Cholesky,
    /// and `b = ȳ − x̄ · w`, so the intercept is not penalised: scikit-learn's `Ridge(alpha = l2)`.
    /// Returns a layer with one output. `l2` must be positive (the one-hot blocks and the intercept are
    /// collinear, and the unseen-category inputs are all zero in training; their weights come out 0).
    package static func fit(_ table: DataTable, preprocessor: Preprocessor, target: Target, l2: Double) throws -> DenseLayer {
        guard target.task == .regression else {
            throw TrainingError("ridge regression predicts numbers; the target \"\(target.column)\" is a \(target.task.rawValue) target")
        }
        guard l2 > 0, l2.isFinite else { throw TrainingError("ridge regression needs l2 > 0 (got \(l2))") }
        guard table.rowCount > 0 else { throw TrainingError("no training rows") }
        let y = try target.encodeValues(table)
        let x = try preprocessor.transform(table)
        let n = table.rowCount, d = preprocessor.width
        // Two passes over row blocks, one block per core, each summing into its own preallocated
        // buffer: the column sums (for the means), then the centred Gram matrix (upper triangle) and
        // the centred Xᵀy.
        let blocks = min(max(1, ProcessInfo.processInfo.activeProcessorCount), max(1, n * max(d, 1) * max(d, 1) / 2_000_000))
        let gramSize = d * d + d
        var sums = [Double](repeating: 0, count: blocks * (d + 1))
        var grams = [Double](repeating: 0, count: blocks * gramSize)
        var centred = [Double](repeating: 0, count: blocks * d)
        var means = [Double](repeating: 0, count: d + 1)  // the d input means, then ȳ
        for phase in 0..<2 {
            x.withUnsafeBufferPointer { xs in
                y.withUnsafeBufferPointer { ys in
                    means.withUnsafeBufferPointer { ms in
                        sums.withUnsafeMutableBufferPointer { su in
                            grams.withUnsafeMutableBufferPointer { gr in
                                centred.withUnsafeMutableBufferPointer { ce in
                                    let shared = RidgeBlocks(
                                        x: xs, y: ys, means: ms, sums: su, grams: gr, centred: ce, n: n, d: d, blocks: blocks)
                                    if blocks == 1 {
                                        shared.run(block: 0, phase: phase)
                                    } else {
                                        DispatchQueue.concurrentPerform(iterations: blocks) { b in shared.run(block: b, phase: phase) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if phase == 0 {
                for j in 0...d {
                    var total = 0.0
                    for b in 0..<blocks { total += sums[b * (d + 1) + j] }
                    means[j] = total / Double(n)
                }
            }
        }
        // A = XcᵀXc + l2·I (symmetric; built from the upper triangles), r = Xcᵀyc.
        var a = [Double](repeating: 0, count: d * d)
        var rhs = [Double](repeating: 0, count: d)
        for b in 0..<blocks {
            let base = b * gramSize
            for i in 0..<d {
                for j in i..<d { a[i * d + j] += grams[base + i * d + j] }
                rhs[i] += grams[base + d * d + i]
            }
        }
        for i in 0..<d {
            a[i * d + i] += l2
            for j in 0..<i { a[i * d + j] = a[j * d + i] }
        }
        let w = try solveCholesky(&a, rhs, d)
        var intercept = means[d]
        for j in 0..<d { intercept -= means[j] * w[j] }
        return DenseLayer(inputs: d, outputs: 1, weights: w, bias: [intercept])
    }

    /// Solves `A w = r` for a symmetric positive definite `A` (`d × d`, row-major), overwriting `A` with
    /// its Cholesky factor `L` (lower triangle, `A = L Lᵀ`).
    static func solveCholesky(_ a: inout [Double], _ r: [Double], _ d: Int) throws -> [Double] {
        for j in 0..<d {
            var diagonal = a[j * d + j]
            for k in 0..<j { diagonal -= a[j * d + k] * a[j * d + k] }
            guard diagonal > 0, diagonal.isFinite else {
                throw TrainingError("the ridge normal equations are not positive definite at input \(j + 1) (inputs too large or not finite?)")
            }
            let l = diagonal.squareRoot()
            a[j * d + j] = l
            for i in (j + 1)..<d {
                var v = a[i * d + j]
                for k in 0..<j { v -= a[i * d + k] * a[j * d + k] }
                a[i * d + j] = v / l
            }
        }
        // L z = r, then Lᵀ w = z.
        var z = r
        for i in 0..<d {
            for k in 0..<i { z[i] -= a[i * d + k] * z[k] }
            z[i] /= a[i * d + i]
        }
        for i in stride(from: d - 1, through: 0, by: -1) {
            for k in (i + 1)..<d { z[i] -= a[k * d + i] * z[k] }
            z[i] /= a[i * d + i]
        }
        return z
    }
}

/// One pass's shared inputs and per-block outputs. Each worker reads the shared buffers and writes
/// only its own block's slots, and the caller reads them after all have finished, which is what
/// makes the `@unchecked Sendable` safe.
struct RidgeBlocks: @unchecked Sendable {
    let x: UnsafeBufferPointer<Double>
    let y: UnsafeBufferPointer<Double>
    let means: UnsafeBufferPointer<Double>
    let sums: UnsafeMutableBufferPointer<Double>
    let grams: UnsafeMutableBufferPointer<Double>
    let centred: UnsafeMutableBufferPointer<Double>
    let n: Int, d: Int, blocks: Int

    func run(block b: Int, phase: Int) {
        let lower = n * b / blocks, upper = n * (b + 1) / blocks
        if phase == 0 {
            let s = sums.baseAddress! + b * (d + 1)
            for j in 0...d { s[j] = 0 }
            for r in lower..<upper {
                let row = x.baseAddress! + r * d
                for j in 0..<d { s[j] += row[j] }
                s[d] += y[r]
            }
            return
        }
        let g = grams.baseAddress! + b * (d * d + d)
        for j in 0..<(d * d + d) { g[j] = 0 }
        let xty = g + d * d
        let c = centred.baseAddress! + b * d
        let yMean = means[d]
        for r in lower..<upper {
            let row = x.baseAddress! + r * d
            for j in 0..<d { c[j] = row[j] - means[j] }
            let yc = y[r] - yMean
            for i in 0..<d {
                let ci = c[i]
                if ci == 0 { continue }
                let gi = g + i * d
                for j in i..<d { gi[j] += ci * c[j] }
                xty[i] += ci * yc
            }
        }
    }
}
