import Foundation
import Testing

/// Multiclass and regression jobs through the real binary: the same cycle as binary jobs, judged
/// by their own task's metrics against the model in production.
@Suite("Multiclass and regression jobs, through the updater binary")
struct TaskJobsTests {
    /// Writes `jobs/NAME.toml` for a job of `task` with the given gate.
    func addJob(_ ws: Workspace, _ name: String, task: String, training: String = "", gate: String) throws {
        try FileManager.default.createDirectory(atPath: ws.root + "/incoming/" + name, withIntermediateDirectories: true)
        try ws.write(
            """
            [data]
            incoming = "../incoming/\(name)"
            label = "y"
            task = "\(task)"
            exclude = ["id"]
            categorical = ["colour"]
            holdout = 0.25

            \(training)

            [deploy]
            path = "../deploy/\(name).model"

            \(gate)
            """, to: "jobs/\(name).toml")
    }

    func gate(_ ws: Workspace, _ job: String, run: Int) throws -> [[String: Any]] {
        (try ws.json(["runs", job, "--run", String(run)]) as? [String: Any])?["gate"] as? [[String: Any]] ?? []
    }

    func versions(_ ws: Workspace, _ job: String) throws -> [String: Any] {
        try ws.json(["versions", job]) as? [String: Any] ?? [:]
    }

    @Test("a multiclass job: softmax v1, drift → full retrain judged by macro F1 (bootstrap, per colour) against v1, scrambled labels rejected")
    func multiclassJob() throws {
        let ws = try Workspace()
        try addJob(
            ws, "species", task: "multiclass",
            gate: """
                [gate]
                min_rows = 50
                min_slice_rows = 30

                [[gate.rules]]
                metric = "accuracy"
                min = 0.6

                [[gate.rules]]
                metric = "macro_f1"
                change = -0.05
                test = "bootstrap"

                [[gate.rules]]
                metric = "macro_f1"
                slice = "colour"
                min = 0.4
                """)
        try ws.write(TaskData.multiclass(rows: 1500, seed: 1), to: "incoming/species/b1.csv")
        var r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("species: promoted (run 1): promoted v1"), "\(r.output)")

        var listed = try versions(ws, "species")
        var v1 = (listed["versions"] as? [[String: Any]])?.first
        let metrics1 = v1?["metrics"] as? [String: Any]
        #expect(metrics1?["task"] as? String == "multiclass")
        #expect((metrics1?["accuracy"] as? Double ?? 0) > 0.6)
        #expect(metrics1?["macro_f1"] != nil && metrics1?["ovr_roc_auc"] != nil && metrics1?["log_loss"] != nil)
        #expect(metrics1?["roc_auc"] == nil, "binary metrics are not recorded for a multiclass model")
        // The table shows the task's own metrics.
        r = try ws.run(["versions", "species"])
        #expect(r.stdout.contains("MACRO_F1") && r.stdout.contains("LOG_LOSS"), "\(r.stdout)")

        // The deployed model predicts the three classes.
        try ws.write(TaskData.multiclass(rows: 20, seed: 9), to: "score.csv")
        r = try ws.run(["predict", ws.root + "/deploy/species.model", "--input", ws.root + "/score.csv", "--output", ws.root + "/pred.csv"], global: false)
        #expect(r.status == 0, "\(r.output)")
        let predictions = String(decoding: ws.bytes("pred.csv") ?? Data(), as: UTF8.self)
        #expect(predictions.hasPrefix("p_a,p_b,p_c,label\n"), "\(predictions.prefix(200))")
        for row in predictions.split(separator: "\n").dropFirst() {
            let cells = row.split(separator: ",")
            let p = cells.prefix(3).compactMap { Double($0) }
            #expect(cells[3] == ["a", "b", "c"][p.indices.max { p[$0] < p[$1] }!], "the label is the most probable class: \(row)")
        }
        #expect(predictions.split(separator: "\n").count == 21)

        // Twice the rows, x1 shifted with the rule moving along → a full retrain (softmax has no warm start).
        try ws.write(TaskData.multiclass(rows: 1500, seed: 2, shift: 0.35, shiftX2: false, firstID: 10_000), to: "incoming/species/b2.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("promoted v1 → v2"), "\(r.output)")
        let run2 = (try ws.json(["runs", "species", "--run", "2"]) as? [String: Any])?["run"] as? [String: Any]
        #expect(run2?["decision"] as? String == "full")
        let gate2 = try gate(ws, "species", run: 2)
        let change = gate2.first { $0["metric"] as? String == "macro_f1" && $0["slice"] == nil }
        // The baseline is v1 scored on the same rows, and the bootstrap interval is recorded.
        #expect(change?["baseline"] as? Double != nil && change?["candidate"] as? Double != change?["baseline"] as? Double)
        #expect(change?["lower"] as? Double != nil && change?["upper"] as? Double != nil)
        let slices = gate2.compactMap { $0["slice"] as? String }
        #expect(Set(slices) == ["colour=blue", "colour=green", "colour=red"], "\(slices)")

        // Scrambled labels → the candidate fails the gate; v2 stays.
        try ws.write(TaskData.multiclass(rows: 1500, seed: 3, shift: 1.5, scramble: true, firstID: 20_000), to: "incoming/species/b3.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("v3 rejected by the gate"), "\(r.output)")
        listed = try versions(ws, "species")
        #expect(listed["production_version"] as? Int == 2)
        v1 = (listed["versions"] as? [[String: Any]])?.first { $0["version"] as? Int == 3 }
        #expect(v1?["status"] as? String == "rejected")
        #expect(try gate(ws, "species", run: 3).contains { $0["metric"] as? String == "accuracy" && $0["passed"] as? Bool == false })
    }

    @Test("a regression job: ridge v1, drift → v2 judged by R² and RMSE change against v1, scrambled targets rejected")
    func regressionJob() throws {
        let ws = try Workspace()
        try addJob(
            ws, "price", task: "regression",
            gate: """
                [gate]
                min_rows = 50

                [[gate.rules]]
                metric = "r2"
                min = 0.6

                [[gate.rules]]
                metric = "rmse"
                change = -0.5
                test = "bootstrap"
                """)
        try ws.write(TaskData.regression(rows: 1200, seed: 1), to: "incoming/price/b1.csv")
        var r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("price: promoted (run 1): promoted v1"), "\(r.output)")
        let metrics = ((try versions(ws, "price")["versions"] as? [[String: Any]])?.first)?["metrics"] as? [String: Any]
        #expect(metrics?["task"] as? String == "regression")
        #expect((metrics?["r2"] as? Double ?? 0) > 0.8, "\(metrics ?? [:])")
        #expect(metrics?["rmse"] != nil && metrics?["mae"] != nil && metrics?["mape"] != nil)

        try ws.write(TaskData.regression(rows: 1200, seed: 2, shift: 1.5, firstID: 10_000), to: "incoming/price/b2.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("promoted v1 → v2"), "\(r.output)")
        let rmse = try gate(ws, "price", run: 2).first { $0["metric"] as? String == "rmse" }
        #expect(rmse?["baseline"] as? Double != nil && rmse?["passed"] as? Bool == true, "\(rmse ?? [:])")
        // A regression job's concept drift is watched through RMSE; the target's own drift is reported.
        let drift = (try ws.json(["runs", "price", "--run", "2"]) as? [String: Any])?["drift"] as? [String: Any]
        #expect((drift?["performance"] as? [String: Any])?["metric"] as? String == "rmse", "\(drift ?? [:])")
        let targets = (drift?["targets"] as? [[String: Any]])?.compactMap { $0["column"] as? String } ?? []
        #expect(targets.contains("y") && targets.contains("prediction"), "\(targets)")

        try ws.write(TaskData.regression(rows: 1200, seed: 3, shift: 1.5, scramble: true, firstID: 20_000), to: "incoming/price/b3.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("v3 rejected by the gate"), "\(r.output)")
        #expect(try gate(ws, "price", run: 3).contains { $0["metric"] as? String == "r2" && $0["passed"] as? Bool == false })
    }

    @Test("an MLP regression job trains and is judged by its regression metrics")
    func mlpRegression() throws {
        let ws = try Workspace()
        try addJob(
            ws, "mlpprice", task: "regression",
            training: """
                [training]
                model = "mlp"

                [training.params]
                hidden_layers = [16]
                learning_rate = 0.01
                max_epochs = 200
                """,
            gate: """
                [gate]
                min_rows = 50

                [[gate.rules]]
                metric = "r2"
                min = 0.5
                """)
        try ws.write(TaskData.regression(rows: 1500, seed: 4), to: "incoming/mlpprice/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("promoted v1"), "\(r.output)")
        #expect(try gate(ws, "mlpprice", run: 1).first?["metric"] as? String == "r2")
    }

    @Test("a label with more than two values in a binary job is rejected, naming data.task")
    func threeClassesInBinaryJob() throws {
        let ws = try Workspace()
        try ws.addJob("bin")
        try ws.write(TaskData.multiclass(rows: 200, seed: 1), to: "incoming/bin/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("a binary job needs two (set data.task = \"multiclass\""), "\(r.output)")
    }
}

/// Synthetic data for the multiclass and regression jobs.
enum TaskData {
    /// Three classes a, b, c by a softmax of linear scores of x1, x2 and colour; `shift` moves x1
    /// and x2 with the rule following; `scramble` shuffles the labels.
    static func multiclass(rows: Int, seed: UInt64, shift: Double = 0, shiftX2: Bool = true, scramble: Bool = false, firstID: Int = 0) -> String {
        var g = Synthetic.Generator(state: seed)
        var lines: [(String, String)] = []
        let colours = ["red", "green", "blue"]
        for i in 0..<rows {
            let x1 = g.normal() + shift, x2 = g.normal() + (shiftX2 ? shift : 0)
            let colour = colours[Int(g.next() % 3)]
            let u1 = x1 - shift, u2 = x2 - (shiftX2 ? shift : 0)
            let z = [2.5 * u1, 2.5 * u2 + (colour == "red" ? 0.5 : 0), -1.5 * (u1 + u2)]
            let e = z.map { exp($0) }
            var u = g.uniform() * e.reduce(0, +)
            var k = 0
            while k < 2, u > e[k] { u -= e[k]; k += 1 }
            lines.append(("id\(firstID + i),\(String(format: "%.4f", x1)),\(String(format: "%.4f", x2)),\(colour)", ["a", "b", "c"][k]))
        }
        if scramble {
            var labels = lines.map(\.1)
            labels.shuffle(using: &g)
            for i in lines.indices { lines[i].1 = labels[i] }
        }
        return "id,x1,x2,colour,y\n" + lines.map { "\($0.0),\($0.1)" }.joined(separator: "\n") + "\n"
    }

    /// y = 3·x1 − 2·x2 + 1.5 for red + noise (sd 0.5), in units of the shifted features.
    static func regression(rows: Int, seed: UInt64, shift: Double = 0, scramble: Bool = false, firstID: Int = 0) -> String {
        var g = Synthetic.Generator(state: seed)
        var lines: [(String, Double)] = []
        let colours = ["red", "green", "blue"]
        for i in 0..<rows {
            let x1 = g.normal() + shift, x2 = g.normal() + shift
            let colour = colours[Int(g.next() % 3)]
            let y = 3 * (x1 - shift) - 2 * (x2 - shift) + (colour == "red" ? 1.5 : 0) + 10 + 0.5 * g.normal()
            lines.append(("id\(firstID + i),\(String(format: "%.4f", x1)),\(String(format: "%.4f", x2)),\(colour)", y))
        }
        if scramble {
            var targets = lines.map(\.1)
            targets.shuffle(using: &g)
            for i in lines.indices { lines[i].1 = targets[i] }
        }
        return "id,x1,x2,colour,y\n" + lines.map { "\($0.0),\(String(format: "%.4f", $0.1))" }.joined(separator: "\n") + "\n"
    }
}
