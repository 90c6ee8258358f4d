/// Collects (is-positive, score) pairs and computes ROC-AUC and average precision from one radix
/// sort of each class's scores and one merged sweep from the highest score down.
///
/// Positives' keys fill the buffer from the front and negatives' from the back, each with its own
/// digit histograms counted as the keys are written, so no pass re-reads the rows and nothing is
/// allocated per element. The sweep visits each distinct score once with the number of positives
/// and negatives at it — which is all `roc_auc_score` (trapezoids, ties as one half) and
/// `average_precision_score` (Σ (Rₖ − Rₖ₋₁)·Pₖ over distinct thresholds) need.
final class RankingAccumulator {
    private let capacity: Int
    private let keys: UnsafeMutablePointer<UInt64>
    private let histograms: UnsafeMutablePointer<Int>
    private(set) var positives = 0
    private(set) var negatives = 0
    private(set) var sawNaN = false
    private static let histogramSize = 4 << 16
    /// Whether keys are radix sorted. Below 4096 rows a comparison sort is faster than clearing the
    /// 4 MiB of histograms (per class, per bootstrap resample: 8 s of a multiclass gate in a debug build).
    private let radix: Bool

    init(capacity: Int) {
        self.capacity = capacity
        radix = capacity >= 4096
        keys = .allocate(capacity: max(capacity, 1))
        let histogramCount = radix ? 2 * Self.histogramSize : 1
        histograms = .allocate(capacity: histogramCount)
        histograms.initialize(repeating: 0, count: histogramCount)
    }

    deinit {
        keys.deallocate()
        histograms.deallocate()
    }

    /// Empties the accumulator for reuse (same capacity).
    func reset() {
        positives = 0
        negatives = 0
        sawNaN = false
        if radix { histograms.update(repeating: 0, count: 2 * Self.histogramSize) }
    }

    @inline(__always)
    func add(positive: Bool, score: Double) {
        if score.isNaN {
            sawNaN = true
            return
        }
        let key = ScoreRadixSort.key(score)
        if positive {
            keys[positives] = key
            if radix { ScoreRadixSort.count(key, into: histograms) }
            positives += 1
        } else {
            negatives += 1
            keys[capacity - negatives] = key
            if radix { ScoreRadixSort.count(key, into: histograms + Self.histogramSize) }
        }
    }

    /// ROC-AUC (`nil` with one class only) and average precision (`0` without positives, `1`
    /// without negatives, as scikit-learn returns); both `nil` when a score was NaN or nothing was
    /// added (scikit-learn raises).
    func finish() -> (rocAUC: Double?, averagePrecision: Double?) {
        let p = positives, q = negatives
        if sawNaN || p + q == 0 { return (nil, nil) }
        let scratch = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: max(p, q, 1))
        defer { scratch.deallocate() }
        var pos = UnsafeMutableBufferPointer(start: keys, count: p)
        var neg = UnsafeMutableBufferPointer(start: keys + (capacity - q), count: q)
        if radix {
            ScoreRadixSort.sort(pos, count: p, histograms: histograms, scratch: scratch)
            ScoreRadixSort.sort(neg, count: q, histograms: histograms + Self.histogramSize, scratch: scratch)
        } else {
            pos.sort()
            neg.sort()
        }

        var i = p - 1, j = q - 1
        var tp = 0, fp = 0, twiceArea = 0
        var ap = CompensatedSum()
        while i >= 0 || j >= 0 {
            let s: Double
            if i >= 0, j >= 0 {
                s = Swift.max(ScoreRadixSort.value(pos[i]), ScoreRadixSort.value(neg[j]))
            } else if i >= 0 {
                s = ScoreRadixSort.value(pos[i])
            } else {
                s = ScoreRadixSort.value(neg[j])
            }
            var dp = 0, dn = 0
            while i >= 0, ScoreRadixSort.value(pos[i]) == s {
                dp += 1
                i -= 1
            }
            while j >= 0, ScoreRadixSort.value(neg[j]) == s {
                dn += 1
                j -= 1
            }
            // Trapezoid between (fp, tp) and (fp + dn, tp + dp), doubled to stay an integer.
            twiceArea += dn * (2 * tp + dp)
            tp += dp
            fp += dn
            if dp > 0 { ap.add(Double(dp) * Double(tp) / Double(tp + fp)) }
        }
        let auc: Double? = p > 0 && q > 0 ? Double(twiceArea) / (2 * Double(p) * Double(q)) : nil
        let averagePrecision = p == 0 ? 0 : Swift.max(0, ap.value / Double(p))
        return (auc, averagePrecision)
    }
}
