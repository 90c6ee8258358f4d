import Foundation
import Testing

/// What a new user meets in the first hour: versions named as tables print them, exit codes a
/// script can branch on, and messages that say what is going on.
@Suite("The first hour, through the binary")
struct FirstHourTests {
    @Test("a trigger before the job's first file has settled is no failure; the file is read once it is readable")
    func triggerBeforeFirstFile() throws {
        let ws = try Workspace()
        try ws.addJob("early", extra: "settle_time = \"1h\"")
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "incoming/early/b1.csv", age: 0)
        #expect(try ws.run(["trigger", "early"]).status == 0)
        let first = try ws.run(["run", "--once"])
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("nothing to train on yet"), "\(first.output)")
        // Readable now: its modification time an hour and more ago.
        let old = Date().addingTimeInterval(-7200)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: ws.root + "/incoming/early/b1.csv")
        let second = try ws.run(["run", "--once"])
        #expect(second.status == 0 && second.output.contains("promoted v1"), "\(second.output)")
    }

    @Test("a version is named as 2 or v2 wherever one is asked for")
    func versionNames() throws {
        let ws = try Workspace()
        try ws.addJob("v")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/v/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        try ws.write(Synthetic.csv(rows: 1200, seed: 2, shift: 1.5, firstID: 5000), to: "incoming/v/b2.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        try ws.write(Synthetic.csv(rows: 50, seed: 3), to: "x.csv")
        let plain = try ws.run(["predict", "v", "--version", "1", "--input", ws.root + "/x.csv"])
        let prefixed = try ws.run(["predict", "v", "--version", "v1", "--input", ws.root + "/x.csv"])
        #expect(plain.status == 0 && prefixed.status == 0, "\(plain.stderr)\(prefixed.stderr)")
        #expect(plain.stdout == prefixed.stdout && plain.stdout.split(separator: "\n").count == 51)
        var r = try ws.run(["rollback", "v", "--to", "v1", "--reason", "test"])
        #expect(r.status == 0 && r.stdout.contains("production v2 → v1"), "\(r.output)")
        r = try ws.run(["promote", "v", "v2"])
        #expect(r.status == 0 && r.stdout.contains("production v1 → v2"), "\(r.output)")
        r = try ws.run(["promote", "v", "version2"])
        #expect(r.status == 64, "a malformed version is a usage error: \(r.output)")
    }

    @Test("predict names its --version once in its help, and updater --version prints the release")
    func versionFlag() throws {
        let ws = try Workspace()
        let help = try ws.run(["predict", "--help"], global: false)
        #expect(help.stdout.components(separatedBy: "  --version").count == 2, "one option line: \(help.stdout)")
        #expect(!help.stdout.contains("Show the version"))
        let version = try ws.run(["--version"], global: false)
        #expect(version.status == 0 && version.stdout.split(separator: ".").count == 3, "\(version.output)")
    }

    @Test("runtime errors exit 1 with one line, not 64 with the usage text")
    func runtimeErrorsExitOne() throws {
        let ws = try Workspace()
        try ws.addJob("empty")
        try ws.write(Synthetic.csv(rows: 50, seed: 3), to: "x.csv")
        _ = try ws.run(["pause", "empty"])  // creates the state directory and the job's record
        let r = try ws.run(["predict", "empty", "--input", ws.root + "/x.csv"])
        #expect(r.status == 1, "\(r.output)")
        #expect(r.stderr.contains("empty has no model in production yet") && !r.stderr.contains("USAGE"), "\(r.stderr)")
    }

    @Test("drift exits 0 without drift, 2 moderate, 3 severe, as --fail-on chooses")
    func driftExitCodes() throws {
        let ws = try Workspace()
        try ws.write(Synthetic.csv(rows: 2000, seed: 1), to: "ref.csv")
        try ws.write(Synthetic.csv(rows: 2000, seed: 2), to: "same.csv")
        try ws.write(Synthetic.csv(rows: 2000, seed: 3, shift: 1.5), to: "moved.csv")
        try ws.write(Synthetic.csv(rows: 2000, seed: 4, shift: 0.3, shiftX2: false), to: "slight.csv")
        func drift(_ current: String, _ extra: [String] = []) throws -> Int32 {
            try ws.run(["drift", "--reference", ws.root + "/ref.csv", "--current", ws.root + "/" + current, "--categorical", "colour",
                        "--label", "y", "--exclude", "id"] + extra, global: false).status
        }
        #expect(try drift("same.csv") == 0)
        #expect(try drift("slight.csv") == 2)
        #expect(try drift("slight.csv", ["--fail-on", "severe"]) == 0)
        #expect(try drift("moved.csv") == 3)
        #expect(try drift("moved.csv", ["--fail-on", "never"]) == 0)
        #expect(try drift("moved.csv", ["--fail-on", "severe"]) == 3)
        #expect(try drift("moved.csv", ["--fail-on", "sometimes"]) == 64)
    }

    @Test("validate warns, without failing, about a job whose gate promotes anything")
    func noGateWarning() throws {
        let ws = try Workspace()
        try ws.addJob("open", gate: "")
        let r = try ws.run(["validate", ws.jobs], global: false)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("open.toml: warning: gate: no [[gate.rules]], so every candidate"), "\(r.stdout)")
    }

    @Test("trigger says when no daemon holds the state directory")
    func triggerWithoutDaemon() throws {
        let ws = try Workspace()
        try ws.addJob("t")
        let r = try ws.run(["trigger", "t"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("no daemon is running on"), "\(r.stdout)")
    }

    @Test("a file still settling and a file never read are shown by run --once, status and runs")
    func settlingAndSkipped() throws {
        let ws = try Workspace()
        try ws.addJob("s", extra: "settle_time = \"1h\"")
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "incoming/s/fresh.csv", age: 0)
        try ws.write("not a batch\n", to: "incoming/s/notes.txt")
        var r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("s: idle: no new data; 1 file still settling (fresh.csv, readable in"), "\(r.output)")
        #expect(r.stderr.contains("notes.txt is not a .csv file: not read"), "\(r.stderr)")
        r = try ws.run(["status"])
        #expect(r.stdout.contains("0 (+1 settling)"), "\(r.stdout)")
        #expect(r.stdout.contains("s: \(ws.root)/incoming/s/notes.txt is not a .csv file: not read"), "\(r.stdout)")
        r = try ws.run(["runs", "s"])
        #expect(r.stdout.contains("s: 1 file still settling (fresh.csv"), "\(r.stdout)")
    }

    @Test("a batch rejected under a job file that was then fixed is read again, without a person retrying it")
    func fixedJobFileRereads() throws {
        let ws = try Workspace()
        try ws.addJob("fix")
        let fixed = try String(contentsOfFile: ws.jobs + "/fix.toml", encoding: .utf8)
        try fixed.replacingOccurrences(of: "categorical = [\"colour\"]", with: "").write(toFile: ws.jobs + "/fix.toml", atomically: true, encoding: .utf8)
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/fix/b1.csv")
        var r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("is not a number"), "the colours are read as numbers: \(r.output)")
        try fixed.write(toFile: ws.jobs + "/fix.toml", atomically: true, encoding: .utf8)
        r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stderr.contains("was rejected under an earlier job file; the job file changed, so it is read again"), "\(r.stderr)")
        #expect(r.stdout.contains("fix: promoted"), "\(r.output)")
        r = try ws.run(["history", "fix"])
        #expect(r.stdout.contains("retry") && r.stdout.contains("updater"), "recorded as a retry by updater: \(r.stdout)")
    }

    @Test("status, runs and drift work from another directory: the registry knows each job file's absolute path")
    func fromAnotherDirectory() throws {
        let ws = try Workspace()
        try ws.addJob("far")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/far/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        let elsewhere = try TemporaryDirectory()
        let r = try ws.run(["status", "--state-dir", ws.state], global: false, in: elsewhere.path)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("far ") && r.stdout.contains("v1") && !r.stdout.contains("INVALID"), "\(r.stdout)")
        try ws.write(Synthetic.csv(rows: 800, seed: 2), to: "incoming/far/b2.csv", age: 0)
        let runs = try ws.run(["runs", "far", "--state-dir", ws.state], global: false, in: elsewhere.path)
        #expect(runs.stdout.contains("far: 1 file still settling (b2.csv"), "the job file was found: \(runs.output)")
        let drift = try ws.run(["drift", "far", "--state-dir", ws.state], global: false, in: elsewhere.path)
        #expect(drift.stdout.contains("far: 1 file") && drift.stdout.contains("against production v1"), "\(drift.output)")
    }

    @Test("shell completions for bash, zsh and fish name every command; bash parses its script")
    func completions() throws {
        let ws = try Workspace()
        for shell in ["bash", "zsh", "fish"] {
            let r = try ws.run(["--generate-completion-script", shell], global: false)
            #expect(r.status == 0, "\(r.output)")
            for command in ["rollback", "backtest", "batches", "adopt"] { #expect(r.stdout.contains(command), "\(shell): \(command)") }
        }
        let bash = try ws.run(["--generate-completion-script", "bash"], global: false)
        try bash.stdout.write(toFile: ws.root + "/updater.bash", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-n", ws.root + "/updater.bash"]
        let check = try Workspace.collect(p)
        #expect(check.status == 0, "\(check.stderr)")
    }

    @Test("init drafts a job that validates, says what it inferred, and trains on its first batch; it never overwrites")
    func initDraftsAJob() throws {
        let ws = try Workspace()
        try ws.write(Synthetic.csv(rows: 1500, seed: 1), to: "sample.csv")
        let dry = try ws.run(["init", "fresh", "--from", ws.root + "/sample.csv", "--label", "y", "--jobs", ws.jobs, "--dry-run"], global: false)
        #expect(dry.status == 0, "\(dry.output)")
        #expect(dry.stdout.hasPrefix("# fresh: drafted by `updater init`") && dry.stderr.contains("colour  categorical: text, 3 values"), "\(dry.output)")
        #expect(!FileManager.default.fileExists(atPath: ws.jobs + "/fresh.toml"), "--dry-run writes nothing")
        var r = try ws.run(["init", "fresh", "--from", ws.root + "/sample.csv", "--label", "y", "--jobs", ws.jobs], global: false)
        #expect(r.status == 0 && r.stdout.contains("  id      excluded: identifier-like"), "\(r.output)")
        #expect(try ws.run(["validate", ws.jobs], global: false).stdout.contains("fresh.toml: ok (job fresh)"))
        try ws.write(Synthetic.csv(rows: 1200, seed: 2, firstID: 5000), to: "jobs/fresh/incoming/b1.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.status == 0 && r.stdout.contains("fresh: promoted"), "\(r.output)")
        r = try ws.run(["init", "fresh", "--from", ws.root + "/sample.csv", "--label", "y", "--jobs", ws.jobs], global: false)
        #expect(r.status == 1 && r.stderr.contains("fresh.toml exists"), "\(r.output)")
    }

    @Test("bad_rows = skip: bad rows are left out, said with their lines and kept beside the batch; too many reject it")
    func skipBadRows() throws {
        let ws = try Workspace()
        try ws.addJob("skip", extra: "bad_rows = \"skip\"\nmax_bad_rows = 5")
        var lines = Synthetic.csv(rows: 1200, seed: 1).split(separator: "\n").map(String.init)
        lines[10] = lines[10].replacingOccurrences(of: ",", with: ",oops", options: [], range: lines[10].range(of: ","))
        lines[20] += ",extra"
        try ws.write(lines.joined(separator: "\n") + "\n", to: "incoming/skip/b1.csv")
        var r = try ws.run(["run", "--once"])
        #expect(r.status == 0 && r.stdout.contains("skip: promoted"), "\(r.output)")
        #expect(r.stderr.contains("2 bad rows left out (lines 11, 21; first: line 11, column"), "\(r.stderr)")
        let batches = try ws.run(["batches", "skip", "--json"])
        let entries = try JSONSerialization.jsonObject(with: Data(batches.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(entries.first?["skipped_rows"] as? Int == 2 && entries.first?["rows"] as? Int == 1198, "\(batches.stdout)")
        let sidecars = try FileManager.default.subpathsOfDirectory(atPath: ws.state + "/batches/skip").filter { $0.hasSuffix(".skipped.csv") }
        #expect(sidecars.count == 1)
        let kept = try String(contentsOfFile: ws.state + "/batches/skip/" + sidecars[0], encoding: .utf8)
        #expect(kept.hasPrefix("line,column,reason,row\n11,") && kept.contains("\n21,,row has more than the header's 5 fields,\"id19,"), "\(kept)")

        var many = Synthetic.csv(rows: 600, seed: 2, firstID: 9000).split(separator: "\n").map(String.init)
        for k in 1...6 { many[k * 10] += ",extra" }
        try ws.write(many.joined(separator: "\n") + "\n", to: "incoming/skip/b2.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("6 bad rows of 600, more than data.max_bad_rows allows (5)"), "\(r.stderr)")
    }

    @Test("runs are numbered per job, as versions are: each job's first run is run 1, everywhere people see it")
    func perJobRunNumbers() throws {
        let ws = try Workspace()
        try ws.addJob("a")
        try ws.addJob("b")
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "incoming/a/b1.csv")
        try ws.write(Synthetic.csv(rows: 800, seed: 2), to: "incoming/b/b1.csv")
        var r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("a: promoted (run 1)") && r.stdout.contains("b: promoted (run 1)"), "\(r.output)")
        try ws.write(Synthetic.csv(rows: 800, seed: 3, firstID: 5000), to: "incoming/b/b2.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("(run 2)") && r.stderr.contains("info: b: run 2: "), "\(r.output)")
        r = try ws.run(["runs", "b", "--run", "2"])
        #expect(r.stdout.hasPrefix("run 2 of b: "), "\(r.stdout)")
        r = try ws.run(["history", "b"])
        #expect(r.stdout.contains("full run 1: gate passed"), "\(r.stdout)")
        let batches = try ws.run(["batches", "b", "--json"])
        let entries = try JSONSerialization.jsonObject(with: Data(batches.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(entries.map { $0["run"] as? Int } == [1, 2], "\(batches.stdout)")
        let runs = try ws.run(["runs", "a", "--json"])
        let list = try JSONSerialization.jsonObject(with: Data(runs.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(list.first?["number"] as? Int == 1, "\(runs.stdout)")
    }
}
