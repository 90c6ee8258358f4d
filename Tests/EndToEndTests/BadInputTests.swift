import Foundation
import Testing

@Suite("Bad input through the updater binary")
struct BadInputTests {
    @Test("a malformed batch is rejected with file, line and column, and the other job carries on")
    func malformedBatch() throws {
        let ws = try Workspace()
        try ws.addJob("good")
        try ws.addJob("bad")
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "incoming/good/b1.csv")
        var lines = Synthetic.csv(rows: 800, seed: 2).split(separator: "\n").map(String.init)
        lines[5] = "id5,abc,5.0,red,yes"  // line 6 of the file
        try ws.write(lines.joined(separator: "\n") + "\n", to: "incoming/bad/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 1, "a failed run makes --once exit 1")
        #expect(r.stdout.contains("good: promoted"), "\(r.output)")
        #expect(r.stderr.contains("b1.csv: line 6, column \"x1\": \"abc\" is not a number"), "\(r.stderr)")
        let runs = try ws.json(["runs", "bad"]) as? [[String: Any]] ?? []
        #expect(runs.first?["state"] as? String == "failed")
        #expect((runs.first?["error"] as? String)?.contains("line 6") == true)
        // The batch stays rejected: it is not read again.
        let again = try ws.run(["run", "--once"])
        #expect(again.stdout.contains("bad: idle"), "\(again.output)")
    }

    @Test("a ragged row is rejected with its line; a batch without the label column is rows without labels, not an error")
    func raggedAndMissingLabel() throws {
        let ws = try Workspace()
        try ws.addJob("rag")
        try ws.write("id,x1,x2,colour,y\nid1,1,2,red,yes\nid2,1,2,red\n", to: "incoming/rag/b1.csv")
        try ws.write("id,x1,x2,colour\nid1,1,2,red\n", to: "incoming/rag/b2.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("b1.csv: line 3: row has 4 fields, the header has 5"), "\(r.stderr)")
        #expect(r.stderr.contains("b2.csv): 1 of 1 rows without a label (data row 1): checked for drift and scored, not trained on"), "\(r.stderr)")
        #expect(r.stderr.contains("nothing to train on yet: no row has a label"), "\(r.stderr)")
    }

    @Test("an invalid job file is reported and the valid jobs still run")
    func invalidJobFile() throws {
        let ws = try Workspace()
        try ws.addJob("fine")
        try ws.write(Synthetic.csv(rows: 800, seed: 5), to: "incoming/fine/b1.csv")
        try ws.write("[data]\nlabel = 3\n", to: "jobs/broken.toml")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("broken.toml:2: data.label: expected a string, got 3"), "\(r.stderr)")
        #expect(r.stdout.contains("fine: promoted"))
        let v = try ws.run(["validate", ws.jobs], global: false)
        #expect(v.status == 1)
        #expect(v.stdout.contains("broken.toml:1: data.incoming: required key is missing"), "\(v.stdout)")
        #expect(v.stdout.contains("fine.toml: ok"))
    }

    @Test("unknown jobs and bad arguments get one clear line and a non-zero exit")
    func badArguments() throws {
        let ws = try Workspace()
        try ws.addJob("known")
        try ws.write(Synthetic.csv(rows: 800, seed: 6), to: "incoming/known/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        var r = try ws.run(["rollback", "nope"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("job \"nope\" is not in the registry"))
        r = try ws.run(["rollback", "../etc"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("is not a job name"))
        r = try ws.run(["rollback", "known", "--to", "7"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("known has no version 7 (versions: v1)"))
        r = try ws.run(["rollback", "known"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("no earlier production version than v1"))
        r = try ws.run(["versions", "missing"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("unknown job \"missing\""))
        r = try ws.run(["trigger", "ghost"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("unknown job \"ghost\""))
    }

    @Test("a state database from a newer updater is refused, not modified")
    func newerDatabase() throws {
        let ws = try Workspace()
        try ws.addJob("j")
        #expect(try ws.run(["run", "--once"]).status == 0)
        let db = ws.state + "/registry.sqlite"
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["sqlite3", db, "INSERT INTO grdb_migrations VALUES ('v42')"]
        try sqlite.run()
        sqlite.waitUntilExit()
        try #require(sqlite.terminationStatus == 0, "needs the sqlite3 command")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("written by a newer updater"), "\(r.stderr)")
    }
}

@Suite("The daemon process")
struct DaemonProcessTests {
    @Test("a second updater run on the same state directory is refused, naming the first's pid; SIGTERM stops the first")
    func secondRunRefused() throws {
        let ws = try Workspace()
        try ws.addJob("solo")
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: Workspace.binary)
        daemon.arguments = ["run", "--jobs", ws.jobs, "--state-dir", ws.state]
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer { if daemon.isRunning { daemon.terminate() } }
        // Wait (bounded) until the daemon holds the lock and has written its pid.
        let lockFile = ws.state + "/lock"
        for _ in 0..<100 {
            if let text = try? String(contentsOfFile: lockFile, encoding: .utf8), text.contains("\(daemon.processIdentifier)") { break }
            usleep(50_000)
        }
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("another updater run (pid \(daemon.processIdentifier)) is using this state directory"), "\(r.stderr)")
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        #expect(daemon.terminationReason == .exit)
        #expect(daemon.terminationStatus == 0)
        // With the first gone, the lock is free again.
        #expect(try ws.run(["run", "--once"]).status == 0)
    }

    @Test("a row with an empty label is set apart as a row without a label, naming the data row; the others train")
    func missingLabel() throws {
        let ws = try Workspace()
        try ws.addJob("lab")
        var lines = Synthetic.csv(rows: 300, seed: 9).split(separator: "\n").map(String.init)
        lines[10] = lines[10].split(separator: ",").dropLast().joined(separator: ",") + ","
        try ws.write(lines.joined(separator: "\n") + "\n", to: "incoming/lab/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("b1.csv): 1 of 300 rows without a label (data row 10)"), "\(r.stderr)")
        let batches = try #require(try ws.json(["batches", "lab"]) as? [[String: Any]])
        #expect(batches.first?["rows"] as? Int == 299, "\(batches)")
        #expect(batches.first?["unlabelled_rows"] as? Int == 1, "\(batches)")
    }
}

@Suite("Bad input found in review, through the binary")
struct ReviewedBadInputTests {
    @Test("a batch without a column the production model uses is a schema change, not a crash")
    func droppedColumn() throws {
        let ws = try Workspace()
        try ws.addJob("drop")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/drop/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        // The same rows without `colour` (features come from the accepted batch, so colour is still one).
        let lines = Synthetic.csv(rows: 600, seed: 2, firstID: 5000).split(separator: "\n").map { line in
            line.split(separator: ",", omittingEmptySubsequences: false).enumerated().filter { $0.offset != 3 }.map(\.element).joined(separator: ",")
        }
        try ws.write(lines.joined(separator: "\n") + "\n", to: "incoming/drop/b2.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 1, "the batch lacks a feature column and is rejected")
        #expect(r.stderr.contains("b2.csv: line 1, column \"colour\": required column is missing from the header"), "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"))
    }

    @Test("a foreign file arriving with good batches does not redefine the features or get them rejected")
    func foreignFile() throws {
        let ws = try Workspace()
        try ws.addJob("mix")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/mix/a-good.csv")
        try ws.write("x,y\n1,yes\n2,no\n", to: "incoming/mix/z-foreign.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("mix: promoted"), "\(r.output)")
        let batches = try ws.json(["runs", "mix"]) as? [[String: Any]]
        #expect(batches?.count == 1)
        #expect(r.stderr.contains("z-foreign.csv: line 1, column \"id\": required column is missing") || r.stderr.contains("z-foreign.csv"), "\(r.stderr)")
    }

    @Test("a symbolic link in the incoming directory is not read")
    func symlinkNotRead() throws {
        let ws = try Workspace()
        try ws.addJob("link")
        try ws.write(Synthetic.csv(rows: 300, seed: 1), to: "elsewhere.csv")
        try FileManager.default.createSymbolicLink(atPath: ws.root + "/incoming/link/b1.csv", withDestinationPath: ws.root + "/elsewhere.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("link: idle"), "\(r.output)")
    }

    @Test("two jobs with one deploy path: the second is refused, the first runs")
    func sharedDeployPath() throws {
        let ws = try Workspace()
        try ws.addJob("first")
        try ws.addJob("second")
        let text = try String(contentsOfFile: ws.jobs + "/second.toml", encoding: .utf8)
            .replacingOccurrences(of: "../deploy/second.model", with: "../deploy/first.model")
        try ws.write(text, to: "jobs/second.toml")
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "incoming/first/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("second.toml: deploy.path: \(ws.root)/deploy/first.model is already the deploy path of job first"), "\(r.stderr)")
        #expect(r.stdout.contains("first: promoted"))
    }
}
