import Foundation
import Testing

/// Rows whose labels come later (data.id, data.labels), through the binary.
@Suite("Labels that arrive later: rows without labels, label files joined by id, estimated and realized performance")
struct LateLabelsTests {
    /// A job reading ids from column `id` and label files from labels/NAME.
    func lateJob(_ ws: Workspace, _ name: String, extra: String = "") throws {
        try FileManager.default.createDirectory(atPath: ws.root + "/labels/" + name, withIntermediateDirectories: true)
        try ws.addJob(name, extra: "id = \"id\"\nlabels = \"../labels/\(name)\"\n\(extra)")
    }

    /// `Synthetic.csv` without its label column, and its labels as `id,y` lines.
    func withoutLabels(_ csv: String) -> (features: String, labels: [(id: String, label: String)]) {
        var features: [String] = []
        var labels: [(String, String)] = []
        for (i, line) in csv.split(separator: "\n").enumerated() {
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let label = fields.removeLast()
            features.append(fields.joined(separator: ","))
            if i > 0 { labels.append((fields[0], label)) }
        }
        return (features.joined(separator: "\n") + "\n", labels)
    }

    func labelFile(_ labels: [(id: String, label: String)]) -> String {
        "id,y\n" + labels.map { "\($0.id),\($0.label)" }.joined(separator: "\n") + "\n"
    }

    func summaries(_ ws: Workspace, _ job: String) throws -> [[String: Any]] {
        try #require(try ws.json(["predictions", job]) as? [[String: Any]])
    }

    @Test("rows without labels are checked, scored and logged; their labels join by id into a batch that trains; each case of a label is counted")
    func joinByID() throws {
        let ws = try Workspace()
        try lateJob(ws, "late")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/late/b1.csv")
        #expect(try ws.run(["run", "--once"]).stdout.contains("promoted v1"))

        let (features, labels) = withoutLabels(Synthetic.csv(rows: 800, seed: 2, firstID: 5000))
        try ws.write(features, to: "incoming/late/b2.csv")
        let r2 = try ws.run(["run", "--once"])
        #expect(r2.status == 0, "\(r2.output)")
        #expect(r2.stderr.contains("800 of 800 rows without a label"), "\(r2.stderr)")
        #expect(r2.stderr.contains("the new rows have no labels yet"), "\(r2.stderr)")
        var s = try summaries(ws, "late")
        let b2 = try #require(s.first { $0["batch"] as? Int == 2 })
        #expect(b2["rows"] as? Int == 800 && b2["unlabelled"] as? Int == 800 && b2["labelled_later"] as? Int == 0, "\(b2)")
        // Production's performance estimated before any label came (binary job: CBPE).
        let estimate = try #require(b2["estimate"] as? [String: Any], "\(b2)")
        let metrics = try #require(estimate["metrics"] as? [[String: Any]])
        #expect(Set(metrics.compactMap { $0["metric"] as? String }) == ["accuracy", "roc_auc"])
        let logged = try #require(try ws.json(["predictions", "late", "--batch", "2"]) as? [[String: Any]])
        #expect(logged.count == 800 && logged.allSatisfy { $0["version"] as? Int == 1 && $0["score"] is Double && $0["label"] is NSNull })

        // 600 labels, one for an id no batch has brought yet, one for a row that came labelled, and
        // one id twice (the later line wins).
        var first = Array(labels.prefix(600))
        first.append(("id99999", "yes"))
        first.append(("id0", "no"))
        let flipped = first[0].label == "yes" ? "no" : "yes"
        first.append((first[0].id, flipped))
        try ws.write(labelFile(first), to: "labels/late/l1.csv")
        let r3 = try ws.run(["run", "--once"])
        #expect(r3.status == 0, "\(r3.output)")
        #expect(
            r3.stderr.contains(
                "l1.csv: 602 labels: 600 joined, 1 for ids not seen yet (joined when their rows arrive), 1 replaced an earlier label of the same row (the later one wins), 1 ignored"),
            "\(r3.stderr)")
        #expect(r3.stderr.contains("new batch 3: labels for 600 rows of batch 2"), "\(r3.stderr)")
        let batches = try #require(try ws.json(["batches", "late"]) as? [[String: Any]])
        let joined = try #require(batches.first { $0["joined"] as? Bool == true }, "\(batches)")
        #expect(joined["rows"] as? Int == 600 && joined["state"] as? String == "consumed", "\(joined)")

        // Realized performance of v1 on the 600 rows it scored, from its logged predictions.
        let rows = try #require(try ws.json(["predictions", "late", "--batch", "2"]) as? [[String: Any]])
        let labelled = rows.filter { $0["label_source"] as? String == "labels" }
        #expect(labelled.count == 600)
        #expect(labelled.first { $0["id"] as? String == first[0].id }?["label"] as? String == flipped)
        let right = labelled.filter { $0["prediction"] as? String == $0["label"] as? String }.count
        s = try summaries(ws, "late")
        let realized = try #require((s.first { $0["batch"] as? Int == 2 }?["realized"] as? [[String: Any]])?.first)
        #expect(realized["version"] as? Int == 1 && realized["rows"] as? Int == 600 && realized["metric"] as? String == "accuracy")
        #expect(abs((realized["value"] as? Double ?? -1) - Double(right) / 600) < 1e-12)

        // A label for a row already trained on is ignored; the row waiting for the unseen id's label
        // gets it when it arrives, and is trained on in the next batch of joined rows.
        try ws.write(labelFile([first[1], labels[700]]), to: "labels/late/l2.csv")
        let (b4, _) = withoutLabels("id,x1,x2,colour,y\nid99999,0.5,5.0,red,no\n")
        try ws.write(b4, to: "incoming/late/b4.csv")
        let r4 = try ws.run(["run", "--once"])
        #expect(r4.stderr.contains("l2.csv: 2 labels: 1 joined, 1 ignored"), "\(r4.stderr)")
        let r5 = try ws.run(["run", "--once"])
        #expect(r5.status == 0, "\(r5.output)")
        let all = try #require(try ws.json(["batches", "late"]) as? [[String: Any]])
        let joinedRows = all.filter { $0["joined"] as? Bool == true }.compactMap { $0["rows"] as? Int }.reduce(0, +)
        #expect(joinedRows == 602, "\(all)")
        let text = try ws.run(["batches", "late"])
        #expect(text.stdout.contains("label files (data.labels):") && text.stdout.contains("l1.csv"), "\(text.stdout)")
        // Run 2's report: the estimate made before the labels, and the realized performance since.
        let report = try ws.run(["report", "late", "--run", "2", "--output", "-"])
        #expect(report.status == 0, "\(report.output)")
        #expect(report.stdout.contains("<h2>Rows without labels</h2>") && report.stdout.contains("CBPE"), "\(report.stdout.prefix(300))")
        #expect(report.stdout.contains("realized performance on those rows whose labels came later"))
        // The page shows in Chromium without an error and within 1280 px.
        let page = ws.root + "/late-run2.html"
        try report.stdout.write(toFile: page, atomically: true, encoding: .utf8)
        for check in try DashboardTests().browse(["file://" + page], as: "late-labels-report") {
            #expect(check.problems.isEmpty, "\(check.url): \(check.problems)")
        }
        // status: the rows still waiting, the newest realized and estimated performance.
        let status = try ws.run(["status"])
        #expect(status.stdout.contains("late: awaiting labels: 199 rows; realized accuracy "), "\(status.stdout)")
        #expect(status.stdout.contains("estimated accuracy "), "\(status.stdout)")
        let jobs = try #require((try ws.json(["status"]) as? [String: Any])?["jobs"] as? [[String: Any]])
        let lateStatus = try #require(jobs.first { $0["name"] as? String == "late" }?["labels"] as? [String: Any])
        #expect(lateStatus["awaiting"] as? Int == 199, "\(lateStatus)")
    }

    @Test("the holdout side of a row is a function of its id: a row held out stays held out when it comes back with its label")
    func holdoutByID() throws {
        let ws = try Workspace()
        try lateJob(ws, "split")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/split/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("promoted v1"), "\(r.output)")
        // holdout = 0.25 of 1200 rows by id: about 300 evaluation rows.
        let versions = try #require((try ws.json(["versions", "split"]) as? [String: Any])?["versions"] as? [[String: Any]])
        let training = try #require(versions.first?["training_rows"] as? Int)
        #expect((840...960).contains(training), "\(training)")
    }

    @Test("without data.id a batch without labels is still estimated, and status and predictions show it")
    func estimateWithoutID() throws {
        let ws = try Workspace()
        try ws.addJob("noid")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/noid/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        let (features, _) = withoutLabels(Synthetic.csv(rows: 400, seed: 2, firstID: 5000))
        try ws.write(features, to: "incoming/noid/b2.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("set data.id and data.labels to join their labels later"), "\(r.stderr)")
        let s = try summaries(ws, "noid")
        #expect(s.count == 1 && s.first?["batch"] as? Int == 2 && s.first?["estimate"] is [String: Any], "\(s)")
        let status = try ws.run(["status"])
        #expect(status.stdout.contains("noid: estimated accuracy "), "\(status.stdout)")
        #expect(!status.stdout.contains("noid: awaiting labels"), "\(status.stdout)")
    }

    @Test("adding data.id to a job keeps the split of the batches it read before: their evaluation rows never become training rows")
    func addingIDKeepsSplit() throws {
        let ws = try Workspace()
        try ws.addJob("grow")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/grow/b1.csv")
        #expect(try ws.run(["run", "--once"]).stdout.contains("promoted v1"))
        try ws.addJob("grow", extra: "id = \"id\"")
        #expect(try ws.run(["trigger", "grow", "--full"]).status == 0)
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        let versions = try #require((try ws.json(["versions", "grow"]) as? [String: Any])?["versions"] as? [[String: Any]])
        let rows = Dictionary(uniqueKeysWithValues: versions.compactMap { v in (v["version"] as? Int).map { ($0, v["training_rows"] as? Int ?? -1) } })
        #expect(rows.count == 2 && rows[1] == rows[2], "\(rows)")
    }

    @Test("a label file with a missing id is rejected naming its row; nothing of it is applied")
    func badLabelFile() throws {
        let ws = try Workspace()
        try lateJob(ws, "bad")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/bad/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        try ws.write("id,y\nid1,yes\n,no\n", to: "labels/bad/l1.csv")
        try ws.write("id,label\nid1,yes\n", to: "labels/bad/l2.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("l1.csv: column \"id\": the id is missing in data row 2"), "\(r.stderr)")
        #expect(r.stderr.contains("l2.csv: line 1, column \"y\": required column is missing from the header"), "\(r.stderr)")
        let text = try ws.run(["batches", "bad"])
        #expect(text.stdout.contains("not applied"), "\(text.stdout)")
        #expect(try ws.run(["status"]).stdout.contains("2 label files rejected (updater batches shows why)"))
    }

    @Test("a retrain in a run whose new rows have no labels is judged on the earlier batches' evaluation rows; an estimated drop can ask for it")
    func retrainWithoutNewLabels() throws {
        let ws = try Workspace()
        try lateJob(ws, "est", extra: "\n[drift]\nestimated_drop = \"retrain\"")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/est/b1.csv")
        #expect(try ws.run(["run", "--once"]).stdout.contains("promoted v1"))
        // Inputs moved onto v1's decision boundary (1.8·x1 − 0.9·(x2 − 5) ≈ 0, no red): its scores
        // are near 0.5, so its estimated accuracy falls below the gate's minimum (0.65).
        var features = "id,x1,x2,colour\n"
        for i in 0..<800 {
            let x2 = 1 + Double(i % 80) / 10
            features += "id\(5000 + i),\(String(format: "%.4f", 0.5 * (x2 - 5) + Double(i % 7 - 3) / 100)),\(x2),\(i % 2 == 0 ? "green" : "blue")\n"
        }
        try ws.write(features, to: "incoming/est/b2.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("production's estimated performance fell"), "\(r.stderr)")
        #expect(!r.stderr.contains("min_rows"), "\(r.stderr)")
        let runs = try #require(try ws.json(["runs", "est"]) as? [[String: Any]])
        #expect(runs.first?["candidate_version"] as? Int == 2, "\(runs.first ?? [:])")
        #expect(try ws.sql("SELECT count(*) FROM webhook_event WHERE type = 'performance.estimated_drop'") == "1")
    }

    @Test("a label that is not one of production's classes rejects its file; a label waiting for a row that then comes labelled is ignored, not kept")
    func labelTypos() throws {
        let ws = try Workspace()
        try lateJob(ws, "typo")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/typo/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        try ws.write("id,y\nid5000,yes\nid5001,maybe\n", to: "labels/typo/l1.csv")
        try ws.write("id,y\nid7000,yes\n", to: "labels/typo/l2.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("l1.csv: column \"y\": \"maybe\" in data row 2 is not one of the classes of the model in production (no, yes)"), "\(r.stderr)")
        #expect(try ws.sql("SELECT count(*) FROM pending_label") == "1")
        // A second label for the same id not seen yet replaces the first: it is the one that waits.
        try ws.write("id,y\nid7001,no\nid7001,yes\n", to: "labels/typo/l3.csv")
        try ws.write("id,y\nid7001,no\n", to: "labels/typo/l4.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        #expect(try ws.sql("SELECT unseen || ',' || relabelled FROM label_file WHERE path LIKE '%l3.csv'") == "0,1")
        #expect(try ws.sql("SELECT unseen || ',' || relabelled FROM label_file WHERE path LIKE '%l4.csv'") == "1,1")
        #expect(try ws.sql("SELECT label FROM pending_label WHERE row_id = 'id7001'") == "no")
        try ws.write(Synthetic.csv(rows: 300, seed: 3, firstID: 7000), to: "incoming/typo/b2.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        #expect(try ws.sql("SELECT count(*) FROM pending_label") == "0")
        #expect(try ws.sql("SELECT ignored || ',' || unseen FROM label_file WHERE path LIKE '%l2.csv'") == "1,0")
        #expect(try ws.sql("SELECT ignored || ',' || unseen FROM label_file WHERE path LIKE '%l4.csv'") == "1,0")
    }

    @Test("kill -9 while labels are joined, at either step: after the restart every label is joined once")
    func killWhileJoining() throws {
        for point in ["labels", "joined"] {
            let ws = try Workspace()
            try lateJob(ws, "kill")
            try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/kill/b1.csv")
            #expect(try ws.run(["run", "--once"]).status == 0)
            let (features, labels) = withoutLabels(Synthetic.csv(rows: 400, seed: 2, firstID: 5000))
            try ws.write(features, to: "incoming/kill/b2.csv")
            #expect(try ws.run(["run", "--once"]).status == 0)
            try ws.write(labelFile(labels), to: "labels/kill/l1.csv")
            let daemon = try DaemonProcess(ws, notify: nil, environment: ["UPDATER_TEST_STALL": point])
            #expect(daemon.waitForLog("stalled at \(point)"), "\(daemon.log)")
            daemon.crash()
            let r = try ws.run(["run", "--once"])
            #expect(r.status == 0, "\(point): \(r.output)")
            #expect(try ws.sql("SELECT count(*) FROM label_file") == "1", "\(point)")
            #expect(try ws.sql("SELECT count(*) FROM prediction WHERE label_source = 'labels'") == "400", "\(point)")
            #expect(try ws.sql("SELECT count(DISTINCT joined_batch_id) FROM prediction WHERE label_source = 'labels'") == "1", "\(point)")
            #expect(try ws.sql("SELECT row_count FROM batch WHERE joined = 1") == "400", "\(point)")
            #expect(try ws.sql("SELECT count(*) FROM pending_label") == "0", "\(point)")
        }
    }
}
