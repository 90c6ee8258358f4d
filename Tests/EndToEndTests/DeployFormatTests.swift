import Foundation
import Testing

/// `deploy.format`: updater's file, ONNX, or both, each with its metadata file, through promotion,
/// rollback and the `model.*` events.
@Suite("Published formats and their metadata")
struct DeployFormatTests {
    struct Metadata: Decodable {
        var job: String
        var version: Int
        var format: String
        var path: String
        var sha256: String
        var classes: [String]?
        var decision_threshold: Double?
        var features: [[String: String]]
        var training_window_fingerprint: String
    }

    func metadata(_ ws: Workspace, _ relative: String) throws -> Metadata {
        try JSONDecoder().decode(Metadata.self, from: try #require(ws.bytes(relative), "no \(relative)"))
    }

    func sha256(_ ws: Workspace, _ relative: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sha256sum", ws.root + "/" + relative]
        return String(try Workspace.collect(p).stdout.prefix(64))
    }

    /// A workspace whose job `churn` publishes with `deploy` (its `[deploy]` path and format lines),
    /// after the run that made v1.
    func firstVersion(deploy: String) throws -> Workspace {
        let ws = try Workspace()
        try ws.addJob("churn")
        var text = try #require(String(data: ws.bytes("jobs/churn.toml")!, encoding: .utf8))
        text = text.replacingOccurrences(of: "path = \"../deploy/churn.model\"", with: deploy)
        try ws.write(text, to: "jobs/churn.toml")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/churn/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        return ws
    }

    /// The `data` of the newest stored webhook event of `type` (events are stored whether or not
    /// an endpoint wants them).
    func eventData(_ ws: Workspace, _ type: String) throws -> [String: Any] {
        let payload = try ws.sql("SELECT payload FROM webhook_event WHERE type = '\(type)' ORDER BY created_at DESC LIMIT 1")
        try #require(!payload.isEmpty, "no \(type) event")
        let event = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any], "\(payload)")
        return try #require(event["data"] as? [String: Any], "\(payload)")
    }

    /// Checks that an event's data names what is published now: the deploy path's file, its
    /// format and checksum, and every published file with its own.
    func expectPublished(_ data: [String: Any], _ ws: Workspace, formats: [String: String], version: Int) throws {
        #expect(data["to_version"] as? Int == version, "\(data)")
        #expect(data["deploy_path"] as? String == ws.root + "/deploy/churn.model", "\(data)")
        #expect(data["format"] as? String == "updater", "\(data)")
        #expect(data["sha256"] as? String == (try sha256(ws, "deploy/churn.model")), "\(data)")
        let files = try #require(data["files"] as? [[String: Any]], "\(data)")
        #expect(files.count == formats.count, "\(files)")
        for (format, relative) in formats {
            let file = files.first { $0["format"] as? String == format }
            #expect(file?["path"] as? String == ws.root + "/" + relative, "\(format): \(files)")
            #expect(file?["sha256"] as? String == (try sha256(ws, relative)), "\(format): \(files)")
        }
    }

    @Test("both formats: updater's file at the path, ONNX beside it, a metadata file beside each; a rollback replaces all four")
    func both() throws {
        let ws = try firstVersion(deploy: "path = \"../deploy/churn.model\"\nformat = [\"updater\", \"onnx\"]")
        let files = try FileManager.default.contentsOfDirectory(atPath: ws.root + "/deploy").filter { !$0.hasPrefix(".") }.sorted()
        #expect(files == ["churn.model", "churn.model.json", "churn.onnx", "churn.onnx.json"], "\(files)")
        let onnx = try metadata(ws, "deploy/churn.onnx.json")
        #expect(onnx.job == "churn" && onnx.version == 1 && onnx.format == "onnx")
        #expect(onnx.sha256 == (try sha256(ws, "deploy/churn.onnx")), "the metadata names the file's own checksum")
        #expect(onnx.classes == ["no", "yes"] && onnx.decision_threshold == 0.5)
        #expect(onnx.features.map { $0["name"] ?? "" } == ["x1", "x2", "colour"])
        #expect(onnx.training_window_fingerprint.count == 64)
        let model = try metadata(ws, "deploy/churn.model.json")
        #expect(model.sha256 == (try sha256(ws, "deploy/churn.model")) && model.format == "updater")
        // The ONNX file is the export of v1.
        #expect(try ws.run(["export", "churn", "--format", "onnx", "--output", ws.root + "/v1.onnx"]).status == 0)
        #expect(ws.bytes("v1.onnx") == ws.bytes("deploy/churn.onnx"))
        // The event says what was published where.
        let event = try ws.sql("SELECT payload FROM webhook_event WHERE type = 'model.promoted' ORDER BY created_at LIMIT 1")
        #expect(event.contains("\"deploy_path\":\"\(ws.root)/deploy/churn.model\"") || event.contains("\"deploy_path\" : \"\(ws.root)/deploy/churn.model\""), "\(event)")
        #expect(event.contains(model.sha256) && event.contains(onnx.sha256) && event.contains("\"onnx\""), "\(event)")

        // v2 (a full retrain asked for), then a rollback to v1: every file is v1's again.
        #expect(try ws.run(["trigger", "churn", "--full"]).status == 0)
        let second = try ws.run(["run", "--once"])
        #expect(second.status == 0 && second.output.contains("promoted"), "\(second.output)")
        #expect(try metadata(ws, "deploy/churn.onnx.json").version == 2)
        let back = try ws.run(["rollback", "churn", "--reason", "test"])
        #expect(back.status == 0, "\(back.output)")
        #expect(ws.bytes("deploy/churn.onnx") == ws.bytes("v1.onnx"), "the rollback published v1's ONNX file")
        #expect(try metadata(ws, "deploy/churn.onnx.json").version == 1 && (try metadata(ws, "deploy/churn.model.json")).version == 1)
        // The rollback's event says what was published where, as a promotion's does.
        let rolledBack = try eventData(ws, "model.rolled_back")
        #expect(rolledBack["from_version"] as? Int == 2 && rolledBack["actor"] as? String == "tester", "\(rolledBack)")
        #expect(rolledBack["run"] is NSNull, "a rollback belongs to no run (docs/webhooks.md): \(rolledBack)")
        try expectPublished(rolledBack, ws, formats: ["updater": "deploy/churn.model", "onnx": "deploy/churn.onnx"], version: 1)
    }

    @Test("a forced promotion's event carries the deploy path, format and checksum of every published file")
    func forced() throws {
        let ws = try firstVersion(deploy: "path = \"../deploy/churn.model\"\nformat = [\"updater\", \"onnx\"]")
        // Labels scrambled: v2 is rejected by the gate; a person releases it anyway.
        try ws.write(Synthetic.csv(rows: 1200, seed: 3, shift: 1.5, scramble: true, firstID: 20_000), to: "incoming/churn/b2.csv")
        let second = try ws.run(["run", "--once"])
        #expect(second.stdout.contains("v2 rejected by the gate"), "\(second.output)")
        let r = try ws.run(["promote", "churn", "2", "--force", "--reason", "labels fixed upstream"])
        #expect(r.status == 0 && r.stdout.contains("forced promotion recorded"), "\(r.output)")
        #expect(try metadata(ws, "deploy/churn.onnx.json").version == 2 && (try metadata(ws, "deploy/churn.model.json")).version == 2)
        let forced = try eventData(ws, "model.forced")
        #expect(forced["from_version"] as? Int == 1 && forced["reason"] as? String == "labels fixed upstream", "\(forced)")
        #expect(forced["run"] is NSNull, "a person's promotion belongs to no run: \(forced)")
        try expectPublished(forced, ws, formats: ["updater": "deploy/churn.model", "onnx": "deploy/churn.onnx"], version: 2)
    }

    @Test("onnx alone: the deploy path holds the ONNX file; a deleted metadata file is written again by the next cycle")
    func onnxOnly() throws {
        let ws = try firstVersion(deploy: "path = \"../deploy/churn.onnx\"\nformat = \"onnx\"")
        #expect(try metadata(ws, "deploy/churn.onnx.json").sha256 == (try sha256(ws, "deploy/churn.onnx")))
        try FileManager.default.removeItem(atPath: ws.root + "/deploy/churn.onnx.json")
        let again = try ws.run(["run", "--once"])
        #expect(again.status == 0, "\(again.output)")
        #expect(try metadata(ws, "deploy/churn.onnx.json").version == 1, "the cycle repairs what is published")
    }

    @Test("bad formats are refused with the key and why")
    func badFormats() throws {
        let ws = try Workspace()
        try ws.addJob("a")
        for (format, path, message) in [
            ("\"pmml\"", "../deploy/a.model", "deploy.format: expected \"updater\", \"onnx\" or [\"updater\", \"onnx\"], got \"pmml\""),
            ("[\"onnx\", \"onnx\"]", "../deploy/a.model", "deploy.format: expected"),
            ("[\"updater\", \"onnx\"]", "../deploy/a.onnx", "deploy.path: holds updater's model file when format is [\"updater\", \"onnx\"]"),
        ] {
            var text = try #require(String(data: ws.bytes("jobs/a.toml")!, encoding: .utf8))
            text = text.replacingOccurrences(of: #"(?m)^path = .*$"#, with: "path = \"\(path)\"\nformat = \(format)", options: .regularExpression)
            try ws.write(text, to: "jobs/b.toml")
            let r = try ws.run(["validate", ws.jobs + "/b.toml"], global: false)
            #expect(r.status != 0 && r.output.contains(message), "\(format): \(r.output)")
        }
    }
}
