import Foundation
import Testing

/// `[deploy] command`: run after each change of the published model with what changed in its
/// environment; a failure is recorded, announced, shown and retried, and never undoes the change.
@Suite("Deploy commands")
struct DeployHookTests {
    /// A job whose deploy command is `hook.sh` in the jobs directory, with `extra` under `[deploy]`.
    func job(_ ws: Workspace, script: String, extra: String = "") throws {
        try ws.addJob("churn")
        var text = try #require(String(data: ws.bytes("jobs/churn.toml")!, encoding: .utf8))
        text = text.replacingOccurrences(
            of: "path = \"../deploy/churn.model\"", with: "path = \"../deploy/churn.model\"\ncommand = [\"./hook.sh\", \"reload\"]\n\(extra)")
        try ws.write(text, to: "jobs/churn.toml")
        try setHook(ws, script)
    }

    func setHook(_ ws: Workspace, _ script: String) throws {
        let path = ws.jobs + "/hook.sh"
        try ("#!/bin/sh\n" + script + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    /// KEY=VALUE lines written by the hook.
    func seen(_ ws: Workspace, _ file: String = "seen.env") -> [String: String] {
        let text = (ws.bytes(file).flatMap { String(data: $0, encoding: .utf8) }) ?? ""
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            out[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return out
    }

    static let record = #"env | grep -E '^(UPDATER_|PATH=|LANG=)' > ../seen.env; echo "args: $*"; echo "hook ran for $UPDATER_VERSION""#

    @Test("a promotion runs the command with the job, version, event, path, format and checksum; its output is in the run's log")
    func promotion() throws {
        let ws = try Workspace()
        try job(ws, script: Self.record)
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/churn/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        let env = seen(ws)
        #expect(env["UPDATER_JOB"] == "churn" && env["UPDATER_VERSION"] == "1" && env["UPDATER_EVENT"] == "model.promoted", "\(env)")
        #expect(env["UPDATER_DEPLOY_PATH"] == ws.root + "/deploy/churn.model" && env["UPDATER_FORMAT"] == "updater")
        #expect(env["UPDATER_METADATA_PATH"] == ws.root + "/deploy/churn.model.json" && env["UPDATER_RUN"] == "1")
        let sha = Process()
        sha.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sha.arguments = ["sha256sum", ws.root + "/deploy/churn.model"]
        #expect(env["UPDATER_SHA256"] == String(try Workspace.collect(sha).stdout.prefix(64)))
        #expect(env["LANG"] == "C.UTF-8" && env["UPDATER_FILES"]?.contains("\"format\"") == true)
        let detail = try ws.run(["runs", "churn", "--run", "1"]).stdout
        #expect(detail.contains("hook ran for 1") && detail.contains("args: reload"), "\(detail)")
        let status = try ws.run(["status", "--json"])
        #expect(status.status == 0 && status.stdout.contains("\"state\" : \"succeeded\""), "\(status.output)")
    }

    @Test("a failing command: recorded, announced, shown by status, retried at the next cycle; production stays")
    func failure() throws {
        let ws = try Workspace()
        try job(ws, script: "echo cannot reach the model server >&2; exit 3")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/churn/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 1, "a failed deploy command makes the cycle a failure: \(r.output)")
        #expect(r.output.contains("the deploy command for v1 failed: exit status 3"), "\(r.output)")
        #expect((try ws.json(["versions", "churn"]) as? [String: Any])?["production_version"] as? Int == 1, "the promotion stands")
        let status = try ws.run(["status"])
        #expect(status.status == 1 && status.stderr.contains("deploy command for v1 failed: exit status 3"), "\(status.output)")
        let events = try ws.sql("SELECT payload FROM webhook_event WHERE type = 'deploy.hook_failed'")
        #expect(events.contains("\"attempts\":1") || events.contains("\"attempts\" : 1"), "\(events)")
        #expect(!events.contains("cannot reach"), "the command's output stays in its log")
        // Fixed: the next cycle (no new data) runs it again, and it succeeds.
        try setHook(ws, Self.record)
        let again = try ws.run(["run", "--once"])
        #expect(again.status == 0, "\(again.output)")
        #expect(seen(ws)["UPDATER_VERSION"] == "1")
        #expect(try ws.run(["status"]).status == 0)
        #expect(try ws.sql("SELECT state || ' ' || attempts FROM deploy_hook ORDER BY id DESC LIMIT 1") == "succeeded 2")
    }

    @Test("a rollback from the command line runs the command at once")
    func rollback() throws {
        let ws = try Workspace()
        try job(ws, script: Self.record)
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/churn/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        #expect(try ws.run(["trigger", "churn", "--full"]).status == 0)
        #expect(try ws.run(["run", "--once"]).status == 0)
        #expect(seen(ws)["UPDATER_VERSION"] == "2")
        let back = try ws.run(["rollback", "churn", "--reason", "test"])
        #expect(back.status == 0 && back.stdout.contains("deploy command succeeded"), "\(back.output)")
        let env = seen(ws)
        #expect(env["UPDATER_VERSION"] == "1" && env["UPDATER_EVENT"] == "model.rolled_back" && env["UPDATER_RUN"] == nil, "\(env)")
    }

    @Test("a forced promotion from the command line runs the command at once, with the forced version's path, format and checksum")
    func forced() throws {
        let ws = try Workspace()
        try job(ws, script: Self.record)
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/churn/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        #expect(seen(ws)["UPDATER_VERSION"] == "1")
        // Labels scrambled: v2 is rejected, so nothing published changes and the command does not run.
        try ws.write(Synthetic.csv(rows: 1200, seed: 3, shift: 1.5, scramble: true, firstID: 20_000), to: "incoming/churn/b2.csv")
        let second = try ws.run(["run", "--once"])
        #expect(second.stdout.contains("v2 rejected by the gate"), "\(second.output)")
        #expect(seen(ws)["UPDATER_VERSION"] == "1", "a rejected candidate is not announced to the serving system")
        let r = try ws.run(["promote", "churn", "2", "--force", "--reason", "labels fixed upstream"])
        #expect(r.status == 0 && r.stdout.contains("forced promotion recorded") && r.stdout.contains("deploy command succeeded"), "\(r.output)")
        let env = seen(ws)
        #expect(env["UPDATER_VERSION"] == "2" && env["UPDATER_EVENT"] == "model.forced" && env["UPDATER_RUN"] == nil, "\(env)")
        #expect(env["UPDATER_DEPLOY_PATH"] == ws.root + "/deploy/churn.model" && env["UPDATER_FORMAT"] == "updater", "\(env)")
        #expect(ws.bytes("deploy/churn.model") == ws.bytes(absolute: ws.state + "/models/churn/v2.model"), "v2 is what is published")
        let sha = Process()
        sha.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sha.arguments = ["sha256sum", ws.root + "/deploy/churn.model"]
        #expect(env["UPDATER_SHA256"] == String(try Workspace.collect(sha).stdout.prefix(64)), "\(env)")
        #expect(try ws.sql("SELECT state || ' ' || event FROM deploy_hook ORDER BY id DESC LIMIT 1") == "succeeded model.forced")
    }

    @Test("a command past its time limit is stopped with its whole process group")
    func timeout() throws {
        let ws = try Workspace()
        try job(ws, script: "sleep 60 & echo $! > ../grandchild.pid; wait", extra: "command_timeout = \"1s\"")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/churn/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 1 && r.output.contains("no result within the time limit of 1.00s"), "\(r.output)")
        let pid = try #require(ws.bytes("grandchild.pid").flatMap { Int32(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) })
        // Gone, or a zombie waiting for init to reap it: not running either way.
        func running() -> Bool {
            guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            return stat.split(separator: ")").last?.split(separator: " ").first != "Z"
        }
        let deadline = Date().addingTimeInterval(10)
        while running() && Date() < deadline { usleep(20_000) }
        #expect(!running(), "the hook's background child was killed with its group")
    }

    @Test("updater backtest never runs the job's deploy command")
    func notInBacktest() throws {
        let ws = try Workspace()
        try job(ws, script: "touch ../hook-ran")
        let history = ws.root + "/history"
        try FileManager.default.createDirectory(atPath: history, withIntermediateDirectories: true)
        for i in 1...3 { try Synthetic.csv(rows: 600, seed: UInt64(i)).write(toFile: history + "/b\(i).csv", atomically: true, encoding: .utf8) }
        let r = try ws.run(["backtest", "churn", "--jobs", ws.jobs, "--batches", history], global: false)
        #expect(r.status == 0 && r.stdout.contains("churn"), "\(r.output)")
        #expect(!FileManager.default.fileExists(atPath: ws.root + "/hook-ran"), "a replay told a serving system about its versions")
    }

    @Test("a bad command is refused by validate, naming the key")
    func badCommand() throws {
        let ws = try Workspace()
        try job(ws, script: "true", extra: "command_timeout = \"soon\"")
        let r = try ws.run(["validate", ws.jobs + "/churn.toml"], global: false)
        #expect(r.status != 0 && r.output.contains("deploy.command_timeout"), "\(r.output)")
    }

    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Jobs/examples").path

    func jobWith(_ ws: Workspace, deploy: String) throws {
        try ws.addJob("churn")
        var text = try #require(String(data: ws.bytes("jobs/churn.toml")!, encoding: .utf8))
        text = text.replacingOccurrences(of: "path = \"../deploy/churn.model\"", with: deploy)
        try ws.write(text, to: "jobs/churn.toml")
    }

    func curl(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["curl", "-sS", "--max-time", "20"] + args
        return try Workspace.collect(p).stdout
    }

    @Test("Jobs/examples: a model server reloads every version updater publishes, and serves its predictions")
    func reloadServer() throws {
        let ws = try Workspace()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", Self.examples + "/serve_onnx.py", "--model", ws.root + "/deploy/churn.onnx", "--port", "0"]
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        // The server prints its address once it listens.
        var line = Data()
        while !line.contains(10), let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty { line += byte }
        let url = try #require(String(decoding: line, as: UTF8.self).components(separatedBy: "serving on ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(url.hasPrefix("http://127.0.0.1:"), "\(url)")
        try jobWith(ws, deploy: """
            path = "../deploy/churn.onnx"
            format = "onnx"
            command = ["\(Self.examples)/deploy_reload.sh", "\(url)"]
            """)
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/churn/b1.csv")
        let first = try ws.run(["run", "--once"])
        #expect(first.status == 0, "\(first.output)")
        #expect(try curl([url + "/model"]).contains("\"version\": 1"))
        let predicted = try curl(["-X", "POST", url + "/predict", "-d", #"{"rows": [{"x1": 1.5, "x2": 4.0, "colour": "red"}, {"x1": null, "x2": 6.5, "colour": "purple"}]}"#])
        #expect(predicted.contains("\"label\": [\"yes\"") && predicted.contains("probabilities"), "\(predicted)")
        #expect(try ws.run(["trigger", "churn", "--full"]).status == 0)
        #expect(try ws.run(["run", "--once"]).status == 0)
        #expect(try curl([url + "/model"]).contains("\"version\": 2"), "the server reloaded v2")
        let back = try ws.run(["rollback", "churn", "--reason", "test"])
        #expect(back.status == 0, "\(back.output)")
        #expect(try curl([url + "/model"]).contains("\"version\": 1"), "and v1 after the rollback")
    }

    @Test("Jobs/examples: every published file is copied into an object store's layout, the pointer last")
    func objectStore() throws {
        let ws = try Workspace()
        try jobWith(ws, deploy: """
            path = "../deploy/churn.model"
            format = ["updater", "onnx"]
            command = ["\(Self.examples)/deploy_object_store.sh", "\(ws.root)/bucket"]
            """)
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/churn/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        let keys = try FileManager.default.subpathsOfDirectory(atPath: ws.root + "/bucket").filter { !$0.hasSuffix("/") }.sorted()
        #expect(keys.contains("models/churn/v1/churn.onnx") && keys.contains("models/churn/v1/churn.onnx.json"), "\(keys)")
        #expect(keys.contains("models/churn/v1/churn.model") && keys.contains("models/churn/v1/churn.model.json"), "\(keys)")
        #expect(ws.bytes("bucket/models/churn/v1/churn.onnx") == ws.bytes("deploy/churn.onnx"))
        let latest = String(decoding: try #require(ws.bytes("bucket/models/churn/latest.json")), as: UTF8.self)
        #expect(latest.contains("\"version\": 1") && latest.contains("model.promoted"), "\(latest)")
    }
}
