/// A metric the release gate can use, with scikit-learn's definition.
package enum Metric: String, Sendable, Codable, CaseIterable {
    case accuracy
    case precision
    case recall
    case f1
    case rocAUC = "roc_auc"

    /// Whether a larger value is better (true for every metric so far).
    package var higherIsBetter: Bool { true }

    /// The metric's range, for validating gate bounds.
    package var range: ClosedRange<Double> { 0...1 }
}
