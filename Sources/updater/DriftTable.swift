import Drift
import Foundation
import Support

/// A drift report for people: the verdict, then one row per column, most drifted first.
func render(_ report: DriftReport) -> String {
    var out = [report.summary]
    if let reasons = report.severityReasons, !reasons.isEmpty, report.severity != .none {
        out.append("\(report.severity.rawValue) because: " + reasons.joined(separator: "; "))
    }
    if !report.columns.isEmpty {
        out.append("")
        out.append(columnTable(report.columns))
    }
    if !report.targets.isEmpty {
        out.append("\nlabel and prediction:")
        out.append(columnTable(report.targets))
    }
    if let p = report.performance {
        out.append(
            "\nperformance: production \(p.metric) \(show(p.reference)) on \(p.referenceRows) evaluation rows → \(show(p.current)) on \(p.currentRows) new rows; one-sided p = \(showP(p.pValue)); drift when the fall ≥ \(show(p.minDrop)) and p ≤ \(show(p.alpha)): \(p.drifted ? "YES" : "no")")
    }
    for o in report.online {
        let rows = o.rows.isEmpty ? "no detection" : "detected at row\(o.rows.count == 1 ? "" : "s") \(o.rows.prefix(5).map(String.init).joined(separator: ", "))"
        out.append("online \(o.detector) (\(o.decisive ? "decisive" : "report only")): \(rows)\(o.note.map { " (\($0))" } ?? "")")
    }
    return out.joined(separator: "\n")
}

func columnTable(_ columns: [ColumnDrift]) -> String {
    table(
        ["COLUMN", "KIND", "METHOD", "STATISTIC", "P-VALUE", "THRESHOLD", "DRIFTED", "PSI", "MISSING", "NOTE"],
        columns.map { c in
            let missing: String
            if let a = c.missingShareReference, let b = c.missingShareCurrent {
                missing = String(format: "%.1f%%→%.1f%%", a * 100, b * 100)
            } else {
                missing = "-"
            }
            return [
                c.column, c.kind, c.method?.rawValue ?? "-", show(c.statistic), c.pValue.map(showP) ?? "-",
                c.threshold.map { show($0) } ?? "-", c.drifted ? "YES" : "no", show(c.psi), missing,
                c.status == .ok ? (c.message ?? "") : "\(c.status.rawValue)\(c.message.map { ": \($0)" } ?? "")",
            ]
        })
}

func showP(_ p: Double) -> String {
    p == 0 || p >= 0.0001 ? String(format: "%.4f", p) : String(format: "%.1e", p)
}
