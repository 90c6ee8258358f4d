import Foundation
import Testing

@Suite("The gate and updater metrics, through the binary")
struct GateCommandTests {
    @Test("updater metrics computes every metric of a task from a CSV file, JSON included")
    func metricsCommand() throws {
        let ws = try Workspace()
        try ws.write("y,score\nyes,0.9\nyes,0.4\nno,0.35\nno,0.1\n", to: "b.csv")
        var r = try ws.run(["metrics", ws.root + "/b.csv", "--labels", "y", "--scores", "score", "--json"], global: false)
        #expect(r.status == 0, "\(r.stderr)")
        let binary = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(binary["roc_auc"] as? Double == 1.0)
        #expect(binary["accuracy"] as? Double == 0.75)
        #expect((binary["confusion_matrix"] as? [String: Any])?["fn"] as? Int == 1)
        try ws.write("y,prediction\n1,1.5\n2,2\n3,2.5\n", to: "r.csv")
        r = try ws.run(["metrics", ws.root + "/r.csv", "--labels", "y", "--scores", "prediction", "--task", "regression", "--json"], global: false)
        let regression = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(abs((regression["mae"] as? Double ?? 0) - 1.0 / 3) < 1e-12)
        #expect(abs((regression["r2"] as? Double ?? 0) - 0.75) < 1e-12)
        try ws.write("y,p_a,p_b,p_c\na,0.7,0.2,0.1\nb,0.1,0.8,0.1\nc,0.2,0.2,0.6\nc,0.5,0.3,0.2\n", to: "m.csv")
        r = try ws.run(["metrics", ws.root + "/m.csv", "--labels", "y", "--scores", "p_a,p_b,p_c", "--task", "multiclass", "--json"], global: false)
        let multi = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(multi["accuracy"] as? Double == 0.75)
        r = try ws.run(["metrics", ws.root + "/m.csv", "--labels", "y", "--scores", "p_a,p_b", "--task", "multiclass"], global: false)
        #expect(r.status == 1)
        #expect(r.stderr.contains("label value \"c\" has no score column"))
    }

    @Test("updater metrics --versus gives each metric's paired bootstrap interval of the difference, and DeLong's test")
    func versus() throws {
        let ws = try Workspace()
        var lines = ["y,a,b"]
        var state: UInt64 = 9
        func u() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        for _ in 0..<2000 {
            let y = u() < 0.4
            let a = min(max(0.5 + (y ? 0.25 : -0.15) + (u() - 0.5) * 0.6, 0), 1)
            let b = min(max(0.5 + (y ? 0.05 : -0.05) + (u() - 0.5) * 0.6, 0), 1)
            lines.append("\(y ? 1 : 0),\(a),\(b)")
        }
        try ws.write(lines.joined(separator: "\n") + "\n", to: "ab.csv")
        let args = ["metrics", ws.root + "/ab.csv", "--labels", "y", "--scores", "a", "--versus", "b", "--resamples", "300", "--json"]
        let r = try ws.run(args, global: false)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let auc = (json["versus"] as? [String: Any])?["roc_auc"] as? [String: Any]
        let lower = try #require(auc?["lower"] as? Double), upper = try #require(auc?["upper"] as? Double)
        #expect(lower > 0 && lower <= upper, "a is clearly better than b")
        #expect((json["delong"] as? [String: Any])?["p_value"] as? Double ?? 1 < 0.001)
        // Seeded: the same command gives the same interval.
        #expect(try ws.run(args, global: false).stdout == r.stdout)
    }

    @Test("a threshold chosen for max F1 on validation rows is recorded with the version and in its artifact")
    func chosenThreshold() throws {
        let ws = try Workspace()
        try ws.addJob("thr", gate: """
            [gate]
            threshold = "max_f1"
            min_rows = 50
            [[gate.rules]]
            metric = "f1"
            min = 0.5
            """)
        try ws.write(Synthetic.csv(rows: 2000, seed: 1), to: "incoming/thr/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stderr.contains("threshold ") && r.stderr.contains("max F1"), "\(r.stderr)")
        let value = Double(try ws.sql("SELECT decision_threshold FROM model_version WHERE version = 1"))
        #expect(value != nil && value! > 0 && value! < 1)
    }

    @Test("rules on slices are judged per value; a small slice is reported and skipped; a significance test is recorded")
    func slicesAndSignificance() throws {
        let ws = try Workspace()
        try ws.addJob("sl", gate: """
            [gate]
            min_rows = 50
            min_slice_rows = 100

            [[gate.rules]]
            metric = "roc_auc"
            min = 0.7
            slice = "colour"

            [[gate.rules]]
            metric = "accuracy"
            change = -0.2
            test = "bootstrap"

            [[gate.rules]]
            metric = "accuracy"
            min = 0.5
            slice = { column = "colour", value = "purple" }
            """)
        try ws.write(Synthetic.csv(rows: 1500, seed: 1), to: "incoming/sl/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        try ws.write(Synthetic.csv(rows: 1500, seed: 2, shift: 1.5, firstID: 9000), to: "incoming/sl/b2.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        let gate = (try ws.json(["runs", "sl", "--run", "2"]) as? [String: Any])?["gate"] as? [[String: Any]] ?? []
        let slices = gate.filter { $0["rule_index"] as? Int == 0 }.compactMap { $0["slice"] as? String }
        #expect(slices == ["colour=blue", "colour=green", "colour=red"])
        let bootstrap = gate.first { $0["rule_index"] as? Int == 1 }
        #expect(bootstrap?["lower"] as? Double != nil && bootstrap?["upper"] as? Double != nil)
        #expect((bootstrap?["lower"] as? Double ?? 1) <= (bootstrap?["upper"] as? Double ?? 0))
        #expect(gate.filter { $0["rule_index"] as? Int == 0 }.allSatisfy { $0["skipped"] as? Bool == false })
        // A slice with fewer rows than min_slice_rows is reported and skipped, not silently passed.
        let purple = gate.first { $0["rule_index"] as? Int == 2 }
        #expect(purple?["skipped"] as? Bool == true)
        #expect(purple?["reason"] as? String == "skipped: 0 evaluation rows in this slice, gate.min_slice_rows is 100")

        // The run's report shows the same gate: a row per rule and slice, the test's interval in its column.
        let report = try ws.run(["report", "sl", "--run", "2", "--output", "-"])
        #expect(report.status == 0, "\(report.stderr)")
        let html = report.stdout
        #expect(html.contains("<th scope=\"col\">Slice</th><th scope=\"col\">Candidate</th><th scope=\"col\">Production</th><th scope=\"col\">Difference</th><th scope=\"col\">Interval</th>"))
        for value in ["blue", "green", "red"] {
            #expect(html.contains("<td>0: ≥ 0.7</td><td>ROC-AUC</td><td>colour=\(value)</td>"), "the slice colour=\(value)")
        }
        let lower = try #require(bootstrap?["lower"] as? Double), upper = try #require(bootstrap?["upper"] as? Double)
        let interval = "<td>[\(String(format: "%.4f", lower)), \(String(format: "%.4f", upper))]</td>"
        #expect(html.contains("<td>1: change ≥ -0.2; judged by bootstrap</td><td>accuracy</td><td>all rows</td>"), "\(html)")
        #expect(html.contains(interval), "the bootstrap interval \(interval)")
        #expect(html.contains("<td>2: ≥ 0.5</td><td>accuracy</td><td>colour=purple</td>") && html.contains(">skipped</span>"))
    }
}

@Suite("updater metrics bad input")
struct MetricsBadInputTests {
    @Test("a missing score, in either column, is one clear error")
    func missingScore() throws {
        let ws = try Workspace()
        try ws.write("y,a,b\n1,0.9,0.8\n0,0.2,\n1,0.7,0.6\n", to: "ab.csv")
        let r = try ws.run(["metrics", ws.root + "/ab.csv", "--labels", "y", "--scores", "a", "--versus", "b"], global: false)
        #expect(r.status == 1)
        #expect(r.stderr.contains("ab.csv: column \"b\": value missing in data row 2"), "\(r.stderr)")
    }
}
