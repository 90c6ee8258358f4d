import Foundation
import Testing

/// The cluster trainer examples, for real: XGBoost (Jobs/examples/trainer_xgboost.py) on this host,
/// and the same model trained on a Dask cluster (Jobs/examples/trainer_dask.py) whose scheduler and
/// two workers run on 127.0.0.1 for the test. Needs xgboost, dask[dataframe,distributed] and pandas
/// from PyPI (scripts/install-deps.sh installs them).
@Suite("Cluster trainers: XGBoost, and XGBoost on a Dask cluster", .serialized)
struct ClusterTrainerTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Jobs/examples").path

    /// A job trained by `script` with `env` in its [training.env].
    func job(_ ws: Workspace, script: String, env: [String: String]) throws {
        try ws.addJob("churn", extra: "")
        var text = try #require(String(data: ws.bytes("jobs/churn.toml")!, encoding: .utf8))
        let vars = env.sorted { $0.key < $1.key }.map { "\($0.key) = \"\($0.value)\"" }.joined(separator: "\n")
        text = text.replacingOccurrences(of: "[deploy]", with: """
            [training]
            command = ["python3", "\(Self.examples)/\(script)"]
            time_limit = "5m"

            [training.env]
            \(vars)

            [deploy]
            """)
        try ws.write(text, to: "jobs/churn.toml")
    }

    /// A background process whose output goes to `log`; killed (SIGKILL) by `stop`.
    final class Background: @unchecked Sendable {
        let process = Process()
        init(_ arguments: [String], log: String) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
            FileManager.default.createFile(atPath: log, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: log)
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
        }
        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    @Test("trainer_xgboost.py: a version trained by XGBoost passes the gate on updater's own metrics")
    func xgboost() throws {
        let ws = try Workspace()
        try job(ws, script: "trainer_xgboost.py", env: ["XGB_ROUNDS": "60", "XGB_NTHREAD": "2"])
        try ws.write(Synthetic.csv(rows: 1500, seed: 1), to: "incoming/churn/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0 && r.output.contains("promoted v1"), "\(r.output)")
        let auc = try ws.sql("SELECT candidate FROM gate_result WHERE metric = 'roc_auc' ORDER BY id LIMIT 1")
        #expect((Double(auc) ?? 0) > 0.75, "\(auc)")
        let log = try ws.sql("SELECT log_path FROM run ORDER BY id LIMIT 1")
        #expect(!log.isEmpty)
    }

    @Test("trainer_dask.py: a real Dask scheduler and two workers on 127.0.0.1 train the version; production is scored without the cluster")
    func dask() throws {
        let ws = try Workspace()
        let schedulerFile = ws.root + "/scheduler.json"
        let scheduler = try Background(
            ["dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", schedulerFile],
            log: ws.root + "/scheduler.log")
        defer { scheduler.stop() }
        // The scheduler writes its address once it listens (bounded wait).
        var address: String?
        let deadline = Date().addingTimeInterval(60)
        while address == nil && Date() < deadline {
            if let data = ws.bytes("scheduler.json"), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                address = object["address"] as? String
            } else {
                usleep(100_000)
            }
        }
        let scheduled = try #require(address, "the Dask scheduler did not start: \(String(decoding: ws.bytes("scheduler.log") ?? Data(), as: UTF8.self))")
        let workers = try (1...2).map { i in
            try Background(
                ["dask", "worker", "--scheduler-file", schedulerFile, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
                 "--memory-limit", "1GB", "--name", "w\(i)"],
                log: ws.root + "/worker\(i).log")
        }
        defer { for w in workers { w.stop() } }
        // Both workers joined (bounded wait on the scheduler's own count).
        let joined = Process()
        joined.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        joined.arguments = ["python3", "-c", """
            import sys, time
            from dask.distributed import Client
            c = Client(sys.argv[1], timeout="60s")
            c.wait_for_workers(2, timeout=60)
            print(len(c.scheduler_info()["workers"]))
            c.close()
            """, scheduled]
        let count = try Workspace.collect(joined)
        try #require(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "workers did not join: \(count.output)")

        try job(ws, script: "trainer_dask.py", env: ["DASK_SCHEDULER": scheduled, "XGB_ROUNDS": "60"])
        try ws.write(Synthetic.csv(rows: 1500, seed: 1), to: "incoming/churn/b1.csv")
        let first = try ws.run(["run", "--once"])
        #expect(first.status == 0 && first.output.contains("promoted v1"), "\(first.output)")
        let trainerLog = try String(contentsOfFile: ws.root + "/state/runs/churn/1/trainer-full/trainer.log", encoding: .utf8)
        #expect(trainerLog.contains("on 2 Dask workers at \(scheduled)"), "\(trainerLog)")
        // The version's files and updater's own gate on its scores.
        let files = try FileManager.default.contentsOfDirectory(atPath: ws.root + "/state/models/churn/v1").sorted()
        #expect(files.contains("model.json") && files.contains("meta.json") && files.contains("updater-model.json"), "\(files)")
        let gate = try ws.sql("SELECT metric || ' ' || passed || ' ' || candidate FROM gate_result ORDER BY rule_index")
        #expect(gate.hasPrefix("roc_auc 1 0.") && gate.contains("accuracy 1 0."), "\(gate)")
        // A second batch: production (a Dask-trained version) is scored in score mode, here.
        try ws.write(Synthetic.csv(rows: 1500, seed: 2, firstID: 5000), to: "incoming/churn/b2.csv")
        let second = try ws.run(["run", "--once"])
        #expect(second.status == 0, "\(second.output)")
        let served = try ws.sql("SELECT version || ' ' || metric FROM served_batch ORDER BY id LIMIT 1")
        #expect(served == "1 accuracy", "production's accuracy on the new batch, from its trainer's scores: \(served)")
    }

    @Test("trainer_dask.py without a scheduler address fails the run with a clear message")
    func noScheduler() throws {
        let ws = try Workspace()
        try job(ws, script: "trainer_dask.py", env: ["XGB_ROUNDS": "10"])
        try ws.write(Synthetic.csv(rows: 600, seed: 1), to: "incoming/churn/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 1 && r.output.contains("DASK_SCHEDULER is not set"), "\(r.output)")
    }
}
