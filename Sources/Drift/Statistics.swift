import Foundation

/// Wasserstein-1 distance between two empirical distributions, as `scipy.stats.wasserstein_distance`
/// computes it: the area between the two ECDFs. Both inputs sorted ascending, non-empty, no NaN.
/// One linear merge pass, no allocation.
package func wasserstein(sortedA u: UnsafeBufferPointer<Double>, sortedB v: UnsafeBufferPointer<Double>) -> Double {
    let nu = u.count, nv = v.count
    precondition(nu > 0 && nv > 0, "two non-empty samples")
    let fu = 1 / Double(nu), fv = 1 / Double(nv)
    var i = 0, j = 0
    var total = 0.0
    var previous = min(u[0], v[0])
    while i < nu || j < nv {
        let x = j >= nv || (i < nu && u[i] <= v[j]) ? u[i] : v[j]
        total += abs(Double(i) * fu - Double(j) * fv) * (x - previous)
        while i < nu && u[i] == x { i += 1 }
        while j < nv && v[j] == x { j += 1 }
        previous = x
    }
    return total
}

package func wasserstein(sortedA: [Double], sortedB: [Double]) -> Double {
    sortedA.withUnsafeBufferPointer { a in sortedB.withUnsafeBufferPointer { b in wasserstein(sortedA: a, sortedB: b) } }
}

/// Jensen–Shannon **distance** (the square root of the divergence, natural log) between two
/// histograms over the same bins, as `scipy.spatial.distance.jensenshannon(p, q)`: each is
/// normalised to sum 1 first. `nil` when either histogram is empty. Range 0…√ln 2.
package func jensenShannon(_ p: [Int], _ q: [Int]) -> Double? {
    precondition(p.count == q.count, "same bins")
    let np = Double(p.reduce(0, +)), nq = Double(q.reduce(0, +))
    guard np > 0, nq > 0 else { return nil }
    var divergence = 0.0
    for (a, b) in zip(p, q) {
        let x = Double(a) / np, y = Double(b) / nq
        let m = (x + y) / 2
        if x > 0 { divergence += x * log(x / m) }
        if y > 0 { divergence += y * log(y / m) }
    }
    return (max(divergence, 0) / 2).squareRoot()
}

/// The largest difference of any bin's share between two histograms (L-infinity distance of the
/// proportions). `nil` when either histogram is empty.
package func lInfinity(_ p: [Int], _ q: [Int]) -> Double? {
    precondition(p.count == q.count, "same bins")
    let np = Double(p.reduce(0, +)), nq = Double(q.reduce(0, +))
    guard np > 0, nq > 0 else { return nil }
    return zip(p, q).reduce(0) { max($0, abs(Double($1.0) / np - Double($1.1) / nq)) }
}

/// Pearson's chi-squared test of independence on the 2×k table of two histograms, as
/// `scipy.stats.chi2_contingency(table, correction=False)`: bins empty in both rows are dropped;
/// with fewer than two bins left the statistic is 0 and the p-value 1. For two bins this equals the
/// two-proportion z-test (z² = χ²). `nil` when either histogram is empty (the test is undefined).
package func chiSquaredContingency(_ p: [Int], _ q: [Int]) -> (statistic: Double, pValue: Double, dof: Int)? {
    precondition(p.count == q.count, "same bins")
    let kept = zip(p, q).filter { $0.0 + $0.1 > 0 }
    let np = Double(kept.reduce(0) { $0 + $1.0 }), nq = Double(kept.reduce(0) { $0 + $1.1 })
    guard kept.count >= 2 else { return (0, 1, 0) }
    guard np > 0, nq > 0 else { return nil }
    let n = np + nq
    var statistic = 0.0
    for (a, b) in kept {
        let column = Double(a + b)
        let ea = np * column / n, eb = nq * column / n
        statistic += (Double(a) - ea) * (Double(a) - ea) / ea + (Double(b) - eb) * (Double(b) - eb) / eb
    }
    let dof = kept.count - 1
    return (statistic, chiSquaredSF(statistic, dof: dof), dof)
}

/// The survival function of the chi-squared distribution, `P(X > x)` for `dof` degrees of freedom:
/// the regularised upper incomplete gamma function Q(dof/2, x/2).
package func chiSquaredSF(_ x: Double, dof: Int) -> Double {
    guard x > 0 else { return 1 }
    return regularizedGammaQ(Double(dof) / 2, x / 2)
}

/// Q(a, x) = Γ(a, x) / Γ(a), by its series when x < a + 1 and by a continued fraction (modified
/// Lentz) otherwise; relative accuracy near machine precision, including tiny tail values.
func regularizedGammaQ(_ a: Double, _ x: Double) -> Double {
    if x <= 0 { return 1 }
    let logPrefix = a * log(x) - x - lgamma(a)
    if x < a + 1 {
        // P(a, x) by the series Σ x^n / (a (a+1) … (a+n)).
        var term = 1 / a, sum = term, ap = a
        for _ in 0..<10_000 {
            ap += 1
            term *= x / ap
            sum += term
            if abs(term) < abs(sum) * 1e-17 { break }
        }
        return max(0, 1 - sum * exp(logPrefix))
    }
    let tiny = 1e-300
    var b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d
    for i in 1..<10_000 {
        let an = -Double(i) * (Double(i) - a)
        b += 2
        d = an * d + b
        if abs(d) < tiny { d = tiny }
        c = b + an / c
        if abs(c) < tiny { c = tiny }
        d = 1 / d
        let delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16 { break }
    }
    return exp(logPrefix) * h
}
