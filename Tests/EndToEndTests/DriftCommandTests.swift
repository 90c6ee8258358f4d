import Foundation
import Testing

@Suite("updater drift, through the binary")
struct DriftCommandTests {
    @Test("two files: drifted columns, a column that became text, an unseen category and a new column, each with its status")
    func twoFiles() throws {
        let ws = try Workspace()
        try ws.write(Synthetic.csv(rows: 3000, seed: 1), to: "ref.csv")
        // Current: x1 shifted, colour gains an unseen category, x2 holds text, plus a new column.
        var lines = Synthetic.csv(rows: 3000, seed: 2, shift: 1.5, shiftX2: false).split(separator: "\n").map(String.init)
        lines[1] = lines[1].split(separator: ",", omittingEmptySubsequences: false).enumerated()
            .map { $0.offset == 2 ? "n/a?" : String($0.element) }.joined(separator: ",")
        lines[2] = lines[2].replacingOccurrences(of: ",red,", with: ",purple,").replacingOccurrences(of: ",blue,", with: ",purple,")
            .replacingOccurrences(of: ",green,", with: ",purple,")
        lines = lines.enumerated().map { $0.offset == 0 ? $0.element + ",extra" : $0.element + ",1" }
        try ws.write(lines.joined(separator: "\n") + "\n", to: "cur.csv")
        let r = try ws.run(
            ["drift", "--reference", ws.root + "/ref.csv", "--current", ws.root + "/cur.csv", "--categorical", "colour",
             "--label", "y", "--exclude", "id", "--json"], global: false)
        #expect(r.status == 3, "severe drift exits 3: \(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(report["severity"] as? String == "severe")
        let columns = report["columns"] as? [[String: Any]] ?? []
        let byName = Dictionary(uniqueKeysWithValues: columns.map { ($0["column"] as! String, $0) })
        #expect(byName["x1"]?["drifted"] as? Bool == true)
        #expect(byName["x1"]?["method"] as? String == "wasserstein")
        #expect(byName["x2"]?["status"] as? String == "kind_changed")
        #expect(byName["colour"]?["status"] as? String == "ok")
        #expect((byName["colour"]?["message"] as? String)?.contains("categories the reference never had") == true)
        #expect(byName["id"] == nil, "excluded")
        let changes = report["schema_changes"] as? [String] ?? []
        #expect(changes == ["column \"x2\": was numeric, now text", "column \"extra\": column is new: not in the reference"])
        #expect(byName["extra"]?["status"] as? String == "added")
        let targets = report["targets"] as? [[String: Any]] ?? []
        #expect(targets.first?["column"] as? String == "y")

        // The table for people says the same, most drifted first.
        let human = try ws.run(
            ["drift", "--reference", ws.root + "/ref.csv", "--current", ws.root + "/cur.csv", "--categorical", "colour",
             "--exclude", "id"], global: false)
        #expect(human.stdout.hasPrefix("severe: schema changed: column \"x2\": was numeric, now text; column \"extra\""), "\(human.stdout)")
        let rows = human.stdout.split(separator: "\n").filter { $0.hasPrefix("x1 ") || $0.hasPrefix("x2 ") || $0.hasPrefix("colour ") }
        #expect(rows.first?.hasPrefix("x") == true)
    }

    @Test("a label with a class the reference never had is a schema change")
    func labelNewClass() throws {
        let ws = try Workspace()
        try ws.write(Synthetic.csv(rows: 300, seed: 1), to: "ref.csv")
        let current = Synthetic.csv(rows: 300, seed: 2).replacingOccurrences(of: ",yes\n", with: ",maybe\n")
        try ws.write(current, to: "cur.csv")
        let r = try ws.run(
            ["drift", "--reference", ws.root + "/ref.csv", "--current", ws.root + "/cur.csv", "--categorical", "colour",
             "--label", "y", "--exclude", "id", "--json"], global: false)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(report["schema_changes"] as? [String] == ["label \"y\" has new classes: \"maybe\""])
        #expect(report["severity"] as? String == "severe")
    }

    @Test("small files use p-value tests and a correction can be chosen")
    func smallFilesUsePValues() throws {
        let ws = try Workspace()
        try ws.write(Synthetic.csv(rows: 400, seed: 1), to: "ref.csv")
        try ws.write(Synthetic.csv(rows: 400, seed: 2), to: "cur.csv")
        let r = try ws.run(
            ["drift", "--reference", ws.root + "/ref.csv", "--current", ws.root + "/cur.csv", "--categorical", "colour,y",
             "--exclude", "id", "--correction", "bonferroni", "--json"], global: false)
        #expect(r.status == 0, "\(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let columns = report["columns"] as? [[String: Any]] ?? []
        let x1 = columns.first { $0["column"] as? String == "x1" }
        #expect(x1?["method"] as? String == "ks")
        #expect(x1?["p_value"] as? Double != nil)
        #expect(columns.first { $0["column"] as? String == "colour" }?["method"] as? String == "chi2")
        #expect(report["severity"] as? String == "none")
    }

    @Test("bad arguments and unreadable files get one clear line")
    func badArguments() throws {
        let ws = try Workspace()
        var r = try ws.run(["drift", "--reference", "a.csv"], global: false)
        #expect(r.status == 64)
        #expect(r.stderr.contains("give a JOB, or both --reference and --current"))
        r = try ws.run(["drift", "--reference", ws.root + "/nope.csv", "--current", ws.root + "/nope.csv"], global: false)
        #expect(r.status == 1)
        #expect(r.stderr.contains("nope.csv: cannot open"))
        r = try ws.run(["drift", "--reference", "a", "--current", "b", "--numeric-method", "linf"], global: false)
        #expect(r.status == 64)
        #expect(r.stderr.contains("--numeric-method must be auto, psi, ks, wasserstein, js, chi2"))
        r = try ws.run(["drift", "somejob", "--correction", "bonferroni"], global: false)
        #expect(r.status == 64)
        #expect(r.stderr.contains("with a JOB the methods, correction and bins come from its job file"))
    }

    @Test("a job's latest batch is checked against production without recording anything, and runs keep their report")
    func jobMode() throws {
        let ws = try Workspace()
        try ws.addJob("watch")
        try ws.write(Synthetic.csv(rows: 2000, seed: 1), to: "incoming/watch/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        try ws.write(Synthetic.csv(rows: 2000, seed: 2, shift: 1.5, firstID: 9000), to: "incoming/watch/b2.csv")
        // b2 is not registered yet: drift JOB reads it from the incoming directory, records nothing.
        let r = try ws.run(["drift", "watch", "--json"])
        #expect(r.status == 3, "severe drift exits 3: \(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(report["severity"] as? String == "severe")
        #expect((try ws.json(["runs", "watch"]) as? [Any])?.count == 1, "drift JOB records no run")
        let human = try ws.run(["drift", "watch"])
        #expect(human.stdout.hasPrefix("watch: 1 file (\(ws.root)/incoming/watch/b2.csv) against production v1"), "\(human.stdout)")
        // The daemon's run keeps the same kind of report.
        #expect(try ws.run(["run", "--once"]).status == 0)
        let detail = try ws.json(["runs", "watch", "--run", "2"]) as? [String: Any]
        let drift = detail?["drift"] as? [String: Any]
        #expect(drift?["severity"] as? String == "severe")
        #expect((drift?["online"] as? [[String: Any]])?.map { $0["detector"] as? String } == ["adwin", "page_hinkley"])
        #expect((drift?["performance"] as? [String: Any])?["metric"] as? String == "accuracy")
        #expect((drift?["targets"] as? [[String: Any]])?.map { $0["column"] as? String }.contains("prediction") == true)
    }
}
