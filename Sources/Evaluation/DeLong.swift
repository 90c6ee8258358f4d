import Foundation

/// DeLong's test for two correlated ROC-AUCs on the same rows.
package struct DeLongResult: Sendable, Codable, Equatable {
    package var positives: Int
    package var negatives: Int
    package var candidateAUC: Double
    package var productionAUC: Double
    /// `candidateAUC − productionAUC`.
    package var difference: Double
    package var standardError: Double
    /// `difference / standardError`; 0 when both are 0 (identical rankings), ±∞ when only the error is 0.
    package var z: Double
    /// Two-sided p-value, `2 · (1 − Φ(|z|))`.
    package var pValue: Double
    package var level: Double
    /// `difference ∓ Φ⁻¹((1 + level) / 2) · standardError`.
    package var lower: Double
    package var upper: Double

    enum CodingKeys: String, CodingKey {
        case positives, negatives, candidateAUC = "candidate_auc", productionAUC = "production_auc", difference
        case standardError = "standard_error", z, pValue = "p_value", level, lower, upper
    }

    package init(
        positives: Int, negatives: Int, candidateAUC: Double, productionAUC: Double, difference: Double,
        standardError: Double, z: Double, pValue: Double, level: Double, lower: Double, upper: Double
    ) {
        self.positives = positives
        self.negatives = negatives
        self.candidateAUC = candidateAUC
        self.productionAUC = productionAUC
        self.difference = difference
        self.standardError = standardError
        self.z = z
        self.pValue = pValue
        self.level = level
        self.lower = lower
        self.upper = upper
    }
}

/// DeLong, DeLong & Clarke-Pearson (1988) with the fast midrank algorithm of Sun & Xu (2014).
///
/// With `m` positives and `n` negatives, a model's midranks among all rows (`tz`), among the
/// positives (`tx`) and among the negatives (`ty`) give the structural components
/// `V10ᵢ = (tzᵢ − txᵢ) / n` for each positive and `V01ⱼ = 1 − (tzⱼ − tyⱼ) / m` for each negative;
/// the AUC is their mean, equal to the trapezoid AUC of ``BinaryMetrics/rocAUC(labels:scores:)``
/// (ties count one half). The variance of the difference is
/// `Var(V10ᶜ − V10ᵖ) / m + Var(V01ᶜ − V01ᵖ) / n` (sample variances), which is `l Σ lᵀ` of the
/// original with `l = (1, −1)`. O(n log n).
package enum DeLong {
    /// DeLong's test of `AUC(candidate) − AUC(production)`; `nil` unless both classes have at least
    /// two rows (the covariances need two of each).
    package static func test(labels: [Bool], candidate: [Double], production: [Double], level: Double = 0.95) -> DeLongResult? {
        precondition(labels.count == candidate.count && labels.count == production.count, "one score per label for both models")
        precondition(level > 0 && level < 1, "level in (0, 1)")
        // Ranks are undefined with a missing (NaN) score.
        if candidate.contains(where: \.isNaN) || production.contains(where: \.isNaN) { return nil }
        let positiveRows = labels.indices.filter { labels[$0] }
        let negativeRows = labels.indices.filter { !labels[$0] }
        let m = positiveRows.count, n = negativeRows.count
        guard m >= 2, n >= 2 else { return nil }

        func components(_ scores: [Double]) -> (auc: Double, v10: [Double], v01: [Double]) {
            let tz = midranks(scores)
            let tx = midranks(positiveRows.map { scores[$0] })
            let ty = midranks(negativeRows.map { scores[$0] })
            var sumPositiveRanks = 0.0
            var v10 = [Double](repeating: 0, count: m)
            for (i, row) in positiveRows.enumerated() {
                sumPositiveRanks += tz[row]
                v10[i] = (tz[row] - tx[i]) / Double(n)
            }
            var v01 = [Double](repeating: 0, count: n)
            for (j, row) in negativeRows.enumerated() {
                v01[j] = 1 - (tz[row] - ty[j]) / Double(m)
            }
            let auc = sumPositiveRanks / Double(m) / Double(n) - (Double(m) + 1) / 2 / Double(n)
            return (auc, v10, v01)
        }
        let c = components(candidate)
        let p = components(production)
        let variance = sampleVariance(zip(c.v10, p.v10).map { $0 - $1 }) / Double(m)
            + sampleVariance(zip(c.v01, p.v01).map { $0 - $1 }) / Double(n)
        let se = variance.squareRoot()
        let difference = c.auc - p.auc
        let z: Double
        let pValue: Double
        if se == 0 {
            z = difference == 0 ? 0 : (difference > 0 ? .infinity : -.infinity)
            pValue = difference == 0 ? 1 : 0
        } else {
            z = difference / se
            pValue = erfc(abs(z) / 2.0.squareRoot())
        }
        let q = normalQuantile(0.5 + level / 2)
        return DeLongResult(
            positives: m, negatives: n, candidateAUC: c.auc, productionAUC: p.auc, difference: difference,
            standardError: se, z: z, pValue: pValue, level: level,
            lower: difference - q * se, upper: difference + q * se)
    }

    /// 1-based midranks: tied values share the mean of the ranks they occupy.
    static func midranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var ranks = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i
            while j < order.count, x[order[j]] == x[order[i]] { j += 1 }
            let rank = 0.5 * Double(i + j - 1) + 1
            for k in i..<j { ranks[order[k]] = rank }
            i = j
        }
        return ranks
    }

    /// Sample variance (denominator `count − 1`), centred on the mean.
    static func sampleVariance(_ x: [Double]) -> Double {
        let mean = x.reduce(0, +) / Double(x.count)
        return x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count - 1)
    }

    /// Φ⁻¹(p): Acklam's rational approximation refined by one Halley step on `erfc`, accurate to a
    /// few ulps for p in (0, 1).
    static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1)
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        // Halley refinement: e = Φ(x) − p.
        for _ in 0..<2 {
            let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
            let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
            x = x - u / (1 + x * u / 2)
        }
        return x
    }
}
