import Crypto
@testable import Drift
import Foundation
import Registry
import Testing

@testable import Report

@Suite("Reports and pages: HTML and SVG made by updater")
struct ReportTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    func column(_ name: String, drifted: Bool, psi: Double, bins: ColumnDrift.Bins?) -> ColumnDrift {
        ColumnDrift(
            column: name, kind: bins?.edges == nil ? "categorical" : "numeric", status: .ok, method: .psi, statistic: psi, threshold: 0.2,
            drifted: drifted, psi: psi, missingShareReference: 0, missingShareCurrent: 0.01, weight: 1, bins: bins)
    }

    func report(state: RunRecord.State, gate: [GateResultRecord], drifted: Int, of total: Int) -> RunReport {
        let columns = (0..<total).map { i in
            column("c\(i)", drifted: i < drifted, psi: i < drifted ? 0.4 : 0.01, bins: .init(edges: [1, 2], reference: [5, 5, 5, 0], current: [2, 3, 9, 1]))
        }
        let drift = DriftReport(columns: columns, policy: DriftPolicy())
        var run = RunRecord(id: 7, job: "churn", trigger: "new_data", state: state, decision: "full", reason: "the inputs drifted", jobFileHash: "x", candidateVersion: 4, createdAt: now)
        run.number = 3
        return RunReport(
            job: JobRecord(name: "churn", filePath: "/j/churn.toml", fileHash: "x", deployPath: "/m", productionVersion: 3, createdAt: now, updatedAt: now),
            run: run, drift: drift, gate: gate, served: [], change: nil, candidate: nil, release: nil,
            timeline: Timeline(job: "churn", production: 3, versions: [], history: [], servedAll: [], runNumbers: [:]))
    }

    func gateRule(_ metric: String, passed: Bool) -> GateResultRecord {
        GateResultRecord(runID: 7, job: "churn", version: 4, ruleIndex: 0, metric: metric, min: 0.7, candidate: 0.65, passed: passed, skipped: false, reason: "below the minimum")
    }

    @Test("The title says in words what happened: drifted columns, then the gate's verdict by metric")
    func headline() {
        let rejected = report(state: .rejected, gate: [gateRule("roc_auc", passed: false), gateRule("accuracy", passed: true)], drifted: 3, of: 5)
        #expect(rejected.headline == "3 of 5 columns drifted; the candidate v4 failed the gate on ROC-AUC")
        let quiet = report(state: .succeeded, gate: [], drifted: 0, of: 2)
        #expect(quiet.headline.hasPrefix("No column drifted; the candidate v4 passed the gate"))
    }

    @Test("A report is one document: the stylesheet its policy allows, no script, no style attribute, no outside address")
    func selfContained() throws {
        let html = report(state: .rejected, gate: [gateRule("roc_auc", passed: false)], drifted: 1, of: 2).document()
        #expect(html.contains("<style>\(HTML.style)</style>"))
        let hash = Data(SHA256.hash(data: Data(HTML.style.utf8))).base64EncodedString()
        #expect(html.contains("style-src &#39;sha256-\(hash)&#39;"))
        #expect(!html.contains("<script"))
        #expect(!html.contains(" style=\""))
        let addresses = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!addresses.contains("http://") && !addresses.contains("https://"), "nothing is loaded from anywhere")
        #expect(html.contains("<svg"))
    }

    /// The part of `html` from the heading `<h2>title</h2>` to the next heading of its level.
    func section(_ html: String, _ title: String) -> String? {
        guard let start = html.range(of: "<h2>\(title)</h2>") else { return nil }
        let rest = html[start.upperBound...]
        return String(rest[..<(rest.range(of: "<h2>")?.lowerBound ?? rest.endIndex)])
    }

    @Test("A run's report holds the concept-drift evidence, label and prediction drift, the gate with its interval per rule and slice, and the timeline")
    func sections() throws {
        var r = report(state: .rejected, gate: [], drifted: 1, of: 2)
        let label = column("y", drifted: true, psi: 0.3, bins: .init(categories: ["no", "yes"], reference: [60, 40, 0, 0], current: [30, 70, 0, 0]))
        let prediction = column("prediction", drifted: false, psi: 0.05, bins: .init(edges: [0.5], reference: [50, 50, 0], current: [45, 55, 0]))
        let performance = PerformanceDrift(
            metric: "accuracy", reference: 0.84, current: 0.61, referenceRows: 375, currentRows: 1500, pValue: 0.0001, minDrop: 0.02,
            alpha: 0.01, drifted: true, basis: "production v3's accuracy on its 375 evaluation rows")
        r.drift = DriftReport(
            columns: r.drift!.columns, targets: [label, prediction], performance: performance,
            online: [OnlineDetection(detector: "adwin", rows: [212], decisive: true)], policy: DriftPolicy())
        r.gate = [
            GateResultRecord(
                runID: 7, job: "churn", version: 4, ruleIndex: 0, metric: "roc_auc", min: 0.7, slice: "colour=red", candidate: 0.81,
                passed: true, reason: "0.8100 ≥ min 0.7000"),
            GateResultRecord(
                runID: 7, job: "churn", version: 4, ruleIndex: 1, metric: "accuracy", change: -0.02, test: "bootstrap", candidate: 0.6,
                baseline: 0.65, difference: -0.05, lower: -0.0812, upper: -0.0188, bound: -0.0812, passed: false,
                reason: "the interval's lower bound -0.0812 < change -0.02"),
        ]
        let day = 86_400.0
        func version(_ n: Int, run: Int64, _ status: VersionRecord.Status, at: Date) -> VersionRecord {
            VersionRecord(
                job: "churn", version: n, runID: run, mode: .full, generation: 0, trainingRows: 1500, dataFingerprint: "f", jobFileHash: "x",
                metrics: "{}", artifactPath: "/a/v\(n)", artifactSHA256: "s", reference: "{}", status: status, createdAt: at)
        }
        r.timeline = Timeline(
            job: "churn", production: 3,
            versions: [
                version(2, run: 4, .passed, at: now - 3 * day), version(3, run: 5, .passed, at: now - 2 * day), version(4, run: 7, .rejected, at: now),
            ],
            history: [
                ProductionEvent(job: "churn", action: .promote, toVersion: 2, at: now - 3 * day, actor: "updater", reason: "gate passed", runID: 4),
                ProductionEvent(job: "churn", action: .promote, fromVersion: 2, toVersion: 3, at: now - 2 * day, actor: "updater", reason: "gate passed", runID: 5),
                ProductionEvent(job: "churn", action: .rollback, fromVersion: 3, toVersion: 2, at: now - day, actor: "alice", reason: "v3 misbehaves"),
                ProductionEvent(job: "churn", action: .forced, fromVersion: 2, toVersion: 3, at: now - day / 2, actor: "bob", reason: "checked by hand"),
            ],
            servedAll: [], runNumbers: [4: 1, 5: 2, 7: 3])
        let html = r.document()

        // The concept-drift evidence: production's measured performance, its test, the online detectors.
        let evidence = try #require(section(html, "Concept drift: production's performance"), "no concept-drift section")
        #expect(evidence.contains("Production's accuracy went from 0.8400 on 375 reference rows"), "\(evidence)")
        #expect(evidence.contains("to 0.6100 on 1500 new rows.") && evidence.contains(">worse</span>"), "\(evidence)")
        #expect(evidence.contains("<th scope=\"col\">p-value (one-sided)</th>"))
        #expect(evidence.contains("<td>accuracy</td><td class=\"num\">0.8400</td><td class=\"num\">0.6100</td><td class=\"num\">0.2300</td>"), "\(evidence)")
        #expect(evidence.contains("<td>adwin</td><td>212</td><td>yes</td>"), "\(evidence)")

        // Label and prediction drift: one card each, with both distributions drawn.
        let targets = try #require(section(html, "Label and prediction drift"), "no label and prediction drift section")
        #expect(targets.contains("<h3>y <span class=\"muted\">categorical</span>"), "\(targets)")
        #expect(targets.contains("<h3>prediction <span class=\"muted\">numeric</span>"), "\(targets)")
        #expect(targets.contains("aria-label=\"Distribution of y: ") && targets.contains("aria-label=\"Distribution of prediction: "))
        #expect(!(section(html, "Feature drift") ?? "").contains("<h3>y "), "the label is not a feature column")

        // The gate: every rule on every slice, with the interval of a rule that has a test.
        let gate = try #require(section(html, "The gate"), "no gate section")
        let columns = ["Rule", "Metric", "Slice", "Candidate", "Production", "Difference", "Interval", "Result", "Why"]
        let header = "<thead><tr>" + columns.map { "<th scope=\"col\">\($0)</th>" }.joined() + "</tr></thead>"
        #expect(gate.contains(header), "\(gate)")
        #expect(gate.contains(
            "<tr><td>0: ≥ 0.7</td><td>ROC-AUC</td><td>colour=red</td><td class=\"num\">0.8100</td><td class=\"num\">–</td><td class=\"num\">–</td><td>–</td><td><span class=\"tag good\">pass</span></td>"),
            "\(gate)")
        #expect(gate.contains(
            "<tr><td>1: change ≥ -0.02; judged by bootstrap</td><td>accuracy</td><td>all rows</td><td class=\"num\">0.6000</td><td class=\"num\">0.6500</td><td class=\"num\">-0.0500</td><td>[-0.0812, -0.0188]</td><td><span class=\"tag bad\">fail</span></td>"),
            "\(gate)")

        // The timeline: the chart, every change of production and every version, newest first.
        let timeline = try #require(section(html, "The job's timeline"), "no timeline")
        #expect(timeline.contains("aria-label=\"Timeline of churn: served metric, versions, promotions and rollbacks\""), "\(timeline)")
        for mark in ["v2 promoted", "v3 promoted", "rolled back to v2 by alice", "v3 forced by bob", "v3 trained, passed the gate", "v4 rejected by the gate"] {
            #expect(timeline.contains("<title>\(mark)</title>"), "\(mark)")
        }
        #expect(timeline.contains("<caption class=\"muted\">Changes of production, newest first</caption>"))
        #expect(timeline.contains("<td>rollback</td><td>v3</td><td>v2</td><td>alice</td><td>v3 misbehaves</td>"), "\(timeline)")
        #expect(timeline.contains("<td>forced</td><td>v2</td><td>v3</td><td>bob</td>"), "\(timeline)")
        let forced = try #require(timeline.range(of: "<td>forced</td>")), rollback = try #require(timeline.range(of: "<td>rollback</td>"))
        #expect(forced.lowerBound < rollback.lowerBound, "newest first")
        #expect(timeline.contains("<caption class=\"muted\">Versions, newest first</caption>"))
        #expect(timeline.contains("<td>v3 <span class=\"tag good\">production</span></td>"), "\(timeline)")
        #expect(timeline.contains("<td>full</td><td class=\"num\">1500</td><td>rejected</td><td>run 3</td>"), "\(timeline)")
        // On the dashboard, a version's run is a link to its page.
        let linked = r.body(runLink: { "/jobs/churn/runs/\($0)" })
        #expect(linked.contains("<a href=\"/jobs/churn/runs/2\">run 2</a>"))

        // The sections in the order a person reads them.
        let order = ["The decision", "Concept drift: production's performance", "Feature drift", "Label and prediction drift", "The gate", "The job's timeline"]
        let positions = order.compactMap { html.range(of: "<h2>\($0)</h2>")?.lowerBound }
        #expect(positions.count == order.count && positions == positions.sorted())
    }

    @Test("Text is escaped wherever it goes")
    func escaping() {
        #expect(HTML.escape("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
        let c = column("<b>evil</b>", drifted: true, psi: 1, bins: .init(categories: ["<script>"], reference: [3, 0, 0], current: [1, 2, 0]))
        let svg = Chart.distribution(c.bins!, column: c.column)
        #expect(!svg.contains("<script>") && !svg.contains("<b>"))
        #expect(svg.contains("&lt;script&gt;"))
    }

    @Test("A numeric column's chart: two bars per bin with each share and count in words, the edges labelled, missing apart")
    func numericChart() {
        let bins = ColumnDrift.Bins(edges: [10, 20], reference: [50, 30, 20, 0], current: [10, 10, 70, 10])
        let svg = Chart.distribution(bins, column: "charges")
        #expect(svg.components(separatedBy: "<rect class=\"ref\"").count - 1 == 4 + 1)  // 3 bins + missing, and the legend's
        #expect(svg.components(separatedBy: "<rect class=\"cur\"").count - 1 == 4 + 1)
        #expect(svg.contains("&gt; 20: current 70.0 % (70 rows)"))
        #expect(svg.contains("≤ 10: reference 50.0 % (50 rows)"))
        #expect(svg.contains(">missing</text>"))
        #expect(svg.contains("reference (100 rows)") && svg.contains("current (100 rows)"))
        #expect(svg.contains("share of rows (%)"))
    }

    @Test("Many categories: the 23 largest drawn, the rest summed as other; unseen shown when there are any")
    func manyCategories() {
        let categories = (0..<40).map { "k\($0)" }
        let reference = (0..<40).map { 40 - $0 } + [0, 0]
        let current = (0..<40).map { 40 - $0 } + [5, 0]
        let svg = Chart.distribution(.init(categories: categories, reference: reference, current: current), column: "plan")
        #expect(svg.contains("other (17)"))
        #expect(svg.contains(">unseen</text>"))
        #expect(!svg.contains(">missing</text>"))
        #expect(svg.contains(">k0</text>") && !svg.contains(">k39</text>"))
    }

    @Test("Axis ticks fall on round steps and cover the data")
    func ticks() {
        #expect(Chart.niceTicks(max: 0.37) == [0, 0.1, 0.2, 0.30000000000000004, 0.4])
        let t = Chart.niceTicks(from: 0.61, to: 0.93)
        #expect(t.first! <= 0.61 && t.last! >= 0.93 && t.count <= 8)
        #expect(Chart.xTicks(1, 40, time: false).ticks == [10, 20, 30, 40])
        #expect(Chart.xTicks(1, 6, time: false).ticks == [2, 4, 6], "whole batches only")
        #expect(Chart.xTicks(0, 7200, time: true).step == 900)
    }

    @Test("Lines leave gaps where a value is missing, and each line is named at its end")
    func lines() {
        let svg = Chart.lines(
            [.init(name: "job", points: [(1, 0.8), (2, nil), (3, 0.7), (4, 0.75)]), .init(name: "never", points: [(1, 0.8), (2, 0.6), (3, 0.5), (4, 0.5)])],
            tracks: [.init(name: "promoted", symbol: .triangleUp, marks: [(3, "v2 promoted")])], xLabel: "batch", yLabel: "accuracy", label: "x")
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)  // job's 3–4 segment and never's line; job's lone point 1 is a dot
        #expect(svg.contains(">job</text>") && svg.contains(">never</text>"))
        #expect(svg.contains("<title>v2 promoted</title>"))
        #expect(svg.contains(">promoted</text>"))
    }
}
