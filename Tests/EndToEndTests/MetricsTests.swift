import Foundation
import Testing

/// The daemon's `/metrics` and `run --once`'s textfile, parsed by Prometheus's own Python client,
/// agreeing with `updater status --json`.
@Suite("Prometheus metrics, through the binary")
struct MetricsTests {
    /// Prometheus's linter: Debian's prometheus package's, or the copy `scripts/install-deps.sh`
    /// takes out of that package into .build-tools/bin.
    static let promtool = ["/usr/bin/promtool", repo.appendingPathComponent(".build-tools/bin/promtool").path]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `curl` on 127.0.0.1: status code and body.
    func get(_ url: String, token: String? = nil) throws -> (status: Int, body: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["curl", "-s", "-w", "\n%{http_code}", url] + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? [])
        let r = try Workspace.collect(p)
        var lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let code = Int(lines.popLast() ?? "") ?? 0
        return (code, lines.joined(separator: "\n"))
    }

    /// The samples of a Prometheus text exposition, as the `prometheus_client` parser reads them:
    /// "name{label=value,...}" → value, labels sorted.
    func parse(_ text: String, in ws: Workspace) throws -> [String: Double] {
        try text.write(toFile: ws.root + "/scraped.prom", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                for s in family.samples:
                    labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                    out[s.name + "{" + labels + "}"] = s.value
            print(json.dumps(out))
            """, ws.root + "/scraped.prom"]
        let r = try Workspace.collect(p)
        #expect(r.status == 0, "prometheus_client could not parse it (pip install prometheus-client): \(r.stderr)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Double] ?? [:]
    }

    @Test("the daemon serves /metrics that Prometheus's parser reads, agreeing with status --json")
    func scrape() throws {
        let ws = try Workspace()
        try ws.addJob("m")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/m/b1.csv")
        let daemon = try DaemonProcess(ws, notify: nil)
        defer { _ = daemon.stop() }
        let url = try #require(daemon.metricsURL(), "\(daemon.log)")
        #expect(url.hasPrefix("http://127.0.0.1:"))
        #expect(daemon.waitForLog("promoted v1"), "\(daemon.log)")
        let (status, body) = try get(url)
        #expect(status == 200)
        let samples = try parse(body, in: ws)
        let shown = try JSONSerialization.jsonObject(with: Data(try ws.run(["status", "--json"]).stdout.utf8)) as? [String: Any]
        let job = (shown?["jobs"] as? [[String: Any]])?.first
        #expect(samples["updater_production_version{updater_job=m}"] == Double(job?["production_version"] as? Int ?? -1), "\(samples)")
        #expect(samples["updater_batches{state=pending,updater_job=m}"] == Double(job?["pending_batches"] as? Int ?? -1))
        #expect(samples["updater_batches{state=consumed,updater_job=m}"] == 1)
        #expect(samples["updater_runs_total{decision=full,state=succeeded,updater_job=m}"] == 1)
        #expect(samples["updater_gate_results_total{metric=roc_auc,outcome=pass,updater_job=m}"] == 1)
        #expect(samples["updater_run_duration_seconds_count{updater_job=m}"] == 1)
        #expect(samples["updater_job_interval_seconds{updater_job=m}"] == 3600, "an absent [schedule] runs hourly")
        #expect(samples["updater_gate_min{metric=roc_auc,updater_job=m}"] == 0.75)
        #expect((samples["updater_training_rows_total{updater_job=m}"] ?? 0) > 800)
        #expect((samples["updater_last_success_timestamp_seconds{updater_job=m}"] ?? 0) > Date().timeIntervalSince1970 - 600)
        #expect(try get(url.replacingOccurrences(of: "/metrics", with: "/other")).status == 404)
        // Prometheus's own linter, when it is there (`scripts/install-deps.sh` fetches it).
        if let promtool = Self.promtool {
            let lint = Process()
            lint.executableURL = URL(fileURLWithPath: "/bin/sh")
            lint.arguments = ["-c", "'\(promtool)' check metrics < '\(ws.root)/scraped.prom'"]
            let r = try Workspace.collect(lint)
            #expect(r.status == 0, "promtool check metrics: \(r.output)")
        }
    }

    @Test("a bearer token, when given, is required; an address other than the loopback one refuses to start without one")
    func token() throws {
        let ws = try Workspace()
        try ws.addJob("t")
        try "s3cret-token\n".write(toFile: ws.root + "/token", atomically: true, encoding: .utf8)
        let refused = try ws.run(["run", "--metrics-listen", "0.0.0.0:9464"])
        #expect(refused.status == 64, "\(refused.output)")
        #expect(refused.stderr.contains("is not the loopback address: give a bearer token with --metrics-token-file"), "\(refused.stderr)")
        let daemon = try DaemonProcess(ws, notify: nil, arguments: ["--metrics-listen", "127.0.0.1:0", "--metrics-token-file", ws.root + "/token"])
        defer { _ = daemon.stop() }
        let url = try #require(daemon.metricsURL(), "\(daemon.log)")
        #expect(try get(url).status == 401)
        #expect(try get(url, token: "wrong").status == 401)
        #expect(try get(url, token: "s3cret-token").status == 200)
        #expect(!daemon.log.contains("s3cret"), "the token never reaches the log")
    }

    @Test("run --once --metrics-textfile writes the same figures atomically for node_exporter's textfile collector")
    func textfile() throws {
        let ws = try Workspace()
        try ws.addJob("f")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/f/b1.csv")
        try FileManager.default.createDirectory(atPath: ws.root + "/textfile", withIntermediateDirectories: true)
        let r = try ws.run(["run", "--once", "--metrics-textfile", ws.root + "/textfile"])
        #expect(r.status == 0, "\(r.output)")
        let text = try String(contentsOfFile: ws.root + "/textfile/updater.prom", encoding: .utf8)
        let samples = try parse(text, in: ws)
        #expect(samples["updater_production_version{updater_job=f}"] == 1)
        #expect(samples["updater_rollbacks_total{updater_job=f}"] == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: ws.root + "/textfile")
        #expect(leftovers == ["updater.prom"], "no temporary file is left for the collector to read half-written")
    }

    @Test("promtool accepts the alert rules in docs/ (when promtool is there)", .enabled(if: MetricsTests.promtool != nil))
    func alertRules() throws {
        let rules = Self.repo.appendingPathComponent("docs/prometheus/updater-alerts.yml").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MetricsTests.promtool!)
        p.arguments = ["check", "rules", rules]
        let r = try Workspace.collect(p)
        #expect(r.status == 0 && r.output.contains("SUCCESS: 7 rules found"), "\(r.output)")
    }
}
