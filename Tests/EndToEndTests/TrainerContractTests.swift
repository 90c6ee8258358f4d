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
        let dir = ws.root + "/state/runs/j/1/trainer-full"
        let spec = try String(contentsOfFile: dir + "/spec.json", encoding: .utf8)
        #expect(spec.contains("\"validation\"") && spec.contains("\"validation_scores_file\"") && spec.contains("\"contract_version\" : 2"), "\(spec)")

        // The threshold is the max-F1 point of the trainer's own scores of the validation rows: the
        // rows updater gave it (features only) get their labels back from the batch they came from.
        let scores = try String(contentsOfFile: dir + "/validation-scores.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst().map { line -> Double in try #require(Double(line), "not a score: \(line)") }
        let validation = try String(contentsOfFile: dir + "/data/validation.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        let batch = try String(contentsOfFile: ws.root + "/incoming/j/b1.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        let labelOf = try Self.labels(batch, label: "y")
        let header = validation[0].split(separator: ",").map(String.init)
        #expect(Set(header) == ["x1", "x2", "colour"], "\(header)")
        let labels = try validation.dropFirst().map { line -> Bool in
            try #require(labelOf[Self.key(header, line)], "validation row \(line) is not exactly one row of the batch")
        }
        #expect(labels.count == scores.count && labels.count > 20, "\(labels.count) validation rows, \(scores.count) scores")
        #expect(labels.contains(true) && labels.contains(false))
        let expected = Self.maxF1Threshold(labels: labels, scores: scores)
        #expect(abs(chosen - expected) < 1e-12, "chosen \(chosen), max F1 of the trainer's validation scores at \(expected)")
        #expect(scores.contains { abs($0 - chosen) < 1e-12 }, "the threshold is one of the trainer's validation scores")
        #expect(r.stderr.contains("max F1") && r.stderr.contains("on \(labels.count) validation rows"), "\(r.stderr)")
    }

    /// A row's features as a key: numbers to 5 decimals (as the batch writes them), text as it is.
    static func key(_ header: [String], _ line: String) -> String {
        let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return ["x1", "x2", "colour"].map { name -> String in
            guard let i = header.firstIndex(of: name), i < cells.count else { return "?" }
            guard name != "colour", let x = Double(cells[i]) else { return cells[i] }
            return String(format: "%.5f", x == 0 ? 0 : x)
        }.joined(separator: "|")
    }

    /// Each feature row of the batch with whether its label is the positive class, leaving out
    /// features that more than one row has.
    static func labels(_ lines: [String], label: String) throws -> [String: Bool] {
        let header = lines[0].split(separator: ",").map(String.init)
        let column = try #require(header.firstIndex(of: label))
        var out: [String: Bool] = [:]
        var repeated: Set<String> = []
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let key = Self.key(header, line)
            if out[key] != nil { repeated.insert(key) }
            out[key] = cells[column] == "yes"
        }
        for key in repeated { out[key] = nil }
        return out
    }

    /// The decision threshold of maximum F1 on (labels, scores), as docs/jobs.md defines it: over
    /// every distinct score t, with rows of score ≥ t predicted positive; ties keep the highest t.
    static func maxF1Threshold(labels: [Bool], scores: [Double]) -> Double {
        let positives = labels.filter { $0 }.count
        var best: (t: Double, f1: Double)? = nil
        for t in Set(scores).sorted(by: >) {
            var tp = 0, fp = 0
            for (s, y) in zip(scores, labels) where s >= t {
                if y { tp += 1 } else { fp += 1 }
            }
            let f1 = 2 * Double(tp) / Double(2 * tp + fp + (positives - tp))
            if best == nil || f1 > best!.f1 { best = (t, f1) }
        }
        return best?.t ?? 0.5
    }

    @Test("contract 1 stays binary: a multiclass job with a contract-1 trainer is refused, naming the key")
    func contractOne() throws {
        let ws = try Workspace()
        try job(ws, label: "k", task: "multiclass", exclude: ["y", "v"], gate: "", contract: 1)
        let r = try ws.run(["validate", ws.jobs + "/j.toml"], global: false)
        #expect(r.status != 0 && r.output.contains("training.contract: a multiclass job's external trainer needs contract 2"), "\(r.output)")
    }
}
