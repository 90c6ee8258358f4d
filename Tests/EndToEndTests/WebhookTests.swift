import Foundation
import Testing

@testable import Webhooks

#if canImport(Glibc)
import Glibc
#endif

/// The signing secret of these tests (32 random bytes).
let webhookSecret = "whsec_" + Data((0..<32).map { UInt8(($0 * 37 + 11) % 256) }).base64EncodedString()

extension Workspace {
    /// Writes `webhooks.toml` beside the jobs directory (where updater looks by default) with one
    /// standard endpoint per (name, url), signed with ``webhookSecret`` from a file.
    func addWebhooks(_ endpoints: [(name: String, url: String)], schedule: String = #"["1s", "1s", "1s"]"#, extra: String = "") throws {
        try write(webhookSecret + "\n", to: "webhook.secret")
        var text = "retry_schedule = \(schedule)\n"
        for e in endpoints {
            text += """

                [[webhooks]]
                name = "\(e.name)"
                url = "\(e.url)"
                secret_file = "webhook.secret"
                \(extra)

                """
        }
        try write(text, to: "webhooks.toml")
    }

    /// A job file that does not validate: the daemon sends `job.invalid` for it at once, without training.
    func addBrokenJob(_ name: String) throws {
        try write("[data]\nlabel = 3\n", to: "jobs/\(name).toml")
    }

    /// `updater webhooks deliveries --json`.
    /// Waits (bounded) until the delivery records satisfy `done`.
    func waitForDeliveries(seconds: Double = 30, _ done: ([[String: Any]]) -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if done(try deliveries()) { return true }
            usleep(100_000)
        }
        return false
    }

    func deliveries() throws -> [[String: Any]] {
        try json(["webhooks", "deliveries", "--limit", "1000"]) as? [[String: Any]] ?? []
    }

    /// Every byte of the state database (and its WAL), as text.
    var databaseText: String {
        ["registry.sqlite", "registry.sqlite-wal"].compactMap { bytes("state/" + $0) }.map { String(decoding: $0, as: UTF8.self) }
            .joined()
    }
}

extension Receiver.Request {
    var webhookID: String { headers["webhook-id"] ?? "" }
    var timestamp: Int { Int(headers["webhook-timestamp"] ?? "") ?? 0 }
    var event: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    var type: String { event["type"] as? String ?? "" }
    var data: [String: Any] { event["data"] as? [String: Any] ?? [:] }

    /// Whether the Standard Webhooks signature verifies with ``webhookSecret``, over the exact bytes
    /// received, with a timestamp within 5 minutes.
    var verified: Bool {
        guard let key = try? StandardWebhooks.key(webhookSecret), abs(Double(timestamp) - Date().timeIntervalSince1970) < 300 else {
            return false
        }
        let expected = StandardWebhooks.signature(id: webhookID, timestamp: timestamp, body: body, keys: [key])
        return (headers["webhook-signature"] ?? "").split(separator: " ").contains(Substring(expected))
    }
}

@Suite("Webhooks: events, signatures, retries, restarts", .serialized)
struct WebhookTests {
    @Test("a full cycle (promote, drift, promote, rollback) sends every event, each signed; secrets stay out of logs, output and the database")
    func fullCycle() throws {
        let ws = try Workspace()
        let receiver = try Receiver()
        try ws.addWebhooks([("ops", receiver.url)])
        try ws.addJob("cycle")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/cycle/b1.csv")
        let first = try ws.run(["run", "--once"])
        #expect(first.stdout.contains("cycle: promoted (run 1): promoted v1"), "\(first.output)")
        try ws.write(Synthetic.csv(rows: 1200, seed: 2, shift: 1.5, firstID: 10_000), to: "incoming/cycle/b2.csv")
        let second = try ws.run(["run", "--once"])
        #expect(second.stdout.contains("promoted v1 → v2"), "\(second.output)")
        let rollback = try ws.run(["rollback", "cycle", "--reason", "v2 misbehaves"])
        #expect(rollback.status == 0, "\(rollback.output)")
        // The CLI records the event; the daemon delivers it.
        let third = try ws.run(["run", "--once"])

        // `run --once` delivers before it exits: every request is in once the rollback's is.
        let got = receiver.wait { $0.contains { $0.type == "model.rolled_back" } }
        let types = got.map(\.type)
        // Run 1 (no production yet, so no drift check), run 2 (drift; the gate may first reject an
        // incremental candidate), then the rollback.
        #expect(Array(types.prefix(4)) == ["run.started", "gate.passed", "model.promoted", "run.succeeded"], "\(types)")
        #expect(types.dropFirst(4).first == "run.started" && types.dropFirst(5).first == "drift.detected", "\(types)")
        #expect(Array(types.suffix(3)) == ["model.promoted", "run.succeeded", "model.rolled_back"], "\(types)")
        for type in ["run.started", "drift.detected", "gate.passed", "model.promoted", "run.succeeded", "model.rolled_back"] {
            #expect(types.contains(type), "\(type) missing from \(types)")
        }
        #expect(got.allSatisfy { $0.verified }, "every delivery is signed with the endpoint's secret")
        #expect(Set(got.map(\.webhookID)).count == got.count, "one id per event")
        #expect(got.allSatisfy { $0.headers["content-type"] == "application/json" && $0.webhookID.hasPrefix("msg_") })

        let promoted = try #require(got.last { $0.type == "model.promoted" })
        #expect(promoted.data["job"] as? String == "cycle" && promoted.data["from_version"] as? Int == 1 && promoted.data["to_version"] as? Int == 2)
        #expect((promoted.data["metrics"] as? [String: Any])?["roc_auc"] is Double)
        let drift = try #require(got.first { $0.type == "drift.detected" })
        #expect(["moderate", "severe"].contains(drift.data["severity"] as? String ?? ""))
        #expect(((drift.data["top_columns"] as? [[String: Any]])?.first?["column"] as? String).map { ["x1", "x2"].contains($0) } == true)
        let gate = try #require(got.first { $0.type == "gate.passed" })
        #expect(gate.data["version"] as? Int == 1 && (gate.data["failed_rules"] as? [Any])?.isEmpty == true)
        let back = try #require(got.first { $0.type == "model.rolled_back" })
        #expect(back.data["from_version"] as? Int == 2 && back.data["to_version"] as? Int == 1 && back.data["reason"] as? String == "v2 misbehaves")
        #expect(back.data["actor"] as? String == "tester")

        // Every delivery is recorded as delivered, once.
        let deliveries = try ws.deliveries()
        #expect(deliveries.count == got.count && deliveries.allSatisfy { $0["state"] as? String == "delivered" && $0["attempts"] as? Int == 1 })
        let listed = try ws.run(["webhooks", "list"])
        #expect(listed.stdout.contains("ops") && listed.stdout.contains("enabled") && listed.stdout.contains("http://127.0.0.1:\(receiver.port)/…"), "\(listed.output)")

        // The secret (and its key bytes) appear nowhere.
        let key = String(webhookSecret.dropFirst(6))
        let everything = [first.output, second.output, third.output, rollback.output, listed.output, try ws.run(["status", "--json"]).output,
            try ws.run(["webhooks", "list", "--json"]).output, try ws.run(["webhooks", "deliveries", "--json"]).output, ws.databaseText]
        #expect(!everything.contains { $0.contains(key) })
    }

    @Test("500 then 200: delivered once, with the same id and a fresh, later timestamp")
    func retryAfterServerError() throws {
        let ws = try Workspace()
        let receiver = try Receiver { _, n in .init(status: n == 0 ? 500 : 200, body: n == 0 ? "boom" : "ok") }
        try ws.addWebhooks([("ops", receiver.url)])
        try ws.addBrokenJob("broken")
        let daemon = try DaemonProcess(ws, notify: nil)
        let got = receiver.wait(for: 2)
        // Recorded as delivered: no third attempt will come.
        #expect(try ws.waitForDeliveries { $0.first?["state"] as? String == "delivered" }, "\(daemon.log)")
        #expect(receiver.requests.count == 2, "\(daemon.log)")
        #expect(got.count == 2 && got[0].type == "job.invalid" && got.allSatisfy { $0.verified })
        #expect(got.count == 2 && got[0].webhookID == got[1].webhookID && got[1].timestamp > got[0].timestamp)
        #expect(got.count == 2 && got[0].body == got[1].body, "the same body on every attempt")
        #expect(daemon.log.contains("job.invalid") && daemon.log.contains("failed (attempt 1 of 4): HTTP 500: boom"), "\(daemon.log)")
        let d = try ws.deliveries()
        #expect(d.count == 1 && d[0]["state"] as? String == "delivered" && d[0]["attempts"] as? Int == 2, "\(d)")
        #expect(daemon.stop() == 0)
    }

    @Test("a receiver that hangs times out and is retried; another endpoint's deliveries are not held up meanwhile")
    func hangingReceiver() throws {
        let ws = try Workspace()
        let slow = try Receiver { _, n in .init(delay: n == 0 ? 5 : 0) }
        let fast = try Receiver()
        try ws.write(webhookSecret + "\n", to: "webhook.secret")
        // "a-slow" sorts first: one thread for all endpoints would reach "b-fast" only after the timeout.
        try ws.write(
            """
            retry_schedule = ["1s"]

            [[webhooks]]
            name = "a-slow"
            url = "\(slow.url)"
            secret_file = "webhook.secret"
            timeout = "4s"

            [[webhooks]]
            name = "b-fast"
            url = "\(fast.url)"
            secret_file = "webhook.secret"
            """, to: "webhooks.toml")
        try ws.addBrokenJob("broken")
        let daemon = try DaemonProcess(ws, notify: nil)
        let first = slow.wait(for: 1)
        let quick = fast.wait(for: 1)
        #expect(first.count == 1 && quick.count == 1)
        if let hung = first.first, let answered = quick.first {
            #expect(answered.at.timeIntervalSince(hung.at) < 2, "b-fast is served while a-slow hangs")
        }
        let got = slow.wait(for: 2)
        #expect(got.count == 2 && got[0].webhookID == got[1].webhookID)
        #expect(daemon.waitForLog("to a-slow failed (attempt 1 of 2): Operation timed out"), "\(daemon.log)")
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, (try ws.deliveries()).contains(where: { $0["state"] as? String != "delivered" }) { usleep(200_000) }
        #expect(try ws.deliveries().allSatisfy { $0["state"] as? String == "delivered" })
        #expect(daemon.stop() == 0)
    }

    @Test("connection refused: recorded and retried until the last attempt, then dead and kept; redeliver sends it again")
    func refused() throws {
        let ws = try Workspace()
        let gone = try Receiver()
        let port = gone.port
        gone.stop()
        try ws.addWebhooks([("down", "http://127.0.0.1:\(port)/hook")], schedule: #"["1s", "1s"]"#)
        try ws.addBrokenJob("broken")
        let daemon = try DaemonProcess(ws, notify: nil)
        #expect(daemon.waitForLog("is dead after 3 attempts"), "\(daemon.log)")
        let d = try ws.deliveries()
        #expect(d.count == 1 && d[0]["state"] as? String == "dead" && d[0]["attempts"] as? Int == 3, "\(d)")
        let lastError = (d.first?["last_error"] as? String) ?? ""
        #expect(lastError.lowercased().contains("connect"), "\(d)")
        let failed = try ws.run(["webhooks", "deliveries", "--failed"])
        #expect(failed.stdout.contains("dead") && failed.stdout.contains("job.invalid"), "\(failed.output)")
        let status = try ws.run(["status"])
        #expect(status.stdout.contains("webhook down: 1 dead delivery"), "\(status.output)")

        // A receiver is back on that port; redeliver sends the same event.
        let back = try Receiver(port: port)
        let id = try #require(d.first?["id"] as? Int)
        let r = try ws.run(["webhooks", "redeliver", String(id)])
        #expect(r.status == 0 && r.stdout.contains("is pending again"), "\(r.output)")
        let got = back.wait(for: 1)
        #expect(got.count == 1 && got.first?.webhookID == d.first?["event_id"] as? String && got.first?.verified == true)
        #expect(daemon.stop() == 0)
    }

    @Test("429 with Retry-After: the retry waits as long as the receiver asked")
    func retryAfter() throws {
        let ws = try Workspace()
        let receiver = try Receiver { _, n in n == 0 ? .init(status: 429, headers: ["Retry-After": "3"]) : .init() }
        try ws.addWebhooks([("ops", receiver.url)])
        try ws.addBrokenJob("broken")
        let daemon = try DaemonProcess(ws, notify: nil)
        let got = receiver.wait(for: 2)
        #expect(got.count == 2)
        if got.count == 2 { #expect(got[1].at.timeIntervalSince(got[0].at) >= 2.9, "retried after \(got[1].at.timeIntervalSince(got[0].at)) s") }
        #expect(daemon.stop() == 0)
    }

    @Test("410 Gone disables the endpoint: no more attempts, `updater status` says so, `webhooks enable` resumes it")
    func gone() throws {
        let ws = try Workspace()
        let receiver = try Receiver { _, n in .init(status: n == 0 ? 410 : 200) }
        try ws.addWebhooks([("ops", receiver.url)])
        try ws.addBrokenJob("broken")
        let daemon = try DaemonProcess(ws, notify: nil)
        #expect(receiver.wait(for: 1).count == 1)
        #expect(daemon.waitForLog("webhooks: ops disabled: the receiver answered 410 Gone"), "\(daemon.log)")
        // A second event waits while the endpoint is disabled.
        try ws.addBrokenJob("broken2")
        daemon.signal(SIGHUP)
        #expect(daemon.waitForLog("reloaded"))
        // The new event has its delivery, which waits.
        #expect(try ws.waitForDeliveries { $0.contains { $0["state"] as? String == "pending" } }, "\(daemon.log)")
        #expect(receiver.requests.count == 1, "a disabled endpoint gets nothing")
        let status = try ws.run(["status"])
        #expect(status.stdout.contains("webhook ops: DISABLED since") && status.stdout.contains("410 Gone"), "\(status.output)")
        let listed = try ws.json(["webhooks", "list"]) as? [[String: Any]]
        #expect(listed?.first?["disabled"] != nil && listed?.first?["dead"] as? Int == 1 && listed?.first?["pending"] as? Int == 1)

        #expect(try ws.run(["webhooks", "enable", "ops"]).stdout.contains("ops: enabled"))
        let got = receiver.wait(for: 2)
        #expect(got.count == 2 && got[1].type == "job.invalid" && (got[1].data["job"] as? String) == "broken2")
        #expect(daemon.stop() == 0)
    }

    @Test("killed while a delivery waits for its retry: sent after the restart, once, with the same id")
    func survivesRestart() throws {
        let ws = try Workspace()
        let receiver = try Receiver { _, n in .init(status: n == 0 ? 503 : 200) }
        try ws.addWebhooks([("ops", receiver.url)], schedule: #"["3s"]"#)
        try ws.addBrokenJob("broken")
        let daemon = try DaemonProcess(ws, notify: nil)
        #expect(receiver.wait(for: 1).count == 1)
        #expect(daemon.waitForLog("failed (attempt 1 of 2)"), "\(daemon.log)")
        daemon.crash()
        let waiting = try ws.deliveries()
        #expect(waiting.first?["state"] as? String == "pending" && waiting.first?["attempts"] as? Int == 1)

        let restarted = try DaemonProcess(ws, notify: nil)
        let got = receiver.wait(for: 2)
        #expect(try ws.waitForDeliveries { $0.first?["state"] as? String == "delivered" }, "\(restarted.log)")
        #expect(receiver.requests.count == 2, "delivered once after the restart: \(restarted.log)")
        #expect(got.count == 2 && got[0].webhookID == got[1].webhookID)
        #expect(try ws.deliveries().first?["state"] as? String == "delivered")
        // The restart's own job.invalid sighting is the same problem: no second event.
        #expect(try ws.deliveries().count == 1)
        #expect(restarted.stop() == 0)
    }

    @Test("kill -9 between publishing and committing a promotion: no model.promoted event; the completed promotion sends exactly one")
    func noEventWithoutCommit() throws {
        let ws = try Workspace()
        let receiver = try Receiver()
        try ws.addWebhooks([("ops", receiver.url)])
        try ws.addJob("promo")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/promo/b1.csv")
        #expect(try ws.run(["run", "--once"]).stdout.contains("promoted v1"))
        try ws.write(Synthetic.csv(rows: 1200, seed: 2, shift: 1.5, firstID: 10_000), to: "incoming/promo/b2.csv")
        let daemon = try DaemonProcess(ws, notify: nil, environment: ["UPDATER_TEST_STALL": "promotion"])
        #expect(daemon.waitForLog("stalled at promotion"), "\(daemon.log)")
        daemon.crash()
        func promotions() -> [Int] {
            receiver.requests.filter { $0.type == "model.promoted" }.compactMap { $0.data["to_version"] as? Int }
        }
        // The candidate and its gate.passed event were committed; the promotion and its event were not.
        #expect(try ws.sql("SELECT count(*) FROM webhook_event WHERE type = 'gate.passed'") == "2")
        #expect(try ws.sql("SELECT count(*) FROM webhook_event WHERE type = 'model.promoted'") == "1", "no event of the uncommitted promotion")
        #expect(promotions() == [1])

        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("promo: run 2: promoted v1 → v2"), "\(r.stderr)")
        _ = receiver.wait { $0.contains { $0.type == "run.succeeded" && $0.data["run"] as? Int == 2 } }
        #expect(promotions() == [1, 2], "\(receiver.requests.map(\.type))")
    }

    @Test("kill -9 after a promotion committed but before its run finished: the restart records the run as succeeded; one model.promoted")
    func afterPromotionCommitted() throws {
        let ws = try Workspace()
        let receiver = try Receiver()
        try ws.addWebhooks([("ops", receiver.url)])
        try ws.addJob("after")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/after/b1.csv")
        let daemon = try DaemonProcess(ws, notify: nil, environment: ["UPDATER_TEST_STALL": "promoted"])
        #expect(daemon.waitForLog("stalled at promoted"), "\(daemon.log)")
        _ = receiver.wait { $0.contains { $0.type == "model.promoted" } }
        // Delivery is at least once: wait until the delivery is recorded, so that the count below
        // is about events, not about an attempt the crash kept from being recorded.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !(try ws.deliveries()).contains(where: { $0["type"] as? String == "model.promoted" && $0["state"] as? String == "delivered" }) {
            usleep(50_000)
        }
        daemon.crash()
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("after: run 1 had promoted v1 before updater stopped; recorded as succeeded"), "\(r.stderr)")
        let runs = try ws.json(["runs", "after"]) as? [[String: Any]] ?? []
        #expect(runs.map { $0["state"] as? String } == ["succeeded"], "\(runs)")
        _ = receiver.wait { $0.contains { $0.type == "run.succeeded" } }
        let types = receiver.requests.map(\.type)
        #expect(types.filter { $0 == "model.promoted" }.count == 1, "\(types)")
        // The crash reported as an interruption, then the run's real end.
        #expect(Array(types.suffix(2)) == ["run.failed", "run.succeeded"], "\(types)")
    }

    @Test("`webhooks test` sends a signed test event and prints the answer; a failing endpoint exits 1")
    func testCommand() throws {
        let ws = try Workspace()
        let receiver = try Receiver { _, n in n == 0 ? .init(body: "thanks") : .init(status: 500, body: "nope") }
        try ws.addWebhooks([("ops", receiver.url)])
        let ok = try ws.run(["webhooks", "test", "ops"])
        #expect(ok.status == 0 && ok.stdout.contains("ops: delivered msg_") && ok.stdout.contains("HTTP 200") && ok.stdout.contains("thanks"), "\(ok.output)")
        let got = receiver.wait(for: 1)
        #expect(got.first?.type == "test" && got.first?.verified == true)
        let bad = try ws.run(["webhooks", "test", "ops", "--json"])
        #expect(bad.status == 1)
        let parsed = try JSONSerialization.jsonObject(with: Data(bad.stdout.utf8)) as? [String: Any]
        #expect(parsed?["status"] as? Int == 500 && parsed?["delivered"] as? Bool == false)
        let unknown = try ws.run(["webhooks", "test", "nope"])
        #expect(unknown.status == 1 && unknown.stderr.contains("no webhook endpoint \"nope\" (endpoints: ops)"), "\(unknown.output)")
    }

    @Test("Slack: a readable text and blocks, to a URL read from a file that never appears anywhere")
    func slack() throws {
        let ws = try Workspace()
        let receiver = try Receiver { _, n in .init(status: n == 0 ? 500 : 200, body: n == 0 ? "invalid_token" : "ok") }
        let secretURL = "http://127.0.0.1:\(receiver.port)/services/T000/B000/SLACKSECRETTOKEN"
        try ws.write(secretURL + "\n", to: "slack.url")
        try ws.write(
            """
            retry_schedule = ["1s"]

            [[webhooks]]
            name = "chat"
            format = "slack"
            url_file = "slack.url"
            events = ["job.invalid"]
            """, to: "webhooks.toml")
        try ws.addBrokenJob("broken")
        let daemon = try DaemonProcess(ws, notify: nil)
        let got = receiver.wait(for: 2)
        #expect(got.count == 2 && got[1].path == "/services/T000/B000/SLACKSECRETTOKEN")
        let message = got.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any] }
        #expect((message?["text"] as? String)?.hasPrefix("broken: the job file stopped validating") == true, "\(String(describing: message))")
        #expect((message?["blocks"] as? [Any])?.count == 2)
        #expect(got.first?.headers["webhook-signature"] == nil, "Slack deliveries are not signed")
        #expect(daemon.stop() == 0)
        let everything = [daemon.log, try ws.run(["webhooks", "list", "--json"]).output, try ws.run(["webhooks", "deliveries", "--json"]).output,
            try ws.run(["status"]).output, ws.databaseText]
        #expect(!everything.contains { $0.contains("SLACKSECRETTOKEN") })
    }

    @Test("a delivery verifies with the reference standardwebhooks Python package (when it is installed)")
    func referencePackage() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import standardwebhooks"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            print("skipped: the standardwebhooks Python package is not installed (pip install standardwebhooks)")
            return
        }
        let ws = try Workspace()
        let receiver = try Receiver()
        try ws.addWebhooks([("ops", receiver.url)])
        #expect(try ws.run(["webhooks", "test", "ops"]).status == 0)
        let got = try #require(receiver.wait(for: 1).first)
        try ws.write(String(decoding: got.body, as: UTF8.self), to: "body.json")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/verify_webhook.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, webhookSecret, got.webhookID, String(got.timestamp), got.headers["webhook-signature"] ?? "", ws.root + "/body.json"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0 && text.contains("verified"), "\(text)")
    }
}
