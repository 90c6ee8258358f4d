import Foundation

/// Multiclass classification metrics, as scikit-learn defines them, from class indices and
/// predicted probabilities (`rows × classes`, row-major).
///
/// The predicted class is the row's argmax, ties going to the lowest index (`np.argmax`).
/// - precision/recall/F1, macro and weighted: `precision_score(y, pred, average=…,
///   zero_division=0)` etc. with scikit-learn's default label set — the classes present in the
///   labels or the predictions (a class absent from both is left out of the macro mean). Weighted
///   averages weight each class by its support (its count in the labels). Macro F1 is the mean of
///   per-class F1, not the F1 of macro precision and recall.
/// - `ovrRocAUC`: `roc_auc_score(y, P, multi_class="ovr", average="macro")`, the mean over classes
///   of the ROC-AUC of (y == c) against column c. `nil` when a class is absent from the labels,
///   when a row's probabilities do not sum to 1 (`np.allclose`), or a probability is NaN —
///   scikit-learn raises in each case. With two classes it is the binary ROC-AUC of column 1
///   (scikit-learn's two-class path; it rejects a 2-column score matrix under `multi_class`).
/// - `logLoss`: `log_loss(y, P, labels=range(classes))`: the mean of −log p(true class) with p
///   clipped to [ε, 1 − ε], ε = 2.22e-16, no renormalisation; `nil` when a probability is outside
///   [0, 1] or NaN. `labels=` keeps it defined when a class is absent from the rows.
package struct MulticlassMetrics: Sendable, Equatable, Codable {
    package var rows: Int
    package var classes: Int
    /// Counts by true class (row) and predicted class (column), `classes × classes`, row-major.
    package var confusion: [Int]
    package var accuracy: Double
    package var macroPrecision: Double
    package var macroRecall: Double
    package var macroF1: Double
    package var weightedPrecision: Double
    package var weightedRecall: Double
    package var weightedF1: Double
    package var ovrRocAUC: Double?
    package var logLoss: Double?

    enum CodingKeys: String, CodingKey {
        case rows, classes, confusion, accuracy
        case macroPrecision = "macro_precision", macroRecall = "macro_recall", macroF1 = "macro_f1"
        case weightedPrecision = "weighted_precision", weightedRecall = "weighted_recall"
        case weightedF1 = "weighted_f1", ovrRocAUC = "ovr_roc_auc", logLoss = "log_loss"
    }

    /// The predicted class of each row: the first index of the row's maximum (`np.argmax`; a NaN
    /// wins, as in numpy).
    package static func predictions(probabilities: [Double], classes: Int) -> [Int32] {
        precondition(classes > 0 && probabilities.count % classes == 0, "rows × classes probabilities")
        let n = probabilities.count / classes
        var out = [Int32](repeating: 0, count: n)
        probabilities.withUnsafeBufferPointer { p in
            for i in 0..<n {
                let row = p.baseAddress! + i * classes
                var best = 0
                var bestValue = row[0]
                if !bestValue.isNaN {
                    for c in 1..<classes {
                        let v = row[c]
                        if v.isNaN {
                            best = c
                            break
                        }
                        if v > bestValue {
                            best = c
                            bestValue = v
                        }
                    }
                }
                out[i] = Int32(best)
            }
        }
        return out
    }

    /// `rankings: false` leaves `ovrRocAUC` nil without sorting (a bootstrap of another metric).
    package init(labels: [Int32], probabilities: [Double], classes: Int, rankings: Bool = true) {
        precondition(classes >= 2, "at least two classes")
        precondition(probabilities.count == labels.count * classes, "rows × classes probabilities")
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < classes }, "class indices in 0..<classes")
        let n = labels.count
        let k = classes
        rows = n
        self.classes = k
        let predicted = Self.predictions(probabilities: probabilities, classes: k)
        var confusion = [Int](repeating: 0, count: k * k)
        for i in 0..<n { confusion[Int(labels[i]) * k + Int(predicted[i])] += 1 }
        self.confusion = confusion

        var correct = 0
        var support = [Int](repeating: 0, count: k), predictedCount = [Int](repeating: 0, count: k)
        for c in 0..<k {
            correct += confusion[c * k + c]
            for d in 0..<k {
                support[c] += confusion[c * k + d]
                predictedCount[d] += confusion[c * k + d]
            }
        }
        accuracy = n == 0 ? 0 : Double(correct) / Double(n)

        // scikit-learn's label set: classes in the labels or the predictions.
        let present = (0..<k).filter { support[$0] > 0 || predictedCount[$0] > 0 }
        var mp = 0.0, mr = 0.0, mf = 0.0, wp = 0.0, wr = 0.0, wf = 0.0
        for c in present {
            let tp = confusion[c * k + c]
            let p = predictedCount[c] == 0 ? 0 : Double(tp) / Double(predictedCount[c])
            let r = support[c] == 0 ? 0 : Double(tp) / Double(support[c])
            let fDenominator = support[c] + predictedCount[c]
            let f = fDenominator == 0 ? 0 : Double(2 * tp) / Double(fDenominator)
            mp += p
            mr += r
            mf += f
            let w = Double(support[c])
            wp += w * p
            wr += w * r
            wf += w * f
        }
        let m = Double(Swift.max(present.count, 1))
        macroPrecision = mp / m
        macroRecall = mr / m
        macroF1 = mf / m
        let total = Double(Swift.max(n, 1))
        weightedPrecision = wp / total
        weightedRecall = wr / total
        weightedF1 = wf / total

        // Log loss with labels = 0..<classes.
        var inUnitInterval = true, sumsToOne = true
        var losses = CompensatedSum()
        let eps = Double.ulpOfOne
        probabilities.withUnsafeBufferPointer { pb in
            for i in 0..<n {
                let row = pb.baseAddress! + i * k
                var s = 0.0
                for c in 0..<k {
                    let v = row[c]
                    if !(v >= 0 && v <= 1) { inUnitInterval = false }
                    s += v
                }
                // np.allclose(1, s): |1 − s| ≤ 1e-8 + 1e-5·|s|.
                if !(abs(1 - s) <= 1e-8 + 1e-5 * abs(s)) { sumsToOne = false }
                let p = row[Int(labels[i])]
                losses.add(-Foundation.log(Swift.min(Swift.max(p, eps), 1 - eps)))
            }
        }
        logLoss = n > 0 && inUnitInterval ? losses.value / Double(n) : nil

        // One-vs-rest ROC-AUC, macro: every class must be present (so each AUC is defined).
        if !rankings || n == 0 || support.contains(0) || !sumsToOne || probabilities.contains(where: \.isNaN) {
            ovrRocAUC = nil
        } else {
            let ranking = RankingAccumulator(capacity: n)
            let columns = k == 2 ? [1] : Array(0..<k)
            var sum = 0.0
            probabilities.withUnsafeBufferPointer { pb in
                for c in columns {
                    ranking.reset()
                    for i in 0..<n { ranking.add(positive: Int(labels[i]) == c, score: pb[i * k + c]) }
                    sum += ranking.finish().rocAUC ?? .nan
                }
            }
            ovrRocAUC = sum / Double(columns.count)
        }
    }
}
