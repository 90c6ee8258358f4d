import Foundation
import Registry
import Testing

@testable import Service

@Suite("Where metrics are served, and what they say")
struct MetricsListenTests {
    @Test("HOST:PORT, [::1]:PORT and off are read; a bad address names itself")
    func parse() throws {
        #expect(try MetricsListen.parse("off", tokenFile: nil) == nil)
        #expect(try MetricsListen.parse("127.0.0.1:9464", tokenFile: nil, environment: [:]) == MetricsListen(host: "127.0.0.1", port: 9464, token: nil))
        #expect(try MetricsListen.parse("[::1]:0", tokenFile: nil, environment: [:])?.host == "::1")
        let bad = #expect(throws: MetricsError.self) { try MetricsListen.parse("localhost", tokenFile: nil) }
        #expect(bad?.description == "--metrics-listen: expected HOST:PORT (such as 127.0.0.1:9464) or off, got \"localhost\"")
    }

    @Test("another address needs a token, from a file or the systemd credential; the token is never printed")
    func token() throws {
        let dir = NSTemporaryDirectory() + "updater-token-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let refused = #expect(throws: MetricsError.self) { try MetricsListen.parse("0.0.0.0:9464", tokenFile: nil, environment: [:]) }
        #expect(refused?.description.contains("is not the loopback address") == true)
        try "t0ken\n".write(toFile: dir + "/metrics-token", atomically: true, encoding: .utf8)
        let listen = try #require(try MetricsListen.parse("0.0.0.0:9464", tokenFile: nil, environment: ["CREDENTIALS_DIRECTORY": dir]))
        #expect(listen.token == "t0ken")
        var dumped = ""
        dump(listen, to: &dumped)
        #expect(!"\(listen)".contains("t0ken") && !String(reflecting: listen).contains("t0ken") && !dumped.contains("t0ken"))
        try "".write(toFile: dir + "/empty", atomically: true, encoding: .utf8)
        let empty = #expect(throws: MetricsError.self) { try MetricsListen.parse("127.0.0.1:1", tokenFile: dir + "/empty") }
        #expect(empty?.description == "the metrics token file \(dir)/empty is empty")
    }

    @Test("the exposition names every figure with bounded labels")
    func exposition() {
        var f = JobFigures(job: "churn")
        f.productionVersion = 3
        f.runs = [.init(state: "succeeded", decision: "full", count: 2)]
        f.runSeconds = [0.3, 12]
        f.batches = ["pending": 1]
        f.rollbacks = 1
        f.estimated = ["accuracy": 0.75]
        f.realized = .init(metric: "accuracy", value: 0.5)
        f.awaitingLabels = 7
        let text = MetricsExposition.text(
            jobs: [f], endpoints: [EndpointFigures(endpoint: "ops", pending: 2, retrying: 1, dead: 0, disabled: true)],
            now: Date(timeIntervalSince1970: 1_800_000_000))
        for line in [
            "updater_production_version{updater_job=\"churn\"} 3.0",
            "updater_runs_total{updater_job=\"churn\",state=\"succeeded\",decision=\"full\"} 2",
            "updater_run_duration_seconds_count{updater_job=\"churn\"} 2",
            "updater_run_duration_seconds_bucket{updater_job=\"churn\",le=\"0.5\"} 1",
            "updater_batches{updater_job=\"churn\",state=\"pending\"} 1.0",
            "updater_batches{updater_job=\"churn\",state=\"set_aside\"} 0.0",
            "updater_rollbacks_total{updater_job=\"churn\"} 1",
            "updater_webhook_deliveries{endpoint=\"ops\",state=\"retrying\"} 1.0",
            "updater_webhook_endpoint_disabled{endpoint=\"ops\"} 1.0",
            "updater_production_estimated_metric{updater_job=\"churn\",metric=\"accuracy\"} 0.75",
            "updater_production_realized_metric{updater_job=\"churn\",metric=\"accuracy\"} 0.5",
            "updater_rows_awaiting_labels{updater_job=\"churn\"} 7.0",
        ] {
            #expect(text.contains(line + "\n"), "\(line)\n\(text)")
        }
    }
}
