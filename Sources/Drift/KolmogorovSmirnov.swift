import Foundation

// Two-sample Kolmogorov–Smirnov test, ported from SciPy 1.17 so that results agree with
// `scipy.stats.ks_2samp(a, b)` (two-sided, method="auto") and `scipy.stats.kstwo.sf(d, n)`.
//
// Sources followed (operation by operation, so results agree to the last bit or two):
//   * `ks_2samp`, `_attempt_exact_2kssamp`, `_compute_prob_outside_square` (scipy/stats/_stats_py.py)
//   * `_compute_outer_prob_inside_method` (scipy/stats/_stats_pythran.py)
//   * `kstwo` → `_kolmogn` with `_kolmogn_DMTW`, `_kolmogn_Pomeranz`, `_kolmogn_PelzGood`
//     (scipy/stats/_ksstats.py)
//   * `scipy.special.smirnov` → `xsf::cephes::detail::_smirnov` (xsf/cephes/kolmogorov.h), which works
//     in double-double arithmetic (xsf/cephes/dd_real.h, from the QD package).
//
// Everything except the public API below is `private` so it cannot clash with other files of `Drift`.

/// What `scipy.stats.ks_2samp(a, b)` (two-sided, method="auto") returns.
///
/// `exact` is true when the p-value came from the exact null distribution; false when SciPy would use
/// the asymptotic one (`max(n1, n2) > 10000`, or the exact computation failed and SciPy fell back).
package struct KSResult: Sendable, Equatable, Codable {
    /// The KS statistic D = sup |F_a − F_b|. In exact mode SciPy returns it snapped to the lattice,
    /// `round(D · lcm(n1, n2)) / lcm(n1, n2)`, and so does this.
    package var statistic: Double
    /// Two-sided p-value, clipped to [0, 1].
    package var pValue: Double
    /// Whether the exact distribution was used.
    package var exact: Bool

    package init(statistic: Double, pValue: Double, exact: Bool) {
        self.statistic = statistic
        self.pValue = pValue
        self.exact = exact
    }
}

/// Two-sided two-sample Kolmogorov–Smirnov test, agreeing with `scipy.stats.ks_2samp(a, b)`.
///
/// `a` and `b` must be sorted ascending, contain no NaN, and be non-empty (checked: non-empty only).
/// The statistic is computed in one merge pass (no allocation): at every distinct value v of the
/// union, F_a(v) = #{a ≤ v} / n1 and F_b(v) = #{b ≤ v} / n2, exactly as SciPy's
/// `searchsorted(side="right")` does, so ties are handled identically.
///
/// p-value: exact when `max(n1, n2) <= 10000` (falling back to the asymptotic distribution when the
/// exact computation returns a value outside [0, 1], as SciPy does), otherwise
/// `kolmogorovSF(D, round(n1·n2 / (n1 + n2)))`.
///
/// ```swift
/// ksTwoSample(sortedA: [1, 2, 3], sortedB: [4, 5])  // statistic 1, pValue 0.2, exact true
/// ```
package func ksTwoSample(sortedA a: UnsafeBufferPointer<Double>, sortedB b: UnsafeBufferPointer<Double>) -> KSResult {
    let n1 = a.count
    let n2 = b.count
    precondition(n1 > 0 && n2 > 0, "ksTwoSample: both samples must be non-empty")

    // cddiffs = cdf1 - cdf2 evaluated at every data point; only distinct values matter.
    let fn1 = Double(n1)
    let fn2 = Double(n2)
    var i = 0
    var j = 0
    var maxDiff = -Double.infinity
    var minDiff = Double.infinity
    while i < n1 || j < n2 {
        let v: Double
        if j >= n2 || (i < n1 && a[i] <= b[j]) { v = a[i] } else { v = b[j] }
        while i < n1 && a[i] <= v { i += 1 }
        while j < n2 && b[j] <= v { j += 1 }
        let diff = Double(i) / fn1 - Double(j) / fn2
        if diff > maxDiff { maxDiff = diff }
        if diff < minDiff { minDiff = diff }
    }
    let minS = KSNumerics.clip(-minDiff)
    let maxS = maxDiff
    var d = minS > maxS ? minS : maxS

    // method="auto": exact if max(n1, n2) <= MAX_AUTO_N.
    if max(n1, n2) <= 10_000 {
        let g = KSNumerics.gcd(n1, n2)
        let attempt = KSNumerics.attemptExact(n1: n1, n2: n2, g: g, d: d)
        d = attempt.d  // SciPy keeps the lattice-snapped d even when it falls back
        if let p = attempt.prob {
            return KSResult(statistic: d, pValue: KSNumerics.clip(p), exact: true)
        }
    }
    // Asymptotic: kstwo.sf(d, round(m*n/(m+n))) with m >= n.
    let m = Double(max(n1, n2))
    let n = Double(min(n1, n2))
    let en = m * n / (m + n)
    let p = kolmogorovSF(d, n: Int(en.rounded(.toNearestOrEven)))
    return KSResult(statistic: d, pValue: KSNumerics.clip(p), exact: false)
}

/// Convenience overload of `ksTwoSample(sortedA:sortedB:)` for arrays (sorted ascending, no NaN, non-empty).
package func ksTwoSample(sortedA a: [Double], sortedB b: [Double]) -> KSResult {
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in ksTwoSample(sortedA: pa, sortedB: pb) }
    }
}

/// `scipy.stats.kstwo.sf(d, n)`: survival function P(D_n > d) of the exact one-sample two-sided
/// Kolmogorov statistic for sample size n (Simard & L'Ecuyer's choice of methods, as in SciPy).
///
/// Returns 1 for `d <= 0.5/n`, 0 for `d >= 1`, NaN for NaN `d` or `n < 1`.
package func kolmogorovSF(_ d: Double, n: Int) -> Double {
    if n < 1 || d.isNaN { return .nan }
    // rv_continuous.sf: support is (0.5/n, 1).
    if d <= 0.5 / Double(n) { return 1.0 }
    if d >= 1.0 { return 0.0 }
    return KSNumerics.kolmogn(n, d, cdf: false)
}

// MARK: - Implementation

private enum KSNumerics {
    static func clip(_ p: Double) -> Double {
        if p.isNaN { return p }
        return p < 0 ? 0 : (p > 1 ? 1 : p)
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return x
    }

    // MARK: Exact two-sample distribution

    /// `_attempt_exact_2kssamp` for the two-sided alternative. `prob == nil` means "unsuccessful".
    static func attemptExact(n1: Int, n2: Int, g: Int, d: Double) -> (d: Double, prob: Double?) {
        let lcm = (n1 / g) * n2
        let h = Int((d * Double(lcm)).rounded(.toNearestOrEven))
        let dSnapped = Double(h) * 1.0 / Double(lcm)
        if h == 0 { return (dSnapped, 1.0) }
        let prob: Double
        if n1 == n2 {
            prob = probOutsideSquare(n: n1, h: h)
        } else {
            prob = outerProbInside(m: n1, n: n2, g: g, h: h)
        }
        // `if not (0 <= prob <= 1): return False, d, prob` — e.g. n1 == n2 with h == 1 can give
        // 1.0000000000000002, and SciPy then switches to the asymptotic p-value.
        if !(0 <= prob && prob <= 1) { return (dSnapped, nil) }
        return (dSnapped, prob)
    }

    /// `_compute_prob_outside_square(n, h)`: Pr(D_{n,n} >= h/n).
    static func probOutsideSquare(n: Int, h: Int) -> Double {
        var P = 0.0
        var k = Int((Double(n) / Double(h)).rounded(.down))
        while k >= 0 {
            var p1 = 1.0
            for j in 0..<h {
                p1 = Double(n - k * h - j) * p1 / Double(n + k * h + j + 1)
            }
            P = p1 * (1.0 - P)
            k -= 1
        }
        return 2 * P
    }

    /// `_compute_outer_prob_inside_method(m, n, g, h)` (Hodges' inside method, Viehmann's recursion
    /// for 1 - p): the proportion of lattice paths that leave |x/m - y/n| < h/lcm(m, n).
    static func outerProbInside(m mIn: Int, n nIn: Int, g: Int, h: Int) -> Double {
        let (m, n) = mIn < nIn ? (nIn, mIn) : (mIn, nIn)
        let mg = m / g
        let ng = n / g
        var minj = 0
        var maxj = min(Int((Double(h) / Double(mg)).rounded(.up)), n + 1)
        var curlen = maxj - minj
        let lenA = min(2 * maxj + 2, n + 1)
        var A = [Double](repeating: 1.0, count: lenA)
        return A.withUnsafeMutableBufferPointer { A -> Double in
            for idx in minj..<maxj { A[idx] = 0.0 }
            if m >= 1 {
                for i in 1...m {
                    let lastminj = minj
                    let lastlen = curlen
                    minj = max(Int((Double(ng * i - h) / Double(mg)).rounded(.down)) + 1, 0)
                    minj = min(minj, n)
                    maxj = min(Int((Double(ng * i + h) / Double(mg)).rounded(.up)), n + 1)
                    if maxj <= minj { return 1.0 }
                    var val = minj == 0 ? 0.0 : 1.0
                    let fi = Double(i)
                    for jj in 0..<(maxj - minj) {
                        let j = jj + minj
                        val = (A[jj + minj - lastminj] * fi + val * Double(j)) / (fi + Double(j))
                        A[jj] = val
                    }
                    curlen = maxj - minj
                    if lastlen > curlen {
                        let lo = maxj - minj
                        let hi = min(lo + (lastlen - curlen), A.count)
                        if lo < hi { for idx in lo..<hi { A[idx] = 1 } }
                    }
                }
            }
            return A[maxj - minj - 1]
        }
    }

    // MARK: kstwo (_ksstats.py)

    static let sqrt2Pi = (2 * Double.pi).squareRoot()
    static let log2Pi = Foundation.log(2 * Double.pi)
    static let sqrt3 = Double(3).squareRoot()
    static let piSquared = Foundation.pow(Double.pi, 2)
    static let piFour = Foundation.pow(Double.pi, 4)
    static let piSix = Foundation.pow(Double.pi, 6)
    static let ep128 = 0x1p128
    static let em128 = 0x1p-128
    static let stirlingCoeffs: [Double] = [
        -2.955065359477124183e-2, 6.4102564102564102564e-3,
        -1.9175269175269175269e-3, 8.4175084175084175084e-4,
        -5.952380952380952381e-4, 7.9365079365079365079e-4,
        -2.7777777777777777778e-3, 8.3333333333333333333e-2,
    ]

    /// log(n! / n^n) by Stirling, with n log n removed analytically.
    static func logNFactorialDivNPowN(_ n: Int) -> Double {
        let fn = Double(n)
        let rn = 1.0 / fn
        let x = rn / fn
        var poly = 0.0
        for c in stirlingCoeffs { poly = poly * x + c }
        return Foundation.log(fn) / 2 - fn + log2Pi / 2 + rn * poly
    }

    /// `_select_and_clip_prob`: the CDF or the SF, clipped to [0, 1].
    static func select(_ cdfProb: Double, _ sfProb: Double, cdf: Bool) -> Double {
        clip(cdf ? cdfProb : sfProb)
    }

    /// `_kolmogn(n, x, cdf)`.
    static func kolmogn(_ n: Int, _ x: Double, cdf: Bool) -> Double {
        if n <= 0 { return .nan }
        if x >= 1.0 { return select(1.0, 0.0, cdf: cdf) }
        if x <= 0.0 { return select(0.0, 1.0, cdf: cdf) }
        let fn = Double(n)
        let t = fn * x
        if t <= 1.0 {  // Ruben-Gambino: 1/2n <= x <= 1/n
            if t <= 0.5 { return select(0.0, 1.0, cdf: cdf) }
            var prob: Double
            if n <= 140 {
                let inv = 1.0 / fn
                let c = 2 * t - 1
                prob = 1.0
                for i in 1...n { prob *= (Double(i) * inv) * c }
            } else {
                prob = Foundation.exp(logNFactorialDivNPowN(n) + fn * Foundation.log(2 * t - 1))
            }
            return select(prob, 1.0 - prob, cdf: cdf)
        }
        if t >= fn - 1 {  // Ruben-Gambino
            let prob = 2 * Foundation.pow(1.0 - x, fn)
            return select(1 - prob, prob, cdf: cdf)
        }
        if x >= 0.5 {  // Exact: 2 * smirnov
            let prob = 2 * Smirnov.sf(n, x)
            return select(1.0 - prob, prob, cdf: cdf)
        }
        let nxsquared = t * x
        if n <= 140 {
            if nxsquared <= 0.754693 {
                let prob = durbinMTW(n, x)
                return select(prob, 1.0 - prob, cdf: cdf)
            }
            if nxsquared <= 4 {
                let prob = pomeranz(n, x)
                return select(prob, 1.0 - prob, cdf: cdf)
            }
            let prob = 2 * Smirnov.sf(n, x)
            return select(1.0 - prob, prob, cdf: cdf)
        }
        // Split CDF and SF as they have different cutoffs on nxsquared.
        if !cdf {
            if nxsquared >= 370.0 { return 0.0 }
            if nxsquared >= 2.2 { return clip(2 * Smirnov.sf(n, x)) }
        }
        let cdfProb: Double
        if nxsquared >= 18.0 {
            cdfProb = 1.0
        } else if n <= 100_000 && fn * Foundation.pow(x, 1.5) <= 1.4 {
            cdfProb = durbinMTW(n, x)
        } else {
            cdfProb = pelzGood(n, x)
        }
        return select(cdfProb, 1.0 - cdfProb, cdf: cdf)
    }

    /// Row-major square matrix product.
    static func matmul(_ a: [Double], _ b: [Double], _ m: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * m)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    for i in 0..<m {
                        for k in 0..<m {
                            let aik = a[i * m + k]
                            if aik == 0 { continue }
                            for j in 0..<m { c[i * m + j] += aik * b[k * m + j] }
                        }
                    }
                }
            }
        }
        return c
    }

    /// `_kolmogn_DMTW`: Pr(D_n <= d) by Durbin's matrix algorithm (Marsaglia–Tsang–Wang).
    static func durbinMTW(_ n: Int, _ d: Double) -> Double {
        if d >= 1.0 { return 1.0 }
        let nd = Double(n) * d
        if nd <= 0.5 { return 0.0 }
        let k = Int(nd.rounded(.up))
        let h = Double(k) - nd
        let m = 2 * k - 1

        var v = [Double](repeating: 0, count: m)
        var w = [Double](repeating: 0, count: m)
        for j in 1...m { v[j - 1] = 1.0 - Foundation.pow(h, Double(j)) }
        var fac = 1.0
        for j in 1...m {
            w[j - 1] = fac
            fac /= Double(j)
            v[j - 1] *= fac
        }
        let tt = Foundation.pow(max(2 * h - 1.0, 0), Double(m)) - 2 * Foundation.pow(h, Double(m))
        v[m - 1] = (1.0 + tt) * fac

        var H = [Double](repeating: 0, count: m * m)
        if m > 1 {
            for i in 1..<m {
                for r in (i - 1)..<m { H[r * m + i] = w[r - (i - 1)] }
            }
        }
        for r in 0..<m { H[r * m] = v[r] }
        for c in 0..<m { H[(m - 1) * m + c] = v[m - 1 - c] }

        var Hpwr = [Double](repeating: 0, count: m * m)
        for i in 0..<m { Hpwr[i * m + i] = 1 }
        var nn = n
        var expnt = 0
        var Hexpnt = 0
        let kk = (k - 1) * m + (k - 1)
        while nn > 0 {
            if nn % 2 != 0 {
                Hpwr = matmul(Hpwr, H, m)
                expnt += Hexpnt
            }
            H = matmul(H, H, m)
            Hexpnt *= 2
            if abs(H[kk]) > ep128 {
                for idx in H.indices { H[idx] /= ep128 }
                Hexpnt += 128
            }
            nn /= 2
        }
        var p = Hpwr[kk]
        let fn = Double(n)
        for i in 1...n {
            p = Double(i) * p / fn
            if abs(p) < em128 {
                p *= ep128
                expnt -= 128
            }
        }
        if expnt != 0 { p = Double(sign: .plus, exponent: expnt, significand: p) }
        return clip(p)
    }

    /// `_pomeranz_compute_j1j2`.
    static func pomeranzJ1J2(_ i: Int, _ n: Int, _ ll: Int, _ ceilf: Int, _ roundf: Int) -> (Int, Int) {
        var j1: Int
        var j2: Int
        if i == 0 {
            j1 = -ll - ceilf - 1
            j2 = ll + ceilf - 1
        } else {
            let ip1div2 = (i + 1) / 2
            let ip1mod2 = (i + 1) % 2
            if ip1mod2 == 0 {  // i is odd
                if ip1div2 == n + 1 {
                    j1 = n - ll - ceilf - 1
                    j2 = n + ll + ceilf - 1
                } else {
                    j1 = ip1div2 - 1 - ll - roundf - 1
                    j2 = ip1div2 + ll - 1 + ceilf - 1
                }
            } else {
                j1 = ip1div2 - 1 - ll - 1
                j2 = ip1div2 + ll + roundf - 1
            }
        }
        return (max(j1 + 2, 0), min(j2, n))
    }

    /// `_kolmogn_Pomeranz`: Pr(D_n <= x) by Pomeranz's recursion.
    static func pomeranz(_ n: Int, _ x: Double) -> Double {
        let fn = Double(n)
        let t = fn * x
        let ll = Int(t.rounded(.down))
        let f = 1.0 * (t - Double(ll))
        let g = min(f, 1.0 - f)
        let ceilf = f > 0 ? 1 : 0
        let roundf = f > 0.5 ? 1 : 0
        let npwrs = 2 * (ll + 1)
        var gpower = [Double](repeating: 0, count: npwrs)
        var twogpower = [Double](repeating: 0, count: npwrs)
        var onem2gpower = [Double](repeating: 0, count: npwrs)
        gpower[0] = 1.0
        twogpower[0] = 1.0
        onem2gpower[0] = 1.0
        var expnt = 0
        let gOverN = g / fn
        let twoGOverN = 2 * g / fn
        let oneMinusTwoGOverN = (1 - 2 * g) / fn
        if npwrs > 1 {
            for m in 1..<npwrs {
                gpower[m] = gpower[m - 1] * gOverN / Double(m)
                twogpower[m] = twogpower[m - 1] * twoGOverN / Double(m)
                onem2gpower[m] = onem2gpower[m - 1] * oneMinusTwoGOverN / Double(m)
            }
        }
        var V0 = [Double](repeating: 0, count: npwrs)
        var V1 = [Double](repeating: 0, count: npwrs)
        V1[0] = 1
        var V0s = 0
        var V1s = 0
        var (j1, j2) = pomeranzJ1J2(0, n, ll, ceilf, roundf)
        for i in 1..<(2 * n + 2) {
            let k1 = j1
            swap(&V0, &V1)
            swap(&V0s, &V1s)
            for idx in V1.indices { V1[idx] = 0 }
            (j1, j2) = pomeranzJ1J2(i, n, ll, ceilf, roundf)
            let pwrs = (i == 1 || i == 2 * n + 1) ? gpower : (i % 2 != 0 ? twogpower : onem2gpower)
            let ln2 = j2 - k1 + 1
            if ln2 > 0 {
                // conv = np.convolve(V0[k1 - V0s : k1 - V0s + ln2], pwrs[:ln2]) (full mode)
                let aStart = max(k1 - V0s, 0)
                let aLen = max(min(k1 - V0s + ln2, npwrs) - aStart, 0)
                let pLen = min(ln2, npwrs)
                let convStart = j1 - k1
                let convLen = j2 - j1 + 1
                let fullLen = aLen + pLen - 1
                if convLen > 0 {
                    for out in 0..<convLen {
                        let kConv = convStart + out
                        if kConv < 0 || kConv >= fullLen { continue }
                        var s = 0.0
                        let lo = max(0, kConv - pLen + 1)
                        let hi = min(kConv, aLen - 1)
                        if lo <= hi {
                            for ia in lo...hi { s += V0[aStart + ia] * pwrs[kConv - ia] }
                        }
                        V1[out] = s
                    }
                }
                // Scale to avoid underflow.
                let vmax = V1.max() ?? 0
                if 0 < vmax && vmax < em128 {
                    for idx in V1.indices { V1[idx] *= ep128 }
                    expnt -= 128
                }
                V1s = V0s + j1 - k1
            }
        }
        // multiply by n!
        var ans = V1[n - V1s]
        for m in 1...n {
            if abs(ans) > ep128 {
                ans *= em128
                expnt += 128
            }
            ans *= Double(m)
        }
        if expnt != 0 { ans = Double(sign: .plus, exponent: expnt, significand: ans) }
        return clip(ans)
    }

    /// NumPy's `np.sum` of a short contiguous float64 array (pairwise summation, 8 accumulators).
    static func numpySum(_ a: [Double]) -> Double {
        let n = a.count
        if n < 8 {
            var res = -0.0
            for x in a { res += x }
            return res
        }
        precondition(n <= 128, "only short sums are needed")
        var r = Array(a[0..<8])
        var i = 8
        while i < n - (n % 8) {
            for q in 0..<8 { r[q] += a[i + q] }
            i += 8
        }
        var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n {
            res += a[i]
            i += 1
        }
        return -0.0 + res
    }

    /// `_kolmogn_PelzGood`: Pelz–Good approximation to Pr(D_n <= x).
    static func pelzGood(_ n: Int, _ x: Double) -> Double {
        if x <= 0.0 { return 0.0 }
        if x >= 1.0 { return 1.0 }
        let fn = Double(n)
        let z = fn.squareRoot() * x
        let zsquared = Foundation.pow(z, 2)
        let zthree = Foundation.pow(z, 3)
        let zfour = Foundation.pow(z, 4)
        let zsix = Foundation.pow(z, 6)

        let qlog = -piSquared / 8 / zsquared
        if qlog < -708 { return 0.0 }
        var q = Foundation.exp(qlog)

        let k1a = -zsquared
        let k1b = piSquared / 4

        let k2a = 6 * zsix + 2 * zfour
        let k2b = (2 * zfour - 5 * zsquared) * piSquared / 4
        let k2c = piFour * (1 - 2 * zsquared) / 16

        let k3d = piSix * (5 - 30 * zsquared) / 64
        let k3c = piFour * (-60 * zsquared + 212 * zfour) / 16
        let k3b = piSquared * (135 * zfour - 96 * zsix) / 4
        let k3a = -30 * zsix - 90 * Foundation.pow(z, 8)

        var K: [Double] = [0, 0, 0, 0]
        let maxk = Int((16 * z / Double.pi).rounded(.up))
        var k = maxk
        while k >= 1 {
            let m = Double(2 * k - 1)
            let msquared = m * m  // exact: small integers
            let mfour = msquared * msquared
            let msix = mfour * msquared
            let qpower = Foundation.pow(q, Double(8 * k))
            let coeffs: [Double] = [
                1.0,
                k1a + k1b * msquared,
                k2a + k2b * msquared + k2c * mfour,
                k3a + k3b * msquared + k3c * mfour + k3d * msix,
            ]
            for idx in 0..<4 {
                K[idx] *= qpower
                K[idx] += coeffs[idx]
            }
            k -= 1
        }
        for idx in 0..<4 { K[idx] *= q }
        for idx in 0..<4 { K[idx] *= sqrt2Pi }
        let divisors = [z, 6 * zfour, 72 * Foundation.pow(z, 7), 6480 * Foundation.pow(z, 10)]
        for idx in 0..<4 { K[idx] /= divisors[idx] }

        // The other sum, over all integers k (descending, as np.arange(maxk, 0, -1)).
        q = Foundation.exp(-piSquared / 2 / zsquared)
        let sqrt3z = sqrt3 * z
        var terms2: [Double] = []
        var terms3: [Double] = []
        if maxk >= 1 {
            for kk in stride(from: maxk, through: 1, by: -1) {
                let ksq = Double(kk * kk)
                let kspi = Double.pi * Double(kk)
                let qp = Foundation.pow(q, ksq)
                terms2.append(ksq * qp)
                terms3.append((sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp)
            }
        }
        var k2extra = numpySum(terms2)
        k2extra *= piSquared * sqrt2Pi / (-36 * zthree)
        K[2] += k2extra
        var k3extra = numpySum(terms3)
        k3extra *= piSquared * sqrt2Pi / (216 * zsix)
        K[3] += k3extra
        for idx in 0..<4 { K[idx] /= Foundation.pow(fn * 1.0, Double(idx) / 2.0) }
        return 0 + K[0] + K[1] + K[2] + K[3]
    }
}

// MARK: - scipy.special.smirnov (xsf cephes, double-double)

/// Double-double number (hi + lo), the subset of QD's `dd_real` that `_smirnov` uses.
private struct DD {
    var hi: Double
    var lo: Double

    init(_ hi: Double, _ lo: Double = 0.0) {
        self.hi = hi
        self.lo = lo
    }

    var isZero: Bool { hi == 0 && lo == 0 }

    /// |a| >= |b| assumed.
    static func quickTwoSum(_ a: Double, _ b: Double) -> (Double, Double) {
        let s = a + b
        return (s, b - (s - a))
    }

    static func twoSum(_ a: Double, _ b: Double) -> (Double, Double) {
        let s = a + b
        let c = s - a
        let d = b - c
        let e = s - c
        return (s, (a - e) + d)
    }

    static func twoProd(_ a: Double, _ b: Double) -> (Double, Double) {
        let p = a * b
        return (p, (-p).addingProduct(a, b))
    }

    static prefix func - (x: DD) -> DD { DD(-x.hi, -x.lo) }

    static func + (l: DD, r: DD) -> DD {
        var (s1, s2) = twoSum(l.hi, r.hi)
        let (t1, t2) = twoSum(l.lo, r.lo)
        s2 += t1
        (s1, s2) = quickTwoSum(s1, s2)
        s2 += t2
        (s1, s2) = quickTwoSum(s1, s2)
        return DD(s1, s2)
    }

    static func + (l: DD, r: Double) -> DD {
        var (s1, s2) = twoSum(l.hi, r)
        s2 += l.lo
        (s1, s2) = quickTwoSum(s1, s2)
        return DD(s1, s2)
    }

    static func - (l: DD, r: DD) -> DD { l + (-r) }

    static func - (l: DD, r: Double) -> DD {
        var (s1, s2) = twoSum(l.hi, -r)
        s2 += l.lo
        (s1, s2) = quickTwoSum(s1, s2)
        return DD(s1, s2)
    }

    static func - (l: Double, r: DD) -> DD {
        var (s1, s2) = twoSum(l, -r.hi)
        s2 -= r.lo
        (s1, s2) = quickTwoSum(s1, s2)
        return DD(s1, s2)
    }

    static func * (l: DD, r: DD) -> DD {
        var (p1, p2) = twoProd(l.hi, r.hi)
        p2 += (l.hi * r.lo + l.lo * r.hi)
        (p1, p2) = quickTwoSum(p1, p2)
        return DD(p1, p2)
    }

    static func * (l: DD, r: Double) -> DD {
        let (p1, e1) = twoProd(l.hi, r)
        let (p2, e2) = twoProd(l.lo, r)
        let (s, e) = quickTwoSum(p1, e2 + p2 + e1)
        return DD(s, e)
    }

    static func * (l: Double, r: DD) -> DD {
        let (p1, e1) = twoProd(l, r.hi)
        let (p2, e2) = twoProd(l, r.lo)
        let (s, e) = quickTwoSum(p1, e2 + p2 + e1)
        return DD(s, e)
    }

    static func / (l: DD, r: DD) -> DD {
        var q1 = l.hi / r.hi
        var rem = l - r * q1
        var q2 = rem.hi / r.hi
        rem = rem - r * q2
        let q3 = rem.hi / r.hi
        (q1, q2) = quickTwoSum(q1, q2)
        return DD(q1, q2) + q3
    }

    static func / (l: DD, r: Double) -> DD { l / DD(r) }
    static func / (l: Double, r: DD) -> DD { DD(l) / r }

    func floored() -> DD {
        var h = hi.rounded(.down)
        var l = 0.0
        if h == hi {
            l = lo.rounded(.down)
            (h, l) = DD.quickTwoSum(h, l)
        }
        return DD(h, l)
    }

    func ldexp(_ e: Int) -> DD { DD(ldexpD(hi, e), ldexpD(lo, e)) }

    /// (b, e) with 0.5 <= |b.hi| < 1 (or |b.hi| == 1 with b.hi*b.lo < 0) and self = b * 2^e.
    func frexp() -> (DD, Int) {
        var (man, e) = frexpD(hi)
        var b1 = ldexpD(lo, -e)
        if abs(man) == 0.5 && man * b1 < 0 {
            man *= 2
            b1 *= 2
            e -= 1
        }
        return (DD(man, b1), e)
    }
}

/// C `ldexp`.
private func ldexpD(_ x: Double, _ e: Int) -> Double {
    if x == 0 || !x.isFinite { return x }
    return Double(sign: .plus, exponent: e, significand: x)
}

/// C `frexp`: x = m * 2^e with 0.5 <= |m| < 1 (m = x, e = 0 for 0, inf, nan).
private func frexpD(_ x: Double) -> (Double, Int) {
    if x == 0 || !x.isFinite { return (x, 0) }
    let e = Int(x.exponent) + 1
    return (Double(sign: x.sign, exponent: -1, significand: x.significand), e)
}

private enum Smirnov {
    static let minLog = -7.451332191019412076235245305675398106812E2  // log(2**-1075)
    static let maxComputeN = 1_000_000
    static let upperMaxTerms = 3
    static let upperSumMinN = 10
    static let maxExponent = 960
    static let ln2 = 0.693147180559945309417232121458176568  // M_LN2

    static func powD(_ a: DD, _ m: Int) -> DD {
        if m <= 0 {
            if m == 0 { return DD(1.0) }
            return 1.0 / powD(a, -m)
        }
        if a.isZero { return DD(0.0) }
        let ans = Foundation.pow(a.hi, Double(m))
        let r = a.lo / a.hi
        var adj = Double(m) * r
        if abs(adj) > 1e-8 {
            if abs(adj) < 1e-4 {
                // First two terms of the Taylor series for (1+r)^m.
                adj += (Double(m) * r) * (Double(m - 1) / 2.0 * r)
            } else {
                adj = Foundation.expm1(Double(m) * Foundation.log1p(r))
            }
        }
        return DD(ans) + ans * adj
    }

    static func pow2(_ a: Double, _ b: Double, _ m: Int) -> Double {
        powD(DD(a) + b, m).hi
    }

    static func nextPowerOf2(_ x: Double) -> Double {
        let q = ldexpD(x, 1 - Double.significandBitCount - 1)
        var L = abs(q + x)
        if L == 0 {
            L = abs(x)
        } else if L < 2_147_483_648, L > -2_147_483_649 {
            let Lint = Double(Int32(L))
            if Lint == L { L = Lint }
        }
        return L
    }

    /// a^m = significand * 2^exponent.
    static func pow2ScaledD(_ a: DD, _ m: Int) -> (DD, Int) {
        if m <= 0 {
            if m == 0 { return (DD(1.0), 0) }
            let (ans0, aE1) = pow2ScaledD(a, -m)
            let (ans, aE2) = (1.0 / ans0).frexp()
            return (ans, -aE1 + aE2)
        }
        let (y, yE) = a.frexp()
        if m == 1 { return (y, yE) }
        var maxExpt = maxExponent
        if Double(m) * (y.hi - 1) / y.hi < -Double(maxExponent) * ln2 {
            // Now do it carefully, calling log().
            let lg2y = Foundation.log(y.hi) / ln2
            let lgAns = Double(m) * lg2y
            if lgAns <= -Double(maxExponent) {
                maxExpt = Int(nextPowerOf2(-Double(maxExponent) / lg2y + 1) / 2)
            }
        }
        if m <= maxExpt {
            let ans1 = powD(y, m)
            var (ans, ansE) = ans1.frexp()
            ansE += m * yE
            return (ans, ansE)
        }
        let q = m / maxExpt
        let r = m % maxExpt
        // y^m = (y^maxExpt)^q * y^r
        let (y2r, y2rE) = pow2ScaledD(y, r)
        let (y2m, y2mE) = pow2ScaledD(y, maxExpt)
        var (y2mq, y2mqE) = pow2ScaledD(y2m, q)
        var (ans, ansE) = (y2r * y2mq).frexp()
        y2mqE += y2mE * q
        ansE += y2mqE + y2rE
        ansE += m * yE
        return (ans, ansE)
    }

    /// ((a+b)/(c+d))^m
    static func pow4D(_ a: Double, _ b: Double, _ c: Double, _ d: Double, _ m: Int) -> DD {
        if m <= 0 {
            if m == 0 { return DD(1.0) }
            return pow4D(c, d, a, b, -m)
        }
        let A = DD(a) + b
        let C = DD(c) + d
        if A.isZero { return C.isZero ? DD(.nan, .nan) : DD(0.0) }
        if C.isZero { return A.hi < 0 || (A.hi == 0 && A.lo < 0) ? DD(-.infinity, -.infinity) : DD(.infinity, .infinity) }
        return powD(A / C, m)
    }

    /// floor(n*x) and the remainder, exactly (in double-double).
    static func modNX(_ n: Int, _ x: Double) -> (alpha: Double, nxFloor: Int, nx: Double) {
        let nxD = Double(n) * DD(x)
        let nxfloorD = nxD.floored()
        let alphaD = nxD - nxfloorD
        var alpha = alphaD.hi
        var nxfloor = Int(nxfloorD.hi)
        if alpha == 1 {
            nxfloor += 1
            alpha = 0
        }
        return (alpha, nxfloor, nxD.hi)
    }

    /// Binomial coefficient kept as (mantissa, exponent); advance C(n, j) -> C(n, j+1).
    static func updateBinomial(_ cman: inout DD, _ cexpt: inout Int, _ n: Int, _ j: Int) {
        let rat = DD(Double(n - j)) / (Double(j) + 1.0)
        let (man2, expt) = (cman * rat).frexp()
        cexpt += expt
        cman = man2
    }

    /// A_v(n, x) = Binomial(n,v) * (1-x-v/n)^(n-v) * (x+v/n)^(v-1)
    static func computeAv(_ n: Int, _ x: Double, _ v: Int, _ cman: DD, _ cexpt: Int) -> DD {
        let fn = Double(n)
        let t2x = DD(Double(n - v)) / fn - x
        let (t2, t2E) = pow2ScaledD(t2x, n - v)
        let t1x = DD(Double(v)) / fn + x
        let (t1, t1E) = pow2ScaledD(t1x, v - 1)
        let ans = (t1 * t2) * cman
        let ansE = cexpt + t1E + t2E
        return ans.ldexp(ansE)
    }

    /// `smirnov(n, x)`: Pr(D_n^+ >= x), one-sided one-sample KS survival function.
    static func sf(_ n: Int, _ x: Double) -> Double {
        if x.isNaN { return .nan }
        if !(n > 0 && x >= 0.0 && x <= 1.0) { return .nan }
        if n == 1 { return 1 - x }
        if x == 0.0 { return 1.0 }
        if x == 1.0 { return 0.0 }

        let (alpha, nxfl, _) = modNX(n, x)
        var n1mxfl = n - nxfl - (alpha == 0 ? 0 : 1)
        var n1mxceil = n - nxfl
        if alpha == 0 {
            n1mxfl -= 1
            n1mxceil += 1
        }
        let fn = Double(n)
        // Special case: x <= 1/n
        if nxfl == 0 || (nxfl == 1 && alpha == 0) {
            let t = pow2(1, x, n - 1)
            let cdf = x * t
            return 1 - cdf
        }
        // Special case: x is so big, the sf underflows double64
        if Double(-2 * n) * x * x < minLog { return 0 }
        // Special case: x >= 1 - 1/n
        if nxfl >= n - 1 { return pow2(1, -x, n) }
        // Special case: n is so big, take too long to compute
        if n > maxComputeN {
            let logp = -Foundation.pow(6.0 * fn * x + 1, 2) / 18.0 / fn
            if logp < -ln2 { return Foundation.exp(logp) }
            let cdf = -Foundation.expm1(logp)
            return 1 - cdf
        }
        let nUpperTerms = n - n1mxceil + 1
        var useUpperSum = nUpperTerms <= 1 && x < 0.5
        useUpperSum = useUpperSum
            || (n >= upperSumMinN && nUpperTerms <= upperMaxTerms && x <= 0.5 / fn.squareRoot())

        var start = 0
        var step = 1
        var nTerms = n1mxfl + 1
        let vmid = n / 2
        var cman = DD(1.0)
        var cexpt = 0
        var aj: DD
        if useUpperSum {
            start = n
            step = -1
            nTerms = n - n1mxceil + 1
            aj = pow4D(1, x, 1, 0, n - 1)
        } else {
            let t2 = pow4D(1, -x, 1, 0, n)
            aj = t2 / x
        }
        var ajSum = DD(0.0) + aj
        updateBinomial(&cman, &cexpt, n, 0)
        var j = 1
        while j < nTerms {
            let v = start + j * step
            aj = computeAv(n, x, v, cman, cexpt)
            if aj.hi.isFinite && !aj.isZero {
                ajSum = ajSum + aj
            }
            // Safe to terminate early?
            if !aj.isZero {
                if Double(4 * (nTerms - j)) * abs(aj.hi) < Double.ulpOfOne * ajSum.hi && j != nTerms - 1 {
                    break
                }
            } else if j > vmid {
                break
            }
            updateBinomial(&cman, &cexpt, n, j)
            j += 1
        }
        let prob = (x * ajSum).hi
        let sf = step < 0 ? 1 - prob : prob
        return min(max(sf, 0.0), 1.0)
    }
}
