import Foundation

/// Regression metrics, as scikit-learn defines them.
///
/// - `rmse`: `root_mean_squared_error`; `mae`: `mean_absolute_error`.
/// - `r2`: `r2_score` with `force_finite=True`: 1 − SSres/SStot, where SStot uses the target's
///   mean computed exactly as numpy does (pairwise summation), because the constant-target rule
///   tests SStot == 0 exactly: a perfect fit (SSres == 0) scores 1.0, otherwise a zero SStot scores
///   0.0. A target that is constant but whose float mean is not exactly its value (e.g. three
///   0.1s, mean 0.10000000000000002) has a tiny non-zero SStot, and scikit-learn then returns a
///   huge negative R² — reproduced here. `nil` with fewer than two rows (scikit-learn: NaN).
/// - `mape`: `mean_absolute_percentage_error`: mean of |ŷ − y| / max(|y|, ε), ε = 2.22e-16, so a
///   zero target with a non-zero error contributes about 4.5e15 × the error. A fraction, not a
///   percentage.
/// All are `nil` on zero rows (scikit-learn raises).
package struct RegressionMetrics: Sendable, Equatable, Codable {
    package var rows: Int
    package var rmse: Double?
    package var mae: Double?
    package var r2: Double?
    package var mape: Double?

    package init(targets: [Double], predictions: [Double]) {
        precondition(targets.count == predictions.count, "one prediction per target")
        let n = targets.count
        rows = n
        guard n > 0 else { return }
        var squares = [Double](repeating: 0, count: n)
        var absolute = [Double](repeating: 0, count: n)
        var percentage = [Double](repeating: 0, count: n)
        let eps = Double.ulpOfOne
        for i in 0..<n {
            let e = targets[i] - predictions[i]
            squares[i] = e * e
            absolute[i] = abs(e)
            percentage[i] = abs(predictions[i] - targets[i]) / Swift.max(abs(targets[i]), eps)
        }
        let mse = Summation.numpyMean(squares)
        rmse = mse.squareRoot()
        mae = Summation.numpyMean(absolute)
        mape = Summation.numpyMean(percentage)
        if n >= 2 {
            let mean = Summation.numpyMean(targets)
            let numerator = squares.withUnsafeBufferPointer { Summation.numpyPairwise($0) }
            for i in 0..<n {
                let d = targets[i] - mean
                squares[i] = d * d
            }
            let denominator = squares.withUnsafeBufferPointer { Summation.numpyPairwise($0) }
            if numerator == 0 {
                r2 = 1
            } else if denominator == 0 {
                r2 = 0
            } else {
                r2 = 1 - numerator / denominator
            }
        }
    }
}
