import Tabular

/// How much the data moved, as the retrain decision reads it.
public enum DriftSeverity: String, Sendable, Codable, Comparable {
    case none, moderate, severe

    public static func < (a: Self, b: Self) -> Bool {
        let order: [Self] = [.none, .moderate, .severe]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
}

/// One column's drift result.
public struct ColumnDrift: Sendable, Codable, Equatable {
    public var column: String
    public var method: String
    public var statistic: Double?
    public var threshold: Double
    public var drifted: Bool
    public var message: String?

    public init(column: String, method: String, statistic: Double? = nil, threshold: Double, drifted: Bool, message: String? = nil) {
        self.column = column
        self.method = method
        self.statistic = statistic
        self.threshold = threshold
        self.drifted = drifted
        self.message = message
    }
}

/// The result of a drift check of new batches against the production model's reference.
public struct DriftReport: Sendable, Codable, Equatable {
    public var columns: [ColumnDrift]
    /// Columns in the reference missing from the new data, or new columns in the data.
    public var schemaChanges: [String]
    /// Concept drift: the production model's accuracy on the new labelled rows, and at promotion.
    public var accuracyNow: Double?
    public var accuracyAtPromotion: Double?
    public var conceptDrift: Bool
    public var severity: DriftSeverity
    /// One line for logs and tables.
    public var summary: String

    public var driftedColumns: [ColumnDrift] { columns.filter(\.drifted) }

    public init(columns: [ColumnDrift], schemaChanges: [String], accuracyNow: Double? = nil, accuracyAtPromotion: Double? = nil, conceptDrift: Bool, severity: DriftSeverity, summary: String) {
        self.columns = columns
        self.schemaChanges = schemaChanges
        self.accuracyNow = accuracyNow
        self.accuracyAtPromotion = accuracyAtPromotion
        self.conceptDrift = conceptDrift
        self.severity = severity
        self.summary = summary
    }
}

/// Thresholds that turn per-column statistics into a verdict.
public struct DriftPolicy: Sendable {
    public var threshold: @Sendable (String) -> Double
    public var severePSI: Double
    public var severeShare: Double
    public var maxAccuracyDrop: Double?

    public init(
        threshold: @escaping @Sendable (String) -> Double, severePSI: Double, severeShare: Double,
        maxAccuracyDrop: Double?
    ) {
        self.threshold = threshold
        self.severePSI = severePSI
        self.severeShare = severeShare
        self.maxAccuracyDrop = maxAccuracyDrop
    }
}

/// Compares new data with reference profiles, column by column.
public enum DriftDetector {
    /// Checks `current` against `reference`. Each column is computed on its own: a column missing
    /// from the new data, or of another kind, is a schema change and the others carry on.
    /// `accuracyNow`/`accuracyAtPromotion` feed the concept-drift check when labels are present;
    /// `schemaChanges` are changes the caller found (new columns, new label values).
    public static func check(
        reference: [ColumnProfile], current: DataTable, policy: DriftPolicy, accuracyNow: Double? = nil,
        accuracyAtPromotion: Double? = nil, schemaChanges: [String] = []
    ) -> DriftReport {
        var columns: [ColumnDrift] = []
        var schema = schemaChanges
        for profile in reference {
            let threshold = policy.threshold(profile.name)
            guard let column = current.column(profile.name) else {
                schema.append("column \"\(profile.name)\" is missing from the new data")
                continue
            }
            guard column.kind == profile.kind else {
                schema.append("column \"\(profile.name)\" was \(profile.kind.rawValue) and is now \(column.kind.rawValue)")
                continue
            }
            if current.rowCount == 0 {
                columns.append(ColumnDrift(column: profile.name, method: "psi", statistic: nil, threshold: threshold, drifted: false, message: "no rows"))
                continue
            }
            let value = psi(reference: profile.counts, current: profile.binCounts(column))
            var message: String? = nil
            if profile.kind == .categorical {
                let counts = profile.binCounts(column)
                let unseen = counts[counts.count - 2]
                if unseen > 0 { message = "\(unseen) value\(unseen == 1 ? "" : "s") in categories the reference never had" }
            }
            if profile.kind == .numeric, profile.edges.isEmpty {
                message = "reference column was all missing"
            }
            columns.append(ColumnDrift(
                column: profile.name, method: "psi", statistic: value, threshold: threshold, drifted: value >= threshold,
                message: message))
        }
        let drifted = columns.filter(\.drifted)
        let share = columns.isEmpty ? 0 : Double(drifted.count) / Double(columns.count)
        let maxPSI = columns.compactMap(\.statistic).max() ?? 0
        // Severity by size counts only columns that drifted by their own threshold.
        let maxDriftedPSI = drifted.compactMap(\.statistic).max() ?? 0
        var concept = false
        if let limit = policy.maxAccuracyDrop, let now = accuracyNow, let then = accuracyAtPromotion, then - now > limit {
            concept = true
        }
        var severity: DriftSeverity = .none
        if !drifted.isEmpty { severity = .moderate }
        if !schema.isEmpty || concept || maxDriftedPSI >= policy.severePSI || (!drifted.isEmpty && share >= policy.severeShare) {
            severity = .severe
        }
        var parts: [String] = []
        if !schema.isEmpty { parts.append("schema changed: " + schema.joined(separator: "; ")) }
        if !drifted.isEmpty {
            let top = drifted.sorted { ($0.statistic ?? 0) > ($1.statistic ?? 0) }.prefix(3)
                .map { "\($0.column) PSI \(round4($0.statistic ?? 0))" }
            parts.append("\(drifted.count)/\(columns.count) columns drifted (\(top.joined(separator: ", ")))")
        }
        if concept, let now = accuracyNow, let then = accuracyAtPromotion {
            parts.append("production accuracy fell from \(round4(then)) to \(round4(now)) on labelled new data")
        }
        if parts.isEmpty { parts.append("no drift (max PSI \(round4(maxPSI)))") }
        return DriftReport(
            columns: columns.sorted { ($0.drifted ? 1 : 0, $0.statistic ?? 0) > ($1.drifted ? 1 : 0, $1.statistic ?? 0) },
            schemaChanges: schema, accuracyNow: accuracyNow, accuracyAtPromotion: accuracyAtPromotion,
            conceptDrift: concept, severity: severity, summary: "\(severity.rawValue): " + parts.joined(separator: "; "))
    }
}

func round4(_ x: Double) -> String { String((x * 10000).rounded() / 10000) }
