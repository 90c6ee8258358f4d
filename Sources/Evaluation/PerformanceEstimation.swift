import Foundation
import Tabular

/// Confidence-based performance estimation (CBPE) of a binary classifier on rows without labels,
/// as NannyML 0.13 computes it (`nannyml.performance_estimation.confidence_based`), checked against
/// NannyML itself in the tests (Tests/EvaluationTests/Fixtures/cbpe.json).
///
/// Fitted once on reference rows with labels (a version's evaluation rows): whether its scores
/// need calibrating and the isotonic calibration if they do, the spread of its per-row
/// correctness (accuracy's sampling error) and the Mann–Whitney components of ROC-AUC's. On new
/// rows, with `p` the calibrated score and `ŷ` the prediction at the threshold:
/// - estimated accuracy = mean of `p` where `ŷ` = 1 and `1 − p` where `ŷ` = 0;
/// - estimated ROC-AUC: rows sorted by the raw score, highest first; expected true positives
///   `tps` = cumulative sum of `p`, false positives `fps` = rank − `tps`, both from 0 and rounded to
///   5 decimals; the trapezoid area under (fps / fps_last, tps / tps_last);
/// - sampling error: accuracy σ / √n; ROC-AUC σ_auc / √(n · positive share); the interval is the
///   estimate ± 3 sampling errors, clipped to [0, 1].
///
/// It sees a shift of the inputs through the scores, never a change in how the label depends on
/// the inputs (concept drift): the calibration is of the reference's relation.
package struct PerformanceEstimator: Codable, Sendable, Equatable {
    /// The isotonic calibration's points (increasing x; nil: the scores are used as they are).
    package var calibration: IsotonicCalibration?
    package var threshold: Double
    /// Reference rows it was fitted on, and their realized accuracy and ROC-AUC.
    package var rows: Int
    package var referenceAccuracy: Double
    package var referenceROCAUC: Double?
    /// σ of the reference rows' correctness (0/1).
    package var accuracySpread: Double
    /// σ of the reference's Mann–Whitney terms, and its minority class's share.
    package var rocAUCSpread: Double?
    package var rocAUCFraction: Double?

    enum CodingKeys: String, CodingKey {
        case calibration, threshold, rows
        case referenceAccuracy = "reference_accuracy", referenceROCAUC = "reference_roc_auc", accuracySpread = "accuracy_spread"
        case rocAUCSpread = "roc_auc_spread", rocAUCFraction = "roc_auc_fraction"
    }

    /// Fits on reference `scores` (the positive class's probability) and `labels`. `calibrate`:
    /// nil decides as NannyML does (``needsCalibration(scores:labels:)``); tests pass NannyML's own
    /// decision, which draws its folds from NumPy's generator.
    package static func fit(scores: [Double], labels: [Bool], threshold: Double, calibrate: Bool? = nil) -> PerformanceEstimator? {
        guard scores.count == labels.count, scores.count >= 2, !scores.contains(where: \.isNaN) else { return nil }
        let n = Double(scores.count)
        var correct = 0.0
        for (s, y) in zip(scores, labels) where (s >= threshold) == y { correct += 1 }
        let accuracy = correct / n
        let spread = (accuracy * (1 - accuracy)).squareRoot()  // σ of 0/1 values with mean `accuracy` (population)
        let (aucSpread, fraction) = rocAUCComponents(scores: scores, labels: labels)
        let both = labels.contains(true) && labels.contains(false)
        let useCalibration = calibrate ?? needsCalibration(scores: scores, labels: labels)
        return PerformanceEstimator(
            calibration: useCalibration ? IsotonicCalibration(x: scores, y: labels.map { $0 ? 1 : 0 }) : nil, threshold: threshold,
            rows: scores.count, referenceAccuracy: accuracy,
            referenceROCAUC: both ? BinaryMetrics.rocAUC(labels: labels, scores: scores) : nil,
            accuracySpread: spread, rocAUCSpread: both ? aucSpread : nil, rocAUCFraction: both ? fraction : nil)
    }

    /// The scores as calibrated.
    package func calibrated(_ scores: [Double]) -> [Double] {
        calibration.map { c in scores.map(c.predict) } ?? scores
    }

    /// The estimate on new rows' `scores`.
    package func estimate(scores: [Double]) -> PerformanceEstimate {
        let n = scores.count
        let p = calibrated(scores)
        var metrics: [PerformanceEstimate.Metric] = []
        if n > 0 {
            var sum = 0.0
            for (raw, q) in zip(scores, p) { sum += raw >= threshold ? q : 1 - q }
            let accuracy = sum / Double(n)
            metrics.append(.init(metric: "accuracy", value: accuracy, samplingError: accuracySpread / Double(n).squareRoot(), reference: referenceAccuracy))
            if let spread = rocAUCSpread, let fraction = rocAUCFraction {
                let auc = Self.estimatedROCAUC(calibrated: p, raw: scores)
                metrics.append(.init(metric: "roc_auc", value: auc, samplingError: spread / (Double(n) * fraction).squareRoot(), reference: referenceROCAUC))
            }
        }
        return PerformanceEstimate(rows: n, calibrated: calibration != nil, metrics: metrics)
    }

    /// NannyML's `estimate_roc_auc`: expected ROC curve from calibrated probabilities, rows ordered
    /// by the raw scores (rows with equal raw scores have equal calibrated ones, so their order
    /// among themselves does not change the sums).
    static func estimatedROCAUC(calibrated p: [Double], raw: [Double]) -> Double {
        let order = raw.indices.sorted { raw[$0] > raw[$1] }
        var tps = [0.0], fps = [0.0]
        tps.reserveCapacity(order.count + 1)
        fps.reserveCapacity(order.count + 1)
        var cumulative = 0.0
        for (k, i) in order.enumerated() {
            cumulative += p[i]
            tps.append(cumulative)
            fps.append(Double(k + 1) - cumulative)
        }
        func round5(_ x: Double) -> Double { (x * 100_000).rounded(.toNearestOrEven) / 100_000 }
        let t = tps.map(round5), f = fps.map(round5)
        guard let tLast = t.last, let fLast = f.last, tLast > 0, fLast > 0 else { return .nan }
        var area = 0.0
        for k in 1..<t.count {
            area += (f[k] / fLast - f[k - 1] / fLast) * (t[k] / tLast + t[k - 1] / tLast) / 2
        }
        return area
    }

    /// NannyML's `auroc_sampling_error_components`: with the minority class as positive (labels and
    /// scores flipped when positives are the majority), rows sorted by score; for the i-th positive
    /// (0-based) at rank r, the term (r − i) / negatives; their σ (population) and the positives' share.
    static func rocAUCComponents(scores: [Double], labels: [Bool]) -> (Double, Double) {
        let positives = labels.filter { $0 }.count
        let flip = Double(positives) / Double(labels.count) > 0.5
        let y = flip ? labels.map { !$0 } : labels
        let s = flip ? scores.map { 1 - $0 } : scores
        // NumPy's argsort (quicksort) orders tied scores arbitrarily; a stable order is used here,
        // which differs from NannyML's only when a positive and a negative share a score.
        let order = s.indices.sorted { s[$0] < s[$1] || (s[$0] == s[$1] && $0 < $1) }
        let nPos = y.filter { $0 }.count
        let nNeg = y.count - nPos
        guard nPos > 0, nNeg > 0 else { return (.nan, 0) }
        // np.unique(y_true * rank)[1:]: the positive ranks above 0 (a positive at rank 0 drops out).
        var terms: [Double] = []
        var i = 0
        for (rank, row) in order.enumerated() where y[row] && rank > 0 {
            terms.append(Double(rank - i) / Double(nNeg))
            i += 1
        }
        guard !terms.isEmpty else { return (.nan, Double(nPos) / Double(y.count)) }
        let mean = terms.reduce(0, +) / Double(terms.count)
        let variance = terms.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(terms.count)
        return (variance.squareRoot(), Double(nPos) / Double(y.count))
    }

    /// NannyML's `needs_calibration`: no when the labels are one class or the scores already rank
    /// them almost perfectly (ROC-AUC > 0.999); otherwise the held-out rows of 10 stratified splits
    /// (10 % each; ``stratifiedFolds(labels:seed:)``) are calibrated by an isotonic fit on the rest of
    /// their split, and the answer is yes when the expected calibration error of all of them together
    /// (10 bins of equal count, by score) is lower after than before.
    package static func needsCalibration(scores: [Double], labels: [Bool], folds: [[Int]]? = nil) -> Bool {
        guard labels.contains(true), labels.contains(false) else { return false }
        if (BinaryMetrics.rocAUC(labels: labels, scores: scores) ?? 0) > 0.999 { return false }
        let (before, after) = calibrationErrors(scores: scores, labels: labels, folds: folds ?? stratifiedFolds(labels: labels))
        return before > after
    }

    /// The expected calibration error of the folds' rows before and after calibrating each fold by
    /// an isotonic fit on the other rows.
    package static func calibrationErrors(scores: [Double], labels: [Bool], folds: [[Int]]) -> (before: Double, after: Double) {
        var raw: [Double] = [], fitted: [Double] = [], truth: [Double] = []
        for test in folds {
            let held = Set(test)
            let train = labels.indices.filter { !held.contains($0) }
            guard !train.isEmpty else { continue }
            let calibration = IsotonicCalibration(x: train.map { scores[$0] }, y: train.map { labels[$0] ? 1 : 0 })
            for i in test {
                raw.append(scores[i])
                fitted.append(calibration.predict(scores[i]))
                truth.append(labels[i] ? 1 : 0)
            }
        }
        return (expectedCalibrationError(raw, truth), expectedCalibrationError(fitted, truth))
    }

    /// 10 splits each holding out ⌈10 %⌉ of the rows, with each class in proportion (as
    /// scikit-learn's `StratifiedShuffleSplit(n_splits=10, test_size=0.1)`, from updater's seeded
    /// generator rather than NumPy's).
    package static func stratifiedFolds(labels: [Bool], seed: UInt64 = 42) -> [[Int]] {
        let positives = labels.indices.filter { labels[$0] }, negatives = labels.indices.filter { !labels[$0] }
        let size = Int((Double(labels.count) * 0.1).rounded(.up))
        let fromPositives = min(positives.count, max(1, Int((Double(size) * Double(positives.count) / Double(labels.count)).rounded())))
        var rng = SplitMix64(seed: seed)
        return (0..<10).map { _ in
            var test: [Int] = []
            for (group, k) in [(positives, fromPositives), (negatives, min(negatives.count, size - fromPositives))] {
                var g = group
                for j in 0..<k {
                    g.swapAt(j, j + Int(rng.next() % UInt64(g.count - j)))
                }
                test += g.prefix(k)
            }
            return test
        }
    }

    /// ECE over bins of equal count by score (NannyML's `_get_bin_index_edges`, 10 bins).
    static func expectedCalibrationError(_ p: [Double], _ y: [Double], bins: Int = 10) -> Double {
        let n = p.count
        var count = bins
        if n <= 2 * count { count = n / 2 }
        guard count >= 2 else { return 0 }
        // A stable order (NumPy's default sort orders ties arbitrarily, which moves NannyML's value
        // slightly: the fixtures record both).
        let order = p.indices.sorted { p[$0] < p[$1] || (p[$0] == p[$1] && $0 < $1) }
        let width = n / count
        var edges = Array(stride(from: 0, through: n, by: width))
        if edges.last! < n { edges[edges.count - 1] = n }
        var ece = 0.0
        for k in 1..<edges.count where edges[k] > edges[k - 1] {
            let rows = order[edges[k - 1]..<edges[k]]
            let meanP = rows.reduce(0) { $0 + p[$1] } / Double(rows.count)
            let meanY = rows.reduce(0) { $0 + y[$1] } / Double(rows.count)
            ece += Double(rows.count) / Double(n) * abs(meanP - meanY)
        }
        return ece
    }
}

/// scikit-learn's `IsotonicRegression(out_of_bounds="clip", increasing=True)`: equal x pooled
/// (weighted mean, x within 1e-15 counted equal), pool-adjacent-violators, points inside a flat run
/// dropped; prediction by linear interpolation, clipped at both ends.
package struct IsotonicCalibration: Codable, Sendable, Equatable {
    package var x: [Double]
    package var y: [Double]

    package init(x points: [Double], y targets: [Double]) {
        // np.lexsort((y, X)): by x, then y.
        let order = points.indices.sorted { points[$0] < points[$1] || (points[$0] == points[$1] && targets[$0] < targets[$1]) }
        var ux: [Double] = [], uy: [Double] = [], uw: [Double] = []
        var currentX = points[order[0]], sumY = 0.0, weight = 0.0
        for i in order {
            if points[i] - currentX >= 1e-15 {
                ux.append(currentX)
                uy.append(sumY / weight)
                uw.append(weight)
                (currentX, sumY, weight) = (points[i], 0, 0)
            }
            sumY += targets[i]
            weight += 1
        }
        ux.append(currentX)
        uy.append(sumY / weight)
        uw.append(weight)
        Self.pava(&uy, &uw)
        // Keep the first and last point of each flat run.
        var keep = [Bool](repeating: true, count: uy.count)
        if uy.count > 2 {
            for k in 1..<(uy.count - 1) { keep[k] = uy[k - 1] != uy[k] || uy[k] != uy[k + 1] }
        }
        x = ux.indices.filter { keep[$0] }.map { ux[$0] }
        y = uy.indices.filter { keep[$0] }.map { uy[$0] }
    }

    /// scikit-learn's `_inplace_contiguous_isotonic_regression`.
    static func pava(_ y: inout [Double], _ w: inout [Double]) {
        let n = y.count
        var target = Array(0..<n)
        var i = 0
        while i < n {
            var k = target[i] + 1
            if k == n { break }
            if y[i] < y[k] {
                i = k
                continue
            }
            var sumWY = w[i] * y[i], sumW = w[i]
            while true {
                let prevY = y[k]
                sumWY += w[k] * y[k]
                sumW += w[k]
                k = target[k] + 1
                if k == n || prevY < y[k] {
                    y[i] = sumWY / sumW
                    w[i] = sumW
                    target[i] = k - 1
                    target[k - 1] = i
                    if i > 0 { i = target[i - 1] }
                    break
                }
            }
        }
        i = 0
        while i < n {
            let k = target[i] + 1
            for j in (i + 1)..<max(i + 1, k) { y[j] = y[i] }
            i = k
        }
    }

    /// The calibrated value of score `s`.
    package func predict(_ s: Double) -> Double {
        guard x.count > 1 else { return y.first ?? s }
        let t = min(max(s, x[0]), x[x.count - 1])
        // The first point at or above t.
        var lo = 0, hi = x.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if x[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        if x[lo] == t || lo == 0 { return y[lo] }
        let (x0, x1, y0, y1) = (x[lo - 1], x[lo], y[lo - 1], y[lo])
        return y0 + (t - x0) * (y1 - y0) / (x1 - x0)
    }
}

/// Estimated performance on rows without labels.
package struct PerformanceEstimate: Codable, Sendable, Equatable {
    package struct Metric: Codable, Sendable, Equatable {
        package var metric: String
        package var value: Double
        package var samplingError: Double
        /// The estimate ± 3 sampling errors, within [0, 1].
        package var lower: Double
        package var upper: Double
        /// The version's realized value on its reference (evaluation) rows.
        package var reference: Double?
        /// The gate's minimum for this metric, when it has one (filled in by the cycle).
        package var minimum: Double?

        package init(metric: String, value: Double, samplingError: Double, reference: Double?) {
            (self.metric, self.value, self.samplingError, self.reference) = (metric, value, samplingError, reference)
            lower = max(0, value - 3 * samplingError)
            upper = min(1, value + 3 * samplingError)
        }

        enum CodingKeys: String, CodingKey {
            case metric, value, lower, upper, reference, minimum
            case samplingError = "sampling_error"
        }
    }

    package var rows: Int
    /// Whether the scores were calibrated first.
    package var calibrated: Bool
    package var metrics: [Metric]
    /// One line saying what was estimated and whether it fell (filled in by the cycle).
    package var summary = ""

    package func value(_ metric: String) -> Double? { metrics.first { $0.metric == metric }?.value }
}
