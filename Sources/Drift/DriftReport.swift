import Foundation

/// How much the data moved, as the retrain decision reads it.
package enum DriftSeverity: String, Sendable, Codable, Comparable {
    case none, moderate, severe

    package static func < (a: Self, b: Self) -> Bool {
        let order: [Self] = [.none, .moderate, .severe]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
}

/// One column's drift result. Every field is documented in docs/drift.md (the `--json` format).
package struct ColumnDrift: Sendable, Codable, Equatable {
    package enum Status: String, Sendable, Codable {
        /// Tested.
        case ok
        /// No value in the reference: only the missing share is compared.
        case referenceAllMissing = "reference_all_missing"
        /// No value in the current data: only the missing share is compared.
        case currentAllMissing = "current_all_missing"
        /// The column is missing from the current data (a schema change).
        case missing
        /// The column changed kind, for example numbers became text (a schema change).
        case kindChanged = "kind_changed"
        /// The column is only in the current data (a schema change).
        case added
    }

    package var column: String
    package var kind: String
    package var status: Status
    package var method: DriftMethod?
    package var statistic: Double?
    package var pValue: Double?
    /// The threshold the verdict used (after any multiple-testing correction).
    package var threshold: Double?
    package var drifted: Bool
    /// PSI over the profile's bins, computed for every tested column whatever its method.
    package var psi: Double?
    package var missingShareReference: Double?
    package var missingShareCurrent: Double?
    /// Categorical: the share of current values in categories the reference never had.
    package var unseenShare: Double?
    package var weight: Double
    package var message: String?
    /// Both distributions over the reference profile's bins, for drawing them (nil in reports
    /// stored before updater kept them, and for columns not compared).
    package var bins: Bins?

    /// The reference's and the current data's counts in the profile's bins: numeric columns have
    /// `edges` (bins (−∞, e₁], (e₁, e₂], …, (e_last, +∞), then missing); categorical ones have
    /// `categories` (then the unseen bin, then missing).
    package struct Bins: Sendable, Codable, Equatable {
        package var edges: [Double]?
        package var categories: [String]?
        package var reference: [Int]
        package var current: [Int]

        package init(edges: [Double]? = nil, categories: [String]? = nil, reference: [Int], current: [Int]) {
            (self.edges, self.categories, self.reference, self.current) = (edges, categories, reference, current)
        }
    }

    enum CodingKeys: String, CodingKey {
        case column, kind, status, method, statistic, threshold, drifted, psi, weight, message, bins
        case pValue = "p_value", missingShareReference = "missing_share_reference"
        case missingShareCurrent = "missing_share_current", unseenShare = "unseen_share"
    }
}

/// Concept drift seen through the production model's performance on newly labelled rows.
package struct PerformanceDrift: Sendable, Codable, Equatable {
    /// `accuracy` (classification) or `rmse` (regression).
    package var metric: String
    /// The production model's value on its reference rows (see `basis`), and on the new rows.
    package var reference: Double
    package var current: Double
    package var referenceRows: Int
    package var currentRows: Int
    /// One-sided p-value of "the metric got worse" (two-proportion z-test for accuracy; Welch's
    /// z-test on the squared errors for RMSE).
    package var pValue: Double
    /// The smallest worsening that counts: a fall of accuracy, or a relative rise of RMSE.
    package var minDrop: Double
    package var alpha: Double
    package var drifted: Bool
    /// What the reference is: the batches production served, or its evaluation rows.
    package var basis: String?

    enum CodingKeys: String, CodingKey {
        case metric, reference, current, drifted, alpha, basis
        case referenceRows = "reference_rows", currentRows = "current_rows", pValue = "p_value", minDrop = "min_drop"
    }

    package init(
        metric: String, reference: Double, current: Double, referenceRows: Int, currentRows: Int, pValue: Double,
        minDrop: Double, alpha: Double, drifted: Bool, basis: String? = nil
    ) {
        self.metric = metric
        self.reference = reference
        self.current = current
        self.referenceRows = referenceRows
        self.currentRows = currentRows
        self.pValue = pValue
        self.minDrop = minDrop
        self.alpha = alpha
        self.drifted = drifted
        self.basis = basis
    }

    /// How much worse the new rows are, in the metric's terms: accuracy points lost, or RMSE's
    /// relative rise.
    package var worsening: Double {
        metric == "rmse" ? (reference > 0 ? current / reference - 1 : (current > 0 ? .infinity : 0)) : reference - current
    }
}

/// An online detector's result on the production model's per-row error stream.
package struct OnlineDetection: Sendable, Codable, Equatable {
    package var detector: String
    /// Rows of this check at which the detector fired (0-based, in file order).
    package var rows: [Int]
    /// Whether a detection counts as concept drift for the verdict.
    package var decisive: Bool
    /// Why a detector configured `decisive` did not decide, when it did not.
    package var note: String?

    package init(detector: String, rows: [Int], decisive: Bool, note: String? = nil) {
        self.detector = detector
        self.rows = rows
        self.decisive = decisive
        self.note = note
    }
}

/// The result of a drift check: per-column results, schema changes, label and prediction drift,
/// concept drift, and the verdict.
package struct DriftReport: Sendable, Codable, Equatable {
    /// Feature columns, most drifted first.
    package var columns: [ColumnDrift]
    /// Label and prediction drift (reported; not counted in the share).
    package var targets: [ColumnDrift]
    package var schemaChanges: [String]
    package var performance: PerformanceDrift?
    package var online: [OnlineDetection]
    /// Weighted share of drifted feature columns among those compared.
    package var driftedShare: Double
    package var severity: DriftSeverity
    /// Why the drift is as severe as it is, rule by rule with its numbers (nil in reports stored
    /// before updater said so).
    package var severityReasons: [String]?
    /// One line for logs and tables.
    package var summary: String
    /// What the feature columns were compared with when it is not the production version's training
    /// rows (a shift the freshness policy acknowledged); nil: its training rows.
    package var comparedWith: String?

    enum CodingKeys: String, CodingKey {
        case columns, targets, performance, online, severity, summary
        case schemaChanges = "schema_changes", driftedShare = "drifted_share", comparedWith = "compared_with"
        case severityReasons = "severity_reasons"
    }

    package var driftedColumns: [ColumnDrift] { columns.filter(\.drifted) }

    package var conceptDrift: Bool {
        performance?.drifted == true || online.contains { $0.decisive && !$0.rows.isEmpty }
    }

    package init(
        columns: [ColumnDrift], targets: [ColumnDrift] = [], schemaChanges: [String] = [],
        performance: PerformanceDrift? = nil, online: [OnlineDetection] = [], policy: DriftPolicy
    ) {
        self.columns = columns.sorted(by: ColumnDrift.moreDrifted)
        self.targets = targets
        self.schemaChanges = schemaChanges
        self.performance = performance
        self.online = online
        // Columns with weight 0 are reported but never move the verdict.
        let compared = columns.filter { $0.status != .added && $0.weight > 0 }
        let total = compared.reduce(0) { $0 + $1.weight }
        let drifted = compared.filter(\.drifted)
        driftedShare = total > 0 ? drifted.reduce(0) { $0 + $1.weight } / total : 0
        let concept = performance?.drifted == true || online.contains { $0.decisive && !$0.rows.isEmpty }
        // Each rule that makes the drift severe, with its numbers; else why it is only moderate.
        var severe: [String] = []
        if !schemaChanges.isEmpty { severe.append("the schema changed") }
        if concept { severe.append("concept drift (production's performance on labelled new data)") }
        for c in drifted.sorted(by: ColumnDrift.moreDrifted) {
            if let psi = c.psiWithoutUnseen, psi >= policy.severePSI {
                severe.append("\(c.column)'s PSI \(round4(psi)) ≥ severe_psi \(round4(policy.severePSI))")
            }
            if let u = c.unseenShare, u >= policy.severeUnseenShare {
                severe.append("\(percent(u)) of \(c.column)'s values are in categories the reference never had (≥ severe_unseen_share \(percent(policy.severeUnseenShare)))")
            }
        }
        if !drifted.isEmpty, driftedShare >= policy.severeShare {
            severe.append("\(drifted.count) of \(compared.count) columns drifted, weighted share \(round4(driftedShare)) ≥ severe_share \(round4(policy.severeShare))")
        }
        var severity = DriftSeverity.none
        var reasons = severe
        if !severe.isEmpty {
            severity = .severe
        } else if !drifted.isEmpty {
            severity = .moderate
            let psi = drifted.compactMap(\.psiWithoutUnseen).max() ?? 0
            reasons = ["\(drifted.count) of \(compared.count) columns drifted, weighted share \(round4(driftedShare)) < severe_share \(round4(policy.severeShare)); largest PSI \(round4(psi)) < severe_psi \(round4(policy.severePSI))"]
        }
        self.severity = severity
        self.severityReasons = reasons
        var parts: [String] = []
        if !schemaChanges.isEmpty { parts.append("schema changed: " + schemaChanges.joined(separator: "; ")) }
        if !drifted.isEmpty {
            let top = drifted.sorted(by: ColumnDrift.moreDrifted).prefix(3).map(\.shortDescription)
            parts.append("\(drifted.count)/\(compared.count) columns drifted (\(top.joined(separator: ", ")))")
        }
        if let p = performance, p.drifted {
            let verb = p.metric == "rmse" ? "rose" : "fell"
            parts.append(
                "production \(p.metric) \(verb) from \(round4(p.reference)) to \(round4(p.current)) on labelled new data (p = \(sci(p.pValue)))")
        }
        for o in online where o.decisive && !o.rows.isEmpty {
            parts.append("\(o.detector) detected a change in production's errors at row \(o.rows[0])")
        }
        if parts.isEmpty { parts.append("no drift in \(compared.count) columns") }
        summary = "\(severity.rawValue): " + parts.joined(separator: "; ")
    }
}

extension ColumnDrift {
    /// Drifted first, then schema problems, then by PSI.
    static func moreDrifted(_ a: ColumnDrift, _ b: ColumnDrift) -> Bool {
        if a.drifted != b.drifted { return a.drifted }
        return (a.psi ?? -1, a.column) > (b.psi ?? -1, b.column)
    }

    /// The PSI without the bin of categories the reference never had: what `severe_psi` judges
    /// (`severe_unseen_share` judges that bin). With the reference's empty bin smoothed to 1e-4, its
    /// term alone is (q − 1e-4)·ln(q / 1e-4) for a share q of new values.
    package var psiWithoutUnseen: Double? {
        guard let psi else { return nil }
        guard let q = unseenShare, q > 0 else { return psi }
        return max(0, psi - (q - 1e-4) * log(q / 1e-4))
    }

    /// Whether the column's test (not its missing share) found drift.
    var testDrifted: Bool {
        guard let threshold else { return false }
        if let p = pValue { return p <= threshold }
        return (statistic ?? -.infinity) >= threshold
    }

    var shortDescription: String {
        if drifted, !testDrifted, let a = missingShareReference, let b = missingShareCurrent {
            return "\(column) missing \(percent(a))→\(percent(b))"
        }
        guard let method, let statistic else { return "\(column) \(status.rawValue)" }
        if method.isPValueTest, let p = pValue { return "\(column) \(method.rawValue) p=\(sci(p))" }
        return "\(column) \(method.rawValue) \(round4(statistic))"
    }
}

package func round4(_ x: Double) -> String { String((x * 10000).rounded() / 10000) }

/// A p-value for people: 4 decimals, or scientific when tiny.
package func sci(_ p: Double) -> String {
    if p == 0 { return "0" }
    if p >= 0.0001 { return round4(p) }
    let e = Int((log10(p)).rounded(.down))
    return "\(String(format: "%.1f", p / pow(10, Double(e))))e\(e)"
}
