/// How a binary model's decision threshold is set: fixed, or chosen on validation rows.
package enum DecisionThreshold: Sendable, Equatable, Codable {
    /// Positive when the score is at or above this.
    case fixed(Double)
    /// The threshold that maximises F1 on the validation rows.
    case maxF1
    /// The lowest threshold whose precision reaches the target (the most recall at that precision).
    case precision(Double)
    /// The highest threshold whose recall reaches the target (the most precision at that recall).
    case recall(Double)

    /// The fixed value, if any.
    package var fixedValue: Double? {
        if case .fixed(let t) = self { return t }
        return nil
    }

    /// Chooses a threshold on validation rows. Candidates are the distinct scores (a row is
    /// positive at or above one). Returns the threshold and a note of what it achieves; when a
    /// target cannot be reached, the threshold closest to it and a note that says so.
    package func choose(labels: [Bool], scores: [Double]) -> (threshold: Double, note: String) {
        if case .fixed(let t) = self { return (t, "fixed") }
        let positives = labels.reduce(0) { $0 + ($1 ? 1 : 0) }
        guard !scores.isEmpty, positives > 0 else { return (0.5, "no positive validation rows: 0.5") }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        // Sweep thresholds from the highest score down: at each distinct score t, TP and FP count
        // the rows with score ≥ t.
        var tp = 0, fp = 0
        var sweep: [(t: Double, precision: Double, recall: Double, f1: Double)] = []
        var k = 0
        while k < order.count {
            let t = scores[order[k]]
            while k < order.count, scores[order[k]] == t {
                if labels[order[k]] { tp += 1 } else { fp += 1 }
                k += 1
            }
            let precision = Double(tp) / Double(tp + fp)
            let recall = Double(tp) / Double(positives)
            let f1 = 2 * Double(tp) / Double(2 * tp + fp + (positives - tp))
            sweep.append((t, precision, recall, f1))
        }
        func show(_ x: Double) -> String { String((x * 10000).rounded() / 10000) }
        switch self {
        case .fixed(let t):
            return (t, "fixed")
        case .maxF1:
            // Ties keep the highest threshold (the fewest positives for the same F1).
            let best = sweep.max { $0.f1 < $1.f1 || ($0.f1 == $1.f1 && $0.t < $1.t) }!
            return (best.t, "max F1 \(show(best.f1)) on \(labels.count) validation rows")
        case .precision(let target):
            if let best = sweep.last(where: { $0.precision >= target }) {
                return (best.t, "precision \(show(best.precision)) ≥ \(show(target)) with recall \(show(best.recall))")
            }
            let closest = sweep.max { $0.precision < $1.precision }!
            return (closest.t, "precision \(show(target)) not reachable on the validation rows; best \(show(closest.precision))")
        case .recall(let target):
            if let best = sweep.first(where: { $0.recall >= target }) {
                return (best.t, "recall \(show(best.recall)) ≥ \(show(target)) with precision \(show(best.precision))")
            }
            return (sweep.last!.t, "recall target not reachable")
        }
    }
}
