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
