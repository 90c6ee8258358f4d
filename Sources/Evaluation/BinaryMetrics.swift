/// Binary classification metrics at a decision threshold, defined as scikit-learn defines them.
///
/// A row is predicted positive when its score is at or above `threshold`. Precision, recall and F1
/// are 0 when undefined (scikit-learn's `zero_division=0`); ROC-AUC is `nil` when the rows hold only
/// one class (scikit-learn raises). Tied scores are handled by the trapezoid rule, as
/// `roc_auc_score` does.
package struct BinaryMetrics: Sendable, Equatable, Codable {
    package var rows: Int
    package var positives: Int
    package var accuracy: Double
    package var precision: Double
    package var recall: Double
    package var f1: Double
    package var rocAUC: Double?

    enum CodingKeys: String, CodingKey {
        case rows, positives, accuracy, precision, recall, f1, rocAUC = "roc_auc"
    }

    package init(labels: [Bool], scores: [Double], threshold: Double = 0.5) {
        precondition(labels.count == scores.count, "one score per label")
        var tp = 0, fp = 0, tn = 0, fn = 0
        for (y, s) in zip(labels, scores) {
            switch (y, s >= threshold) {
            case (true, true): tp += 1
            case (false, true): fp += 1
            case (false, false): tn += 1
            case (true, false): fn += 1
            }
        }
        rows = labels.count
        positives = tp + fn
        accuracy = rows == 0 ? 0 : Double(tp + tn) / Double(rows)
        precision = tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp)
        recall = tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
        // F1 = 2TP / (2TP + FP + FN), which is 0 (not NaN) when precision and recall are both 0.
        f1 = 2 * tp + fp + fn == 0 ? 0 : Double(2 * tp) / Double(2 * tp + fp + fn)
        rocAUC = BinaryMetrics.rocAUC(labels: labels, scores: scores)
    }

    package func value(of metric: Metric) -> Double? {
        switch metric {
        case .accuracy: accuracy
        case .precision: precision
        case .recall: recall
        case .f1: f1
        case .rocAUC: rocAUC
        }
    }

    /// Area under the ROC curve; `nil` when only one class is present.
    ///
    /// Sorts by score once and sweeps the distinct thresholds, adding trapezoids, which equals the
    /// Mann–Whitney statistic with ties counted as one half.
    package static func rocAUC(labels: [Bool], scores: [Double]) -> Double? {
        let n = labels.count
        let positives = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        let negatives = n - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = (0..<n).sorted { scores[$0] > scores[$1] }
        var tp = 0.0, fp = 0.0, prevTP = 0.0, prevFP = 0.0, area = 0.0
        var k = 0
        while k < n {
            let s = scores[order[k]]
            while k < n, scores[order[k]] == s {
                if labels[order[k]] { tp += 1 } else { fp += 1 }
                k += 1
            }
            area += (fp - prevFP) * (tp + prevTP) / 2
            prevTP = tp
            prevFP = fp
        }
        return area / (Double(positives) * Double(negatives))
    }
}
