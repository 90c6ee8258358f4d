import Drift
import Evaluation
import Foundation
import Registry

/// One run of one job as a person reads it before approving a promotion or a rollback: what
/// happened in one sentence, the drift column by column with both distributions drawn, the
/// concept-drift evidence, the decision, the gate, and the job's timeline. Everything comes from
/// the registry (the reference distributions from the bins the drift check stored), so no raw
/// data is needed. `updater report` saves it as a file; the dashboard serves it as a page.
package struct RunReport: Sendable {
    package var job: JobRecord
    package var run: RunRecord
    package var drift: DriftReport?
    package var gate: [GateResultRecord]
    /// Production's measured metric on each batch this run read.
    package var served: [ServedBatchRecord]
    package var change: ConceptChangeRecord?
    package var candidate: VersionRecord?
    /// The change of production this run made, if it made one.
    package var release: ProductionEvent?
    /// The job's versions, changes of production and served metric.
    package var timeline: Timeline
    /// Production's performance estimated on the rows without labels of this run's batches, and
    /// realized on those whose labels came later.
    package var estimates: [EstimatedBatchRecord] = []
    package var realized: [RealizedBatch] = []

    /// The report of run `number` of `job`; without a number, of its newest finished run.
    package static func load(_ registry: Registry, job name: String, run number: Int? = nil) throws -> RunReport {
        guard let job = try registry.job(name) else { throw ReportError("unknown job \"\(name)\"") }
        let run: RunRecord
        if let number {
            guard let r = try registry.run(job: name, number: number) else { throw ReportError("\(name) has no run \(number)") }
            run = r
        } else {
            let runs = try registry.runs(of: name, limit: 50)
            guard let r = runs.first(where: { $0.state != .queued && $0.state != .running }) ?? runs.first else {
                throw ReportError("\(name) has no runs yet: nothing to report")
            }
            run = r
        }
        let id = run.id ?? -1
        let drift = run.driftReport.flatMap { try? JSONDecoder().decode(DriftReport.self, from: Data($0.utf8)) }
        let timeline = try Timeline.load(registry, job: job)
        var report = RunReport(
            job: job, run: run, drift: drift, gate: try registry.gateResults(run: id), served: try registry.servedBatches(run: id),
            change: try registry.conceptChange(run: id), candidate: timeline.versions.first { $0.version == run.candidateVersion },
            release: timeline.history.last { $0.runID == id }, timeline: timeline)
        report.estimates = try registry.estimates(job: name).filter { $0.runID == id }
        let batches = Set(try registry.batches(of: name).filter { $0.runID == id }.compactMap(\.id))
        report.realized = try registry.realizedPerformance(job: name).filter { batches.contains($0.batchID) }
        return report
    }

    /// What happened, in words: "3 of 5 columns drifted; the candidate v4 failed the gate on ROC-AUC".
    package var headline: String {
        var parts: [String] = []
        if let d = drift {
            let compared = d.columns.filter { $0.status != .added }
            let drifted = compared.filter(\.drifted).count
            parts.append(drifted == 0 ? "no column drifted" : "\(drifted) of \(compared.count) column\(compared.count == 1 ? "" : "s") drifted")
            if let p = d.performance, p.drifted {
                parts.append("production's \(metricName(p.metric)) \(p.metric == "rmse" ? "rose" : "fell") from \(Show.number(p.reference)) to \(Show.number(p.current))")
            }
            if !d.schemaChanges.isEmpty { parts.append("the columns changed") }
        }
        let version = run.candidateVersion.map { "the candidate v\($0)" } ?? "the candidate"
        switch run.state {
        case .queued, .running: parts.append("the run is \(run.state.rawValue)")
        case .failed: parts.append("the run failed")
        case .interrupted: parts.append("the run was interrupted")
        case .rejected:
            let failed = Array(Set(gate.filter { !$0.passed && !$0.skipped }.map { metricName($0.metric) })).sorted()
            parts.append(failed.isEmpty ? "\(version) was rejected" : "\(version) failed the gate on \(failed.joined(separator: ", "))")
        case .succeeded:
            switch run.decision {
            case "no_data": parts.append("no new data")
            case "no_drift": parts.append("production kept: nothing to retrain")
            case "shift": parts.append("the inputs shifted but production held up: nothing trained")
            default:
                if let r = release {
                    parts.append("\(version) passed the gate and was promoted" + (r.fromVersion.map { " over v\($0)" } ?? ""))
                } else if run.candidateVersion != nil {
                    parts.append("\(version) passed the gate; production stays")
                } else {
                    parts.append("nothing trained")
                }
            }
        }
        guard var text = parts.first else { return "run \(run.number)" }
        text = text.prefix(1).uppercased() + text.dropFirst()
        return ([text] + parts.dropFirst()).joined(separator: "; ")
    }

    /// The report's HTML body. `runLink` makes a run number a link (the dashboard); nil: plain text.
    package func body(runLink: ((Int) -> String)? = nil) -> String {
        var out = "<h1>\(HTML.escape(headline))</h1>\n"
        out += "<p class=\"sub\">Job <strong>\(HTML.escape(job.name))</strong>, run \(run.number) (\(HTML.escape(run.trigger))), "
            + "\(HTML.escape(run.state.rawValue)); started \(Show.time(run.startedAt)), finished \(Show.time(run.finishedAt)). "
            + "Production now: \(job.productionVersion.map { "v\($0)" } ?? "none").</p>\n"
        out += decisionSection()
        out += evidenceSection()
        out += labelsSection()
        out += featureSection()
        out += targetSection()
        out += gateSection()
        out += "<h2>The job's timeline</h2>\n" + timeline.html(runLink: runLink)
        return out
    }

    /// The report as one self-contained file.
    package func document() -> String {
        HTML.page(title: "\(job.name) run \(run.number): \(headline)", body: body()
            + "<p class=\"muted\">Made by updater at \(Show.time(Date())).</p>")
    }

    // MARK: Sections

    func decisionSection() -> String {
        var out = "<h2>The decision</h2>\n"
        var rows: [[String]] = [["Decision", HTML.escape(run.decision ?? "none recorded")]]
        if let reason = run.reason { rows.append(["Why", HTML.escape(reason)]) }
        if let error = run.error { rows.append(["Error", HTML.escape(error)]) }
        if let d = drift {
            rows.append(["Drift", HTML.escape(d.summary)])
            rows.append(["Severity", HTML.tag(d.severity.rawValue, d.severity == .severe ? .bad : d.severity == .moderate ? .warn : .good)
                + (d.severityReasons?.isEmpty == false ? "<ul>" + d.severityReasons!.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>" : "")])
        }
        if let c = change {
            rows.append(["Change of concept", "suspected at batch \(c.batchID), " + (c.state == .confirmed
                ? "confirmed: the candidate beat production on the rows after it" : "not confirmed: the candidate did not beat production")])
        }
        if let reason = run.windowReason { rows.append(["Training rows", HTML.escape(reason)]) }
        if let wall = run.wallSeconds {
            rows.append(["Training cost", String(format: "%.2f s wall, %.2f s CPU", wall, run.cpuSeconds ?? 0)
                + (run.peakMemoryBytes.map { String(format: ", peak memory %.0f MB", Double($0) / 1_048_576) } ?? "")])
        }
        if let r = release {
            rows.append(["Production", "\(r.action.rawValue): \(r.fromVersion.map { "v\($0)" } ?? "none") → v\(r.toVersion) by \(HTML.escape(r.actor)) at \(Show.time(r.at))"])
        }
        out += "<table><tbody>" + rows.map { "<tr><th scope=\"row\">\($0[0])</th><td>\($0[1])</td></tr>" }.joined() + "</tbody></table>\n"
        if !served.isEmpty {
            out += "<p>Production's measured performance on each batch this run read, before anything trained on it:</p>\n"
            out += HTML.table(["Batch", "Version", "Metric", "Value", "Rows", "Note"], served.map { s in
                ["\(s.batchID)", "v\(s.version)", metricName(s.metric), Show.number(s.value), "\(s.rows)", s.restartsReference ? "its reference starts again here" : ""]
            }, numeric: [3, 4])
        }
        return out
    }

    func evidenceSection() -> String {
        guard let d = drift, d.performance != nil || !d.online.isEmpty else { return "" }
        var out = "<h2>Concept drift: production's performance</h2>\n"
        if let p = d.performance {
            let verdict = p.drifted ? HTML.tag("worse", .bad) : HTML.tag("no significant change", .good)
            out += "<p>Production's \(metricName(p.metric)) went from \(Show.number(p.reference)) on \(p.referenceRows) reference rows"
                + (p.basis.map { " (\(HTML.escape($0)))" } ?? "") + " to \(Show.number(p.current)) on \(p.currentRows) new rows. \(verdict)</p>\n"
            out += HTML.table(["Metric", "Reference", "Current", "Worsening", "Smallest that counts", "p-value (one-sided)", "α"], [[
                metricName(p.metric), Show.number(p.reference), Show.number(p.current), Show.number(p.worsening), Show.number(p.minDrop),
                Show.number(p.pValue), Show.number(p.alpha),
            ]], numeric: [1, 2, 3, 4, 5, 6])
        }
        if !d.online.isEmpty {
            out += HTML.table(["Online detector", "Fired at rows", "Counts as concept drift", "Note"], d.online.map { o in
                [HTML.escape(o.detector), o.rows.isEmpty ? "never" : HTML.escape(o.rows.prefix(20).map(String.init).joined(separator: ", ") + (o.rows.count > 20 ? ", …" : "")),
                 o.decisive ? "yes" : "no (reported only)", HTML.escape(o.note ?? "")]
            })
        }
        return out
    }

    func labelsSection() -> String {
        guard !estimates.isEmpty || !realized.isEmpty else { return "" }
        var out = "<h2>Rows without labels</h2>\n"
        let decoded = estimates.compactMap { e in (try? JSONDecoder().decode(PerformanceEstimate.self, from: Data(e.estimate.utf8))).map { (e, $0) } }
        if !decoded.isEmpty {
            out += "<p>Production's performance estimated from its own calibrated scores before the labels came (CBPE). "
                + "An estimate sees inputs move where the model is less sure; it cannot see the relation between inputs and label change.</p>\n"
            out += HTML.table(["Batch", "Version", "Rows", "Metric", "Estimate", "Interval (±3 SE)", "On its evaluation rows", "Gate minimum", "Fell"], decoded.flatMap { e, estimate in
                estimate.metrics.map { m in
                    ["\(e.batchID)", "v\(e.version)", "\(e.rows)", metricName(m.metric), Show.number(m.value), "\(Show.number(m.lower))–\(Show.number(m.upper))",
                     m.reference.map(Show.number) ?? "–", m.minimum.map(Show.number) ?? "–", e.dropped ? HTML.tag("fell", .bad) : HTML.tag("no", .good)]
                }
            }, numeric: [2, 4, 6, 7])
        }
        if !realized.isEmpty {
            out += "<p>Production's realized performance on those rows whose labels came later, by the version that scored them:</p>\n"
            out += HTML.table(["Batch", "Version", "Rows without a label", "Labelled since", "Metric", "Value"], realized.map { r in
                ["\(r.batchID)", "v\(r.version)", "\(r.rows)", "\(r.labelled)", metricName(r.metric), Show.number(r.value)]
            }, numeric: [2, 3, 5])
        }
        return out
    }

    func featureSection() -> String {
        guard let d = drift else {
            return "<h2>Feature drift</h2>\n<p class=\"muted\">No drift check in this run: "
                + (run.decision == "no_data" ? "it had no new data."
                    : run.state == .failed || run.state == .interrupted ? "the run ended before it (the error is above)."
                    : "no model was in production to compare the new data with.") + "</p>\n"
        }
        var out = "<h2>Feature drift</h2>\n"
        let drifted = d.columns.filter(\.drifted).count
        out += "<p>\(drifted) of \(d.columns.filter { $0.status != .added }.count) feature columns drifted (weighted share \(Show.number(d.driftedShare))), drifted columns first."
            + (d.comparedWith.map { " Compared with \(HTML.escape($0))." } ?? " Compared with production's training rows.") + "</p>\n"
        if !d.schemaChanges.isEmpty {
            out += "<div class=\"note\"><strong>Schema changes:</strong><ul>" + d.schemaChanges.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul></div>\n"
        }
        out += "<div class=\"cards\">\n" + d.columns.map(card).joined() + "</div>\n"
        return out
    }

    func targetSection() -> String {
        guard let d = drift, !d.targets.isEmpty else { return "" }
        return "<h2>Label and prediction drift</h2>\n<p>Reported, not counted in the drifted share.</p>\n<div class=\"cards\">\n"
            + d.targets.map(card).joined() + "</div>\n"
    }

    func card(_ c: ColumnDrift) -> String {
        let verdict = c.drifted ? HTML.tag("drifted", .bad) : HTML.tag("stable", .good)
        var out = "<div class=\"card\"><h3>\(HTML.escape(c.column)) <span class=\"muted\">\(HTML.escape(c.kind))</span>\(verdict)"
            + (c.status == .ok ? "" : HTML.tag(c.status.rawValue.replacingOccurrences(of: "_", with: " "), .warn)) + "</h3>\n"
        var rows: [[String]] = []
        if let m = c.method {
            rows.append(["Method", m.rawValue, "Statistic", Show.number(c.statistic)])
            rows.append(["Threshold", Show.number(c.threshold), c.pValue == nil ? "PSI" : "p-value", c.pValue == nil ? Show.number(c.psi) : Show.number(c.pValue)])
            if c.pValue != nil { rows.append(["PSI", Show.number(c.psi), "Weight", Show.short(c.weight)]) }
        }
        rows.append(["Missing (reference)", Show.percent(c.missingShareReference), "Missing (current)", Show.percent(c.missingShareCurrent)])
        if let u = c.unseenShare { rows.append(["Unseen categories", Show.percent(u), "", ""]) }
        out += "<table><tbody>" + rows.map { r in "<tr><th scope=\"row\">\(r[0])</th><td class=\"num\">\(r[1])</td><th scope=\"row\">\(r[2])</th><td class=\"num\">\(r[3])</td></tr>" }.joined() + "</tbody></table>\n"
        if let m = c.message { out += "<p class=\"muted\">\(HTML.escape(m))</p>\n" }
        if let bins = c.bins {
            out += Chart.distribution(bins, column: c.column) + "\n"
        } else if c.method != nil {
            out += "<p class=\"muted\">The distributions were not recorded: the check ran before updater kept them.</p>\n"
        }
        return out + "</div>\n"
    }

    func gateSection() -> String {
        guard !gate.isEmpty || candidate != nil else { return "" }
        var out = "<h2>The gate</h2>\n"
        if let v = candidate {
            out += "<p>Candidate v\(v.version): \(v.mode.rawValue) training on \(v.trainingRows) rows, \(v.status == .passed ? HTML.tag("passed", .good) : HTML.tag("rejected", .bad)).</p>\n"
        }
        guard !gate.isEmpty else { return out + "<p class=\"muted\">No gate rule was evaluated.</p>\n" }
        out += HTML.table(
            ["Rule", "Metric", "Slice", "Candidate", "Production", "Difference", "Interval", "Result", "Why"],
            gate.map { g in
                let interval = g.lower.flatMap { l in g.upper.map { "[\(Show.number(l)), \(Show.number($0))]" } } ?? "–"
                let result = g.skipped ? HTML.tag("skipped", .muted) : g.passed ? HTML.tag("pass", .good) : HTML.tag("fail", .bad)
                return ["\(g.ruleIndex): " + HTML.escape(rule(g)), metricName(g.metric), HTML.escape(g.slice ?? "all rows"), Show.number(g.candidate),
                        Show.number(g.baseline), Show.number(g.difference), interval, result, HTML.escape(g.reason)]
            }, numeric: [3, 4, 5])
        return out
    }

}

package struct ReportError: Error, CustomStringConvertible {
    package var description: String
    package init(_ d: String) { description = d }
}

/// Metric names as people write them.
package func metricName(_ m: String) -> String {
    switch m {
    case "roc_auc": "ROC-AUC"
    case "pr_auc": "PR-AUC"
    case "rmse": "RMSE"
    case "mae": "MAE"
    case "r2": "R²"
    case "f1": "F1"
    case "log_loss": "log loss"
    default: m.replacingOccurrences(of: "_", with: " ")
    }
}

/// A gate rule as a formula: "≥ 0.7", "change ≥ -0.02; judged by bootstrap"; a rule the
/// freshness policy added (beat production after a suspected change) has none of the bounds.
func rule(_ g: GateResultRecord) -> String {
    var parts: [String] = []
    if let m = g.min { parts.append("≥ \(Show.short(m))") }
    if let m = g.max { parts.append("≤ \(Show.short(m))") }
    if let c = g.change ?? g.maxDrop.map({ -$0 }) { parts.append("change ≥ \(Show.short(c))") }
    if let r = g.relativeChange { parts.append("relative change ≥ \(Show.short(r))") }
    if let t = g.test { parts.append("judged by \(t)") }
    return parts.isEmpty ? "the policy's check" : parts.joined(separator: "; ")
}
