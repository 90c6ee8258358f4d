import Foundation
import Testing

/// Trainer contract 2 through the binary, with Jobs/examples/trainer_sklearn.py (scikit-learn):
/// multiclass and regression jobs, the trainer's own report, a decision threshold chosen from its
/// validation scores, and `updater predict` on a trainer's version.
@Suite("External trainers: contract 2")
struct TrainerContractTests {
    static let trainer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Jobs/examples/trainer_sklearn.py").path

    /// A job on ONNXExportTests' training rows (x1, x2, colour; labels y, k, v).
    func job(_ ws: Workspace, label: String, task: String, exclude: [String], gate: String, contract: Int = 2, extra: String = "") throws {
        try FileManager.default.createDirectory(atPath: ws.root + "/incoming/j", withIntermediateDirectories: true)
        try ws.write("""
            [data]
            incoming = "../incoming/j"
            label = "\(label)"
            task = "\(task)"
            exclude = [\(exclude.map { "\"\($0)\"" }.joined(separator: ", "))]
            categorical = ["colour"]
            holdout = 0.25
            \(label == "y" ? "positive_label = \"yes\"" : "")

            [training]
            command = ["python3", "\(Self.trainer)"]
            contract = \(contract)
            time_limit = "5m"

            \(gate)
            \(extra)

            [deploy]
            path = "../deploy/j.model"
            """, to: "jobs/j.toml")
        try ws.write(ONNXExportTests.training(rows: 900, seed: 1), to: "incoming/j/b1.csv")
    }

    func versions(_ ws: Workspace) throws -> [[String: Any]] {
        (try ws.json(["versions", "j"]) as? [String: Any])?["versions"] as? [[String: Any]] ?? []
    }

    @Test("a multiclass job: updater computes the gate's accuracy from the trainer's class probabilities; its report is shown, never gated on")
    func multiclass() throws {
        let ws = try Workspace()
        try job(ws, label: "k", task: "multiclass", exclude: ["y", "v"], gate: "[[gate.rules]]\nmetric = \"accuracy\"\nmin = 0.8")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0 && r.output.contains("promoted v1"), "\(r.output)")
        let v1 = try #require(try versions(ws).first)
        let metrics = v1["metrics"] as? [String: Any]
        #expect((metrics?["accuracy"] as? Double ?? 0) > 0.8, "\(v1)")
        let report = v1["trainer_report"] as? [String: Any]
        #expect((report?["params"] as? [String: Any])?["estimator"] as? String == "LogisticRegression", "\(v1)")
        #expect((report?["metrics"] as? [String: Any])?["train_accuracy"] is Double, "\(v1)")
        #expect(try ws.run(["versions", "j"]).stdout.contains("v1: the trainer reported {\"metrics\":{\"train_accuracy\""))
        // updater predict scores the trainer's version with the trainer.
        try ws.write(ONNXExportTests.scoring(rows: 40, seed: 2), to: "score.csv")
        let p = try ws.run(["predict", "j", "--input", ws.root + "/score.csv"])
        #expect(p.status == 0, "\(p.output)")
        let lines = p.stdout.split(separator: "\n")
        #expect(lines.first == "p_a,p_b,p_c,label" && lines.count == 41, "\(lines.prefix(3))")
        let row = lines[1].split(separator: ",")
        #expect(abs(row.prefix(3).compactMap { Double($0) }.reduce(0, +) - 1) < 1e-9 && ["a", "b", "c"].contains(String(row[3])))
    }

    @Test("a regression job: RMSE from the trainer's predictions")
    func regression() throws {
        let ws = try Workspace()
        try job(ws, label: "v", task: "regression", exclude: ["y", "k"], gate: "[[gate.rules]]\nmetric = \"rmse\"\nmax = 2.0")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0 && r.output.contains("promoted v1"), "\(r.output)")
        let v1 = try #require(try versions(ws).first)
        #expect(((v1["metrics"] as? [String: Any])?["rmse"] as? Double ?? 9) < 2.0, "\(v1)")
        #expect(((v1["trainer_report"] as? [String: Any])?["params"] as? [String: Any])?["estimator"] as? String == "Ridge")
        try ws.write(ONNXExportTests.scoring(rows: 10, seed: 2), to: "score.csv")
        let p = try ws.run(["predict", "j", "--input", ws.root + "/score.csv"])
        #expect(p.status == 0 && p.stdout.hasPrefix("prediction\n"), "\(p.output)")
    }

    @Test("a binary job with gate.threshold = max_f1: updater chooses the threshold from the trainer's validation scores")
    func threshold() throws {
        let ws = try Workspace()
        try job(ws, label: "y", task: "binary", exclude: ["k", "v"], gate: "[gate]\nthreshold = \"max_f1\"\n\n[[gate.rules]]\nmetric = \"f1\"\nmin = 0.5")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        let v1 = try #require(try versions(ws).first)
        let chosen = try #require(v1["decision_threshold"] as? Double, "\(v1)")
        #expect(chosen > 0 && chosen < 1)
        let spec = try String(contentsOfFile: ws.root + "/state/runs/j/1/trainer-full/spec.json", encoding: .utf8)
        #expect(spec.contains("\"validation\"") && spec.contains("\"validation_scores_file\"") && spec.contains("\"contract_version\" : 2"), "\(spec)")
    }

    @Test("contract 1 stays binary: a multiclass job with a contract-1 trainer is refused, naming the key")
    func contractOne() throws {
        let ws = try Workspace()
        try job(ws, label: "k", task: "multiclass", exclude: ["y", "v"], gate: "", contract: 1)
        let r = try ws.run(["validate", ws.jobs + "/j.toml"], global: false)
        #expect(r.status != 0 && r.output.contains("training.contract: a multiclass job's external trainer needs contract 2"), "\(r.output)")
    }
}
