import Foundation

/// Population Stability Index between two histograms over the same bins.
///
/// `PSI = Σ (p_cur − p_ref) · ln(p_cur / p_ref)` with p = count / total (totals include the missing
/// bin). An empty bin's proportion is replaced by `smoothing` (1e-4, as Evidently does), without
/// renormalising, so an empty bin on one side gives a large but finite contribution.
///
/// ```swift
/// psi(reference: [50, 50, 0], current: [50, 50, 0])  // 0
/// ```
package func psi(reference: [Int], current: [Int], smoothing: Double = 1e-4) -> Double {
    precondition(reference.count == current.count, "same bins")
    let nr = Double(max(reference.reduce(0, +), 1))
    let nc = Double(max(current.reduce(0, +), 1))
    var total = 0.0
    for (r, c) in zip(reference, current) {
        let p = r == 0 ? smoothing : Double(r) / nr
        let q = c == 0 ? smoothing : Double(c) / nc
        total += (q - p) * log(q / p)
    }
    return total
}
