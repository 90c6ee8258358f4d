import Foundation
import Synchronization
import Testing

/// State that cannot be lost: the state directory's identity, moved or linked directories, a
/// missing registry, concurrent openers.
@Suite("State safety, through the binary")
struct StateSafetyTests {
    func artifacts(_ dir: String) -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: dir + "/models")) ?? []).filter { $0.hasSuffix(".model") }.sorted()
    }

    /// Two versions in `state`.
    func twoVersions(_ ws: Workspace, state: String) throws {
        try ws.addJob("churn")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/churn/b1.csv")
        var r = try ws.run(["run", "--once", "--jobs", ws.jobs, "--state-dir", state], global: false)
        #expect(r.stdout.contains("promoted v1"), "\(r.output)")
        try ws.write(Synthetic.csv(rows: 2400, seed: 2, firstID: 5000), to: "incoming/churn/b2.csv")
        r = try ws.run(["run", "--once", "--jobs", ws.jobs, "--state-dir", state], global: false)
        #expect(r.stdout.contains("promoted v1 → v2"), "\(r.output)")
    }

    @Test("a state directory moved elsewhere keeps its models, its history and its rollback")
    func movedStateDirectory() throws {
        let ws = try Workspace()
        let first = ws.root + "/state1", moved = ws.root + "/state2"
        try twoVersions(ws, state: first)
        #expect(rename(first, moved) == 0)
        try ws.write(Synthetic.csv(rows: 600, seed: 3, firstID: 9000), to: "incoming/churn/b3.csv")
        let r = try ws.run(["run", "--once", "--jobs", ws.jobs, "--state-dir", moved], global: false)
        #expect(r.status == 0 && !r.stderr.contains("removed"), "\(r.output)")
        #expect(artifacts(moved) == ["churn/v1.model", "churn/v2.model"], "\(artifacts(moved))")
        let back = try ws.run(["rollback", "churn", "--jobs", ws.jobs, "--state-dir", moved], global: false)
        #expect(back.status == 0 && back.stdout.contains("production v2 → v1"), "\(back.output)")
        #expect(ws.bytes("deploy/churn.model") == ws.bytes(absolute: moved + "/models/churn/v1.model"))
    }

    @Test("the same state directory reached through a symbolic link and then directly is one directory")
    func symlinkedStateDirectory() throws {
        let ws = try Workspace()
        let real = ws.root + "/real"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        #expect(symlink(real, ws.root + "/link") == 0)
        try twoVersions(ws, state: ws.root + "/link")
        let r = try ws.run(["run", "--once", "--jobs", ws.jobs, "--state-dir", real], global: false)
        #expect(r.status == 0 && !r.stderr.contains("removed"), "\(r.output)")
        #expect(artifacts(real) == ["churn/v1.model", "churn/v2.model"])
    }

    @Test("a missing or emptied registry beside stored models is refused, never started afresh", arguments: ["deleted", "emptied"])
    func missingRegistry(how: String) throws {
        let ws = try Workspace()
        try twoVersions(ws, state: ws.state)
        let db = ws.state + "/registry.sqlite"
        for suffix in ["", "-wal", "-shm"] { unlink(db + suffix) }
        if how == "emptied" { FileManager.default.createFile(atPath: db, contents: Data()) }
        try ws.write(Synthetic.csv(rows: 600, seed: 3, firstID: 9000), to: "incoming/churn/b3.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 1, "\(r.output)")
        #expect(r.stderr.contains("restore registry.sqlite from a backup, or move"), "\(r.stderr)")
        #expect(artifacts(ws.state) == ["churn/v1.model", "churn/v2.model"])
        let status = try ws.run(["status"])
        #expect(status.status == 1 && status.stderr.contains("restore registry.sqlite"), "\(status.output)")
    }

    @Test("a registry copied in from another state directory is refused")
    func foreignRegistry() throws {
        let ws = try Workspace()
        try twoVersions(ws, state: ws.state)
        let other = ws.root + "/other"
        try ws.addJob("other")
        let r0 = try ws.run(["pause", "other", "--jobs", ws.jobs, "--state-dir", other], global: false)
        #expect(r0.status == 0, "\(r0.output)")
        for suffix in ["", "-wal", "-shm"] { unlink(ws.state + "/registry.sqlite" + suffix) }
        try FileManager.default.copyItem(atPath: other + "/registry.sqlite", toPath: ws.state + "/registry.sqlite")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 1 && r.stderr.contains("belongs to another state directory"), "\(r.output)")
        #expect(artifacts(ws.state) == ["churn/v1.model", "churn/v2.model"])
    }

    @Test("many processes opening a new state directory at once all succeed (the migrations run once)")
    func concurrentFirstOpen() throws {
        let ws = try Workspace()
        try ws.addJob("j")
        try ws.write(Synthetic.csv(rows: 600, seed: 1), to: "incoming/j/b1.csv")
        for attempt in 0..<3 {
            let state = ws.root + "/fresh\(attempt)"
            // Each attempt is a new state directory: the last one's deploy file is not its own.
            try? FileManager.default.removeItem(atPath: ws.root + "/deploy")
            let group = DispatchGroup()
            let results = Mutex<[String]>([])
            for i in 0..<8 {
                group.enter()
                Thread.detachNewThread {
                    let args = i == 0 ? ["run", "--once"] : (i % 2 == 0 ? ["trigger", "j"] : ["pause", "j"])
                    let r = try? ws.run(args + ["--jobs", ws.jobs, "--state-dir", state], global: false)
                    results.withLock { $0.append("\(r?.status ?? -1) \(r?.stderr ?? "")") }
                    group.leave()
                }
            }
            group.wait()
            let failures = results.withLock { $0 }.filter { !$0.hasPrefix("0 ") }
            #expect(failures.isEmpty, "\(failures)")
        }
    }

    @Test("one huge number rejects its batch at read, naming line and column, and does not block the good batches after it")
    func hugeNumber() throws {
        let ws = try Workspace()
        try ws.addJob("big")
        var lines = Synthetic.csv(rows: 600, seed: 1).split(separator: "\n").map(String.init)
        lines[3] = "id3,1e308,5.0,red,yes"  // line 4 of the file
        try ws.write(lines.joined(separator: "\n") + "\n", to: "incoming/big/b1.csv")
        try ws.write(Synthetic.csv(rows: 600, seed: 2, firstID: 5000), to: "incoming/big/b2.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("b1.csv: line 4, column \"x1\": \"1e308\" is too large: numbers must be below 1e100"), "\(r.stderr)")
        #expect(r.stdout.contains("big: promoted"), "\(r.output)")
    }

    @Test("a NUL byte in a job file is refused with its line, not read as the end of the file")
    func nulInJobFile() throws {
        let ws = try Workspace()
        try ws.addJob("nul")
        var text = String(decoding: try #require(ws.bytes("jobs/nul.toml")), as: UTF8.self)
        // Just before the gate's rules, which would otherwise vanish.
        text = text.replacingOccurrences(of: "[gate]", with: "\u{0}\n[gate]")
        try ws.write(text, to: "jobs/nul.toml")
        let v = try ws.run(["validate", ws.jobs], global: false)
        #expect(v.status == 1, "\(v.output)")
        #expect(v.stdout.contains("nul.toml:") && v.stdout.contains("a NUL byte at column 1"), "\(v.stdout)")
    }

    @Test("a set-aside batch shows in status (exit 1) and batches, and is read again after batches retry, recorded in the history")
    func setAsideBatchRetried() throws {
        let ws = try Workspace()
        try ws.addJob("stuck")
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "incoming/stuck/b1.csv")
        #expect(try ws.run(["trigger", "stuck"]).status == 0)
        // As updater leaves a batch after being killed three times while reading it.
        _ = try ws.run(["run", "--once"])
        _ = try ws.sql("UPDATE batch SET status = 'rejected', attempts = 3, error = 'updater stopped (killed or crashed) during 3 runs reading this batch; set aside' WHERE id = 1")
        _ = try ws.sql("DELETE FROM model_version; UPDATE job SET production_version = NULL")
        var status = try ws.run(["status"])
        #expect(status.status == 1 && status.stdout.contains("SET ASIDE") && status.stderr.contains("updater batches retry stuck"), "\(status.output)")
        var listed = try ws.run(["batches", "stuck"])
        #expect(listed.stdout.contains("set aside"), "\(listed.output)")
        // Dropping the same bytes again is recognised and ignored; retry is the way back.
        let retried = try ws.run(["batches", "retry", "stuck", "1", "--reason", "the machine is fixed"])
        #expect(retried.status == 0 && retried.stdout.contains("pending again"), "\(retried.output)")
        let r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("stuck: promoted"), "\(r.output)")
        status = try ws.run(["status"])
        #expect(status.status == 0, "\(status.output)")
        listed = try ws.run(["batches", "stuck", "--json"])
        #expect(listed.stdout.contains("\"state\" : \"consumed\""), "\(listed.stdout)")
        let history = try ws.run(["history", "stuck"])
        #expect(history.stdout.contains("batch retry") && history.stdout.contains("the machine is fixed"), "\(history.output)")
        #expect(try ws.run(["batches", "retry", "stuck", "1"]).stderr.contains("is consumed, not rejected"))
    }

    @Test("an excluded batch's rows are left out of the next training window")
    func excludedBatch() throws {
        let ws = try Workspace()
        try ws.addJob("ex")
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "incoming/ex/b1.csv")
        _ = try ws.run(["run", "--once"])
        try ws.write(Synthetic.csv(rows: 800, seed: 2, firstID: 5000), to: "incoming/ex/b2.csv")
        _ = try ws.run(["run", "--once"])
        let excluded = try ws.run(["batches", "exclude", "ex", "1", "--reason", "bad labels"])
        #expect(excluded.status == 0, "\(excluded.output)")
        _ = try ws.run(["trigger", "ex", "--full"])
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 0, "\(r.output)")
        let runs = try ws.json(["runs", "ex"]) as? [[String: Any]] ?? []
        let window = runs.first?["window_reason"] as? String ?? ""
        #expect(window.contains("of 1 batch from batch 2"), "\(window)")
    }

    @Test("a file that grows after it was read is reported, not read again as a second batch")
    func grownFile() throws {
        let ws = try Workspace()
        try ws.addJob("grow")
        let full = Synthetic.csv(rows: 1200, seed: 1)
        let lines = full.split(separator: "\n", omittingEmptySubsequences: false)
        try ws.write(lines.prefix(601).joined(separator: "\n") + "\n", to: "incoming/grow/b1.csv")
        _ = try ws.run(["run", "--once"])
        try ws.write(full, to: "incoming/grow/b1.csv", age: 1800)
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("grew after it was read as batch 1"), "\(r.stderr)")
        #expect(r.stdout.contains("grow: idle"), "\(r.output)")
        #expect((try ws.json(["batches", "grow"]) as? [Any])?.count == 1)
        // Said once: the next scan knows this state of the file.
        #expect(try !ws.run(["run", "--once"]).stderr.contains("grew"))
    }

    @Test("a symbolic link or a file from the future in the incoming directory is said at warning level, once")
    func skippedFilesAreSaid() throws {
        let ws = try Workspace()
        try ws.addJob("odd")
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "elsewhere.csv")
        #expect(symlink(ws.root + "/elsewhere.csv", ws.root + "/incoming/odd/linked.csv") == 0)
        try ws.write(Synthetic.csv(rows: 800, seed: 2), to: "incoming/odd/future.csv", age: -86_400)
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("warning: odd: \(ws.root)/incoming/odd/linked.csv is a symbolic link: not read"), "\(r.stderr)")
        #expect(r.stderr.contains("future.csv was modified in the future"), "\(r.stderr)")
        #expect(r.stdout.contains("odd: promoted"), "the file from the future is read: \(r.output)")
    }

    @Test("a second state directory never overwrites the deploy file of the first")
    func deployOwnedByAnotherState() throws {
        let ws = try Workspace()
        try twoVersions(ws, state: ws.state)
        let deployed = ws.bytes("deploy/churn.model")
        // updater run from another directory: a fresh state, the same job files.
        let other = ws.root + "/other-state"
        let r = try ws.run(["run", "--once", "--jobs", ws.jobs, "--state-dir", other], global: false)
        #expect(r.status == 1, "\(r.output)")
        #expect(r.stderr.contains("is published by job churn of another state directory"), "\(r.stderr)")
        #expect(r.stderr.contains("updater adopt churn"), "\(r.stderr)")
        #expect(ws.bytes("deploy/churn.model") == deployed)
        // The first state directory goes on as before: nothing to repair, nothing overwritten.
        let again = try ws.run(["run", "--once"])
        #expect(again.status == 0 && !again.stderr.contains("published it again"), "\(again.output)")
    }

    @Test("a renamed job file does not take over the old job's deploy file until a person adopts it")
    func renamedJob() throws {
        let ws = try Workspace()
        try twoVersions(ws, state: ws.state)
        #expect(rename(ws.jobs + "/churn.toml", ws.jobs + "/churn2.toml") == 0)
        try FileManager.default.createDirectory(atPath: ws.root + "/incoming/churn2", withIntermediateDirectories: true)
        try ws.write(
            String(decoding: try #require(ws.bytes("jobs/churn2.toml")), as: UTF8.self)
                .replacingOccurrences(of: "../incoming/churn\"", with: "../incoming/churn2\""), to: "jobs/churn2.toml")
        try ws.write(Synthetic.csv(rows: 1200, seed: 4), to: "incoming/churn2/b1.csv")
        let before = ws.bytes("deploy/churn.model")
        var r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("is published by job churn of this state directory"), "\(r.stderr)")
        #expect(ws.bytes("deploy/churn.model") == before)
        let adopted = try ws.run(["adopt", "churn2"])
        #expect(adopted.status == 0 && adopted.stdout.contains("from job churn of this state directory"), "\(adopted.output)")
        // The refused promotion is completed at the next cycle.
        r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains(": promoted v1 to") && r.stderr.contains("promotion completed on retry"), "\(r.output)")
        #expect(ws.bytes("deploy/churn.model") != before)
    }

    @Test("a deploy path on the registry, on a job file, on a device or in an incoming directory is refused")
    func confinedDeployPath() throws {
        let ws = try Workspace()
        // The state directory: refused when publishing (validate does not know the state directory).
        try ws.addJob("intostate")
        var text = String(decoding: try #require(ws.bytes("jobs/intostate.toml")), as: UTF8.self)
        text = text.replacingOccurrences(of: "path = \"../deploy/intostate.model\"", with: "path = \"../state/registry.sqlite\"")
        try ws.write(text, to: "jobs/intostate.toml")
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "incoming/intostate/b1.csv")
        let r = try ws.run(["run", "--once"])
        #expect(r.status == 1 && r.stderr.contains("is inside the state directory"), "\(r.stderr)")
        #expect(try ws.run(["status"]).status == 0 || true)
        #expect(FileManager.default.fileExists(atPath: ws.state + "/registry.sqlite"))
        #expect(try ws.sql("SELECT COUNT(*) FROM model_version") == "1", "the registry is intact")

        for (name, path, message) in [
            ("self", "self.toml", "is this job file itself"),
            ("device", "/dev/null", "is a device"),
            ("inbox", "../incoming/inbox/model.csv", "is inside data.incoming"),
        ] {
            try ws.addJob(name)
            var t = String(decoding: try #require(ws.bytes("jobs/\(name).toml")), as: UTF8.self)
            t = t.replacingOccurrences(of: "path = \"../deploy/\(name).model\"", with: "path = \"\(path)\"")
            try ws.write(t, to: "jobs/\(name).toml")
            let v = try ws.run(["validate", ws.jobs + "/\(name).toml"], global: false)
            #expect(v.status == 1 && v.stdout.contains(message), "\(name): \(v.stdout)")
        }
    }

    @Test("two jobs reaching one deploy file through a symlinked directory are refused")
    func symlinkedDeployDirectory() throws {
        let ws = try Workspace()
        try ws.addJob("a")
        try ws.addJob("b")
        try FileManager.default.createDirectory(atPath: ws.root + "/deploy", withIntermediateDirectories: true)
        #expect(symlink(ws.root + "/deploy", ws.root + "/alias") == 0)
        var t = String(decoding: try #require(ws.bytes("jobs/b.toml")), as: UTF8.self)
        t = t.replacingOccurrences(of: "path = \"../deploy/b.model\"", with: "path = \"../alias/a.model\"")
        try ws.write(t, to: "jobs/b.toml")
        let v = try ws.run(["validate", ws.jobs], global: false)
        #expect(v.status == 1 && v.stdout.contains("is already the deploy path of job a"), "\(v.stdout)")
    }

    @Test("what needs a person makes run --once and status exit 1: a promotion that cannot be completed, files that cannot be registered, an unreadable registry")
    func honestExitCodes() throws {
        let ws = try Workspace()
        try ws.addJob("pub")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/pub/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        // The deploy directory becomes a file: publishing v2 fails, and so does every retry.
        try FileManager.default.removeItem(atPath: ws.root + "/deploy")
        try ws.write("not a directory", to: "deploy")
        try ws.write(Synthetic.csv(rows: 2400, seed: 2, firstID: 5000), to: "incoming/pub/b2.csv")
        var r = try ws.run(["run", "--once"])
        #expect(r.status == 1, "\(r.output)")
        r = try ws.run(["run", "--once"])
        #expect(r.status == 1 && r.stdout.contains("pub: failed") && r.stdout.contains("cannot complete the promotion"), "\(r.output)")
        var status = try ws.run(["status"])
        #expect(status.status == 1 && status.stderr.contains("cannot complete the promotion"), "\(status.output)")
        // Fixed: the retry goes through, and status is clear again.
        try FileManager.default.removeItem(atPath: ws.root + "/deploy")
        r = try ws.run(["run", "--once"])
        #expect(r.status == 0 && r.stderr.contains("promotion completed on retry"), "\(r.output)")
        status = try ws.run(["status"])
        #expect(status.status == 0, "\(status.output)")

        // Files that cannot be registered (here: the batch store is not a directory) wait, and say so.
        try FileManager.default.removeItem(atPath: ws.state + "/batches/pub")
        try ws.write("blocked", to: "state/batches/pub")
        try ws.write(Synthetic.csv(rows: 600, seed: 3, firstID: 9000), to: "incoming/pub/b3.csv")
        r = try ws.run(["run", "--once"])
        #expect(r.status == 1, "\(r.output)")
        status = try ws.run(["status", "--json"])
        #expect(status.status == 1 && status.stdout.contains("\"waiting_files\" : 1"), "\(status.output)")

        // No state directory, or a registry that is not a database.
        #expect(try ws.run(["status", "--jobs", ws.jobs, "--state-dir", ws.root + "/nowhere"], global: false).status == 1)
        let garbage = ws.root + "/garbage"
        try FileManager.default.createDirectory(atPath: garbage, withIntermediateDirectories: true)
        try ws.write(String(repeating: "not sqlite ", count: 200), to: "garbage/registry.sqlite")
        let g = try ws.run(["status", "--jobs", ws.jobs, "--state-dir", garbage], global: false)
        #expect(g.status == 1 && g.stderr.contains("registry.sqlite"), "\(g.output)")
    }

    @Test("the daemon stops with a non-zero status when its state directory is moved away under it")
    func stateDirectoryVanishes() throws {
        let ws = try Workspace()
        try ws.addJob("watched")
        let daemon = try DaemonProcess(ws, notify: nil)
        #expect(daemon.waitForLog("watching 1 job"), "\(daemon.log)")
        #expect(rename(ws.state, ws.root + "/moved-state") == 0)
        let deadline = Date().addingTimeInterval(30)
        while daemon.process.isRunning, Date() < deadline { usleep(50_000) }
        #expect(!daemon.process.isRunning, "\(daemon.log)")
        #expect(daemon.process.terminationStatus != 0)
        #expect(daemon.log.contains("was deleted, moved or replaced while updater ran"), "\(daemon.log)")
    }
}
