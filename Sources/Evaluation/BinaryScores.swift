import Foundation

/// A binary confusion matrix at a threshold, in scikit-learn's `confusion_matrix(...).ravel()`
/// order (tn, fp, fn, tp).
package struct ConfusionMatrix: Sendable, Equatable, Codable {
    package var tn: Int
    package var fp: Int
    package var fn: Int
    package var tp: Int

    package init(tn: Int, fp: Int, fn: Int, tp: Int) {
        self.tn = tn
        self.fp = fp
        self.fn = fn
        self.tp = tp
    }
}

/// Every binary-classification metric, as scikit-learn defines it, from one linear pass over the
/// rows and one radix sort of the scores.
///
/// A row is predicted positive when its score is at or above `threshold` (as `BinaryMetrics`).
/// - accuracy, precision, recall, F1: as `BinaryMetrics` (`zero_division=0`).
/// - balanced accuracy: `balanced_accuracy_score` — the mean recall over the classes present in
///   the labels (with one class only, that class's recall).
/// - ROC-AUC: `roc_auc_score`; `nil` with one class only or a NaN score.
/// - average precision: `average_precision_score`, Σ (Rₖ − Rₖ₋₁)·Pₖ over the distinct scores
///   taken as thresholds (no interpolation); 0 without positives and 1 without negatives, as
///   scikit-learn returns; `nil` with a NaN score.
/// - log loss: `log_loss(y, p, labels=[0, 1])`, p clipped to [ε, 1 − ε] with ε = 2.22e-16
///   (`np.finfo(float64).eps`) and not renormalised; `nil` when a score lies outside [0, 1] or is
///   NaN (scikit-learn raises). `labels=[0, 1]` keeps it defined when the rows hold one class.
/// - Brier: `brier_score_loss`, the mean of (y − p)²; `nil` when a score lies outside [0, 1].
/// All are 0 or `nil` on zero rows.
package struct BinaryScores: Sendable, Equatable, Codable {
    package var rows: Int
    package var positives: Int
    package var threshold: Double
    package var confusion: ConfusionMatrix
    package var accuracy: Double
    package var balancedAccuracy: Double
    package var precision: Double
    package var recall: Double
    package var f1: Double
    package var rocAUC: Double?
    package var averagePrecision: Double?
    package var logLoss: Double?
    package var brier: Double?

    enum CodingKeys: String, CodingKey {
        case rows, positives, threshold, confusion, accuracy, precision, recall, f1, brier
        case balancedAccuracy = "balanced_accuracy", rocAUC = "roc_auc"
        case averagePrecision = "average_precision", logLoss = "log_loss"
    }

    package init(labels: [Bool], scores: [Double], threshold: Double = 0.5) {
        precondition(labels.count == scores.count, "one score per label")
        let n = labels.count
        let ranking = RankingAccumulator(capacity: n)
        var tp = 0, fp = 0, tn = 0, fn = 0
        var inUnitInterval = true
        var squares = CompensatedSum(), losses = CompensatedSum()
        let eps = Double.ulpOfOne
        labels.withUnsafeBufferPointer { l in
            scores.withUnsafeBufferPointer { s in
                for k in 0..<n {
                    let y = l[k], x = s[k]
                    let yi = y ? 1 : 0, pi = x >= threshold ? 1 : 0
                    tp += yi & pi
                    fn += yi & (1 - pi)
                    fp += (1 - yi) & pi
                    tn += (1 - yi) & (1 - pi)
                    if !(x >= 0 && x <= 1) { inUnitInterval = false }
                    let d = Double(yi) - x
                    squares.add(d * d)
                    let p = y ? x : 1 - x
                    losses.add(-Foundation.log(Swift.min(Swift.max(p, eps), 1 - eps)))
                    ranking.add(positive: y, score: x)
                }
            }
        }
        rows = n
        positives = tp + fn
        self.threshold = threshold
        confusion = ConfusionMatrix(tn: tn, fp: fp, fn: fn, tp: tp)
        accuracy = n == 0 ? 0 : Double(tp + tn) / Double(n)
        precision = tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp)
        recall = tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
        f1 = 2 * tp + fp + fn == 0 ? 0 : Double(2 * tp) / Double(2 * tp + fp + fn)
        var recalls: [Double] = []
        if tp + fn > 0 { recalls.append(Double(tp) / Double(tp + fn)) }
        if tn + fp > 0 { recalls.append(Double(tn) / Double(tn + fp)) }
        balancedAccuracy = recalls.isEmpty ? 0 : recalls.reduce(0, +) / Double(recalls.count)
        (rocAUC, averagePrecision) = ranking.finish()
        let probabilities = n > 0 && inUnitInterval
        logLoss = probabilities ? losses.value / Double(n) : nil
        brier = probabilities ? squares.value / Double(n) : nil
    }

    /// The threshold metrics and ROC-AUC in the shape the release gate takes.
    package var binaryMetrics: BinaryMetrics { BinaryMetrics(self) }
}

extension BinaryMetrics {
    /// The gate's metrics from a `BinaryScores` (same definitions; computed with one radix sort
    /// instead of a comparison sort, for large evaluation sets).
    package init(_ scores: BinaryScores) {
        self.init(labels: [], scores: [])
        rows = scores.rows
        positives = scores.positives
        accuracy = scores.accuracy
        precision = scores.precision
        recall = scores.recall
        f1 = scores.f1
        rocAUC = scores.rocAUC
    }
}
