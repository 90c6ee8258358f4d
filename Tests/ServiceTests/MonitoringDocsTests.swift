import Foundation
import Registry
import Testing

@testable import Service

/// The Grafana dashboard and the alert rules in docs/ load as they are: every metric they name is
/// one updater exposes, and the dashboard is valid JSON on a datasource variable (MetricsTests
/// runs promtool on the rules).
@Suite("The monitoring files in docs/")
struct MonitoringDocsTests {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs")

    /// Every metric family the exposition has when every figure is present.
    static var exposed: Set<String> {
        var f = JobFigures(job: "churn")
        f.productionVersion = 1
        f.runs = [.init(state: "succeeded", decision: "full", count: 1)]
        f.runSeconds = [1]
        f.lastDriftReport = #"{"columns":[{"column":"x","kind":"numeric","status":"ok","method":"ks","statistic":0.3,"p_value":0.001,"threshold":0.05,"drifted":true,"psi":0.4,"weight":1}],"targets":[],"schema_changes":[],"online":[],"drifted_share":1,"severity":"severe","summary":"severe"}"#
        f.served = .init(metric: "accuracy", value: 0.8)
        f.estimated = ["accuracy": 0.78]
        f.realized = .init(metric: "accuracy", value: 0.79)
        f.gateResults = [.init(metric: "accuracy", outcome: "fail", count: 1)]
        f.lastSuccess = Date()
        let text = MetricsExposition.text(
            jobs: [f], endpoints: [EndpointFigures(endpoint: "ops")], intervals: ["churn": 3600],
            bounds: [("churn", "accuracy", 0.7, nil), ("churn", "rmse", nil, 2)])
        return Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
    }

    /// The `updater_…` names a text refers to, without a histogram's suffixes.
    static func referenced(_ text: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: "updater_[a-z_]+")
        let names = regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range, in: text)!]) }
        return Set(names.map { name in
            for suffix in ["_bucket", "_count", "_sum"] where name.hasSuffix(suffix) && name.hasPrefix("updater_run_duration_seconds") {
                return String(name.dropLast(suffix.count))
            }
            return name
        }.filter { $0 != "updater_job" && !$0.hasSuffix("_") })
    }

    @Test("every metric the alert rules, the dashboard and the metrics doc name is exposed", arguments: [
        "prometheus/updater-alerts.yml", "grafana/updater-dashboard.json", "metrics-endpoint.md",
    ])
    func namesExist(file: String) throws {
        let text = try String(contentsOf: Self.docs.appendingPathComponent(file), encoding: .utf8)
        let names = Self.referenced(text)
        #expect(names.count >= 5, "\(names)")
        let unknown = names.subtracting(Self.exposed)
        #expect(unknown.isEmpty, "\(file) names metrics updater does not expose: \(unknown.sorted())")
    }

    @Test("the dashboard is JSON whose every panel queries Prometheus through the datasource variable")
    func dashboard() throws {
        let data = try Data(contentsOf: Self.docs.appendingPathComponent("grafana/updater-dashboard.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(json["panels"] as? [[String: Any]])
        #expect(panels.count >= 8)
        for panel in panels {
            #expect((panel["datasource"] as? [String: Any])?["uid"] as? String == "${datasource}", "\(panel["title"] ?? "")")
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty && targets.allSatisfy { ($0["expr"] as? String)?.contains("updater_") == true })
        }
    }
}
