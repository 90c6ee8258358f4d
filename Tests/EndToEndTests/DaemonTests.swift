import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A test-owned `$NOTIFY_SOCKET`: a unix datagram socket that collects what the daemon sends.
final class NotifyListener {
    let path: String
    private let fd: Int32
    private(set) var messages: [String] = []

    init() throws {
        path = NSTemporaryDirectory() + "updater-notify-\(UUID().uuidString.prefix(8)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let name = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: name)
            raw[name.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Waits up to `seconds` for a datagram containing `field` (e.g. "READY=1"); returns it.
    @discardableResult
    func wait(for field: String, seconds: Double = 20) -> String? {
        if let seen = messages.firstIndex(where: { $0.split(separator: "\n").contains(Substring(field)) }) {
            return messages.remove(at: seen)
        }
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { continue }
            let message = String(decoding: buffer[0..<n], as: UTF8.self)
            if message.split(separator: "\n").contains(Substring(field)) { return message }
            messages.append(message)
        }
        return nil
    }
}

/// `updater run` as a child process with a notify socket and its stderr in a file.
final class DaemonProcess {
    let process = Process()
    let logPath: String

    init(_ ws: Workspace, notify: NotifyListener?, watchdogUsec: Int? = nil, arguments: [String] = [], environment: [String: String] = [:]) throws {
        logPath = ws.root + "/daemon.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Workspace.binary)
        // Metrics on a port of the system's choosing, so that daemons of tests running at once never
        // compete for one (the log says which: ``metricsURL``).
        let metrics = arguments.contains("--metrics-listen") ? [] : ["--metrics-listen", "127.0.0.1:0"]
        process.arguments = ["run", "--jobs", ws.jobs, "--state-dir", ws.state] + metrics + arguments
        var env = ProcessInfo.processInfo.environment
        for key in ["UPDATER_STATE_DIR", "STATE_DIRECTORY", "JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            env.removeValue(forKey: key)
        }
        env["USER"] = "tester"
        if let notify { env["NOTIFY_SOCKET"] = notify.path }
        if let watchdogUsec { env["WATCHDOG_USEC"] = String(watchdogUsec) }
        env.merge(environment) { _, new in new }
        process.environment = env
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits up to `seconds` until the log contains `text`.
    func waitForLog(_ text: String, seconds: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if log.contains(text) { return true }
            usleep(100_000)
        }
        return false
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Where the daemon serves its metrics, once it says so.
    func metricsURL(seconds: Double = 30) -> String? {
        guard waitForLog("serving metrics on ", seconds: seconds) else { return nil }
        return log.components(separatedBy: "serving metrics on ").last?.split(separator: " ").first.map(String.init)
    }

    /// kill -9, and wait for it to be gone.
    func crash() {
        signal(SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then the exit status (nil when it did not exit within `seconds`).
    func stop(seconds: Double = 30) -> Int32? {
        signal(SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        if !process.isRunning, process.terminationStatus != 0 {
            // Whatever the test expects, a daemon that did not stop cleanly leaves its last words.
            print("daemon exited with \(process.terminationStatus) (reason \(process.terminationReason.rawValue)); its log ends:\n"
                + log.split(separator: "\n").suffix(30).joined(separator: "\n"))
        }
        return process.isRunning ? nil : process.terminationStatus
    }
}

@Suite("The daemon: systemd notifications, reload, pause", .serialized)
struct DaemonTests {
    func productionVersion(_ ws: Workspace, _ job: String) throws -> Int? {
        (try ws.json(["versions", job]) as? [String: Any])?["production_version"] as? Int
    }

    /// Polls until `job` has a model in production (bounded).
    func waitForProduction(_ ws: Workspace, _ job: String, seconds: Double = 60) throws -> Int? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let v = try? productionVersion(ws, job) { return v }
            usleep(200_000)
        }
        return nil
    }

    @Test("READY with a STATUS line once loaded, WATCHDOG pings from the loop, STOPPING and exit 0 on SIGTERM")
    func notifications() throws {
        let ws = try Workspace()
        try ws.addJob("alpha")
        let notify = try NotifyListener()
        let daemon = try DaemonProcess(ws, notify: notify, watchdogUsec: 800_000)
        let ready = notify.wait(for: "READY=1")
        #expect(ready != nil, "\(daemon.log)")
        #expect(ready?.contains("STATUS=1 job, ") == true, "\(ready ?? "")")
        // WATCHDOG_USEC 0.8 s: the loop pings every 0.2 s or so (a quarter of it); pings keep coming.
        for _ in 0..<5 { #expect(notify.wait(for: "WATCHDOG=1", seconds: 3) != nil) }
        daemon.signal(SIGTERM)
        #expect(notify.wait(for: "STOPPING=1") != nil)
        #expect(daemon.stop() == 0, "\(daemon.log)")
    }

    @Test("without WATCHDOG_USEC no watchdog pings are sent; without NOTIFY_SOCKET the daemon runs as before")
    func noWatchdog() throws {
        let ws = try Workspace()
        try ws.addJob("alpha")
        let notify = try NotifyListener()
        let daemon = try DaemonProcess(ws, notify: notify)
        #expect(notify.wait(for: "READY=1") != nil)
        #expect(notify.wait(for: "WATCHDOG=1", seconds: 1.5) == nil)
        #expect(daemon.stop() == 0)

        let plain = try DaemonProcess(ws, notify: nil)
        #expect(plain.waitForLog("watching 1 job"))
        #expect(plain.stop() == 0, "\(plain.log)")
    }

    @Test("SIGHUP: a new job starts, a changed job takes effect, a broken file keeps its last good version running")
    func reload() throws {
        let ws = try Workspace()
        try ws.addJob("keep")
        try ws.addJob("edit")
        try ws.addJob("broken")
        let notify = try NotifyListener()
        let daemon = try DaemonProcess(ws, notify: notify)
        #expect(notify.wait(for: "READY=1") != nil, "\(daemon.log)")

        // A new job with data, an edited one and one that no longer parses.
        try ws.addJob("fresh")
        try ws.write(Synthetic.csv(rows: 600, seed: 1), to: "incoming/fresh/b1.csv")
        try ws.addJob("edit", gate: "[gate]\nmin_rows = 40\n")
        try ws.write("[data\nincoming = ", to: "jobs/broken.toml")
        daemon.signal(SIGHUP)
        let reloading = notify.wait(for: "RELOADING=1")
        #expect(reloading?.contains("MONOTONIC_USEC=") == true, "\(reloading ?? "nothing")")
        #expect(notify.wait(for: "READY=1") != nil)
        #expect(daemon.waitForLog("reloaded"), "\(daemon.log)")
        let log = daemon.log
        #expect(log.contains("added fresh"), "\(log)")
        #expect(log.contains("changed edit"), "\(log)")
        #expect(log.contains("broken: \(ws.jobs)/broken.toml no longer validates; its last good version stays in force"), "\(log)")

        // The new job runs; the broken file's last good version still runs on new data.
        #expect(try waitForProduction(ws, "fresh") == 1, "\(daemon.log)")
        try ws.write(Synthetic.csv(rows: 600, seed: 2), to: "incoming/broken/b1.csv")
        #expect(try ws.run(["trigger", "broken"]).status == 0)
        #expect(try waitForProduction(ws, "broken") == 1, "\(daemon.log)")

        // An invalid job file needs a person: status says so and exits 1.
        let shown = try ws.run(["status", "--json"])
        #expect(shown.status == 1 && shown.stderr.contains("broken: job file:"), "\(shown.stderr)")
        let status = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
        let broken = (status?["jobs"] as? [[String: Any]])?.first { $0["name"] as? String == "broken" }
        let problems = broken?["job_file_problems"] as? [String] ?? []
        #expect(problems.contains { $0.contains("the daemon keeps the last good version in force") }, "\(problems)")
        #expect(daemon.stop() == 0)
    }

    @Test("pause and resume are picked up by a running daemon; a trigger waits for the resume")
    func pauseResume() throws {
        let ws = try Workspace()
        try ws.addJob("held")
        let daemon = try DaemonProcess(ws, notify: nil)
        #expect(daemon.waitForLog("watching 1 job"))
        var r = try ws.run(["pause", "held", "--reason", "backfill"])
        #expect(r.status == 0 && r.stdout.contains("held: paused"), "\(r.output)")
        #expect(daemon.waitForLog("held: paused (paused by tester"), "\(daemon.log)")
        r = try ws.run(["pause", "held"])
        #expect(r.stdout.contains("already paused"))

        try ws.write(Synthetic.csv(rows: 600, seed: 1), to: "incoming/held/b1.csv")
        #expect(try ws.run(["trigger", "held"]).status == 0)
        #expect(daemon.waitForLog("held: paused: its trigger request waits until updater resume"), "\(daemon.log)")
        #expect(try productionVersion(ws, "held") == nil, "a paused job must not run: \(daemon.log)")
        let status = try ws.json(["status"]) as? [String: Any]
        let held = (status?["jobs"] as? [[String: Any]])?.first { $0["name"] as? String == "held" }
        #expect((held?["paused"] as? [String: Any])?["reason"] as? String == "backfill")

        r = try ws.run(["resume", "held"])
        #expect(r.stdout.contains("held: resumed"))
        #expect(try waitForProduction(ws, "held") == 1, "\(daemon.log)")
        #expect(daemon.log.contains("held: resumed"))
        #expect(daemon.stop() == 0)

        // The pause is recorded: `run --once` on a paused job says so and runs nothing.
        _ = try ws.run(["pause", "held"])
        r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("held: paused: paused by tester"), "\(r.output)")
    }
}

@Suite("The daemon: triggers", .serialized)
struct TriggerTests {
    @Test("on_new_data: a burst of files arriving in the incoming directory makes one run after the debounce")
    func onNewData() throws {
        let ws = try Workspace()
        try ws.addJob("watched", extra: "settle_time = \"0s\"\n\n[schedule]\ninterval = \"1d\"\non_new_data = true\ndebounce = \"1s\"")
        let daemon = try DaemonProcess(ws, notify: nil, arguments: ["--log-level", "debug"])
        #expect(daemon.waitForLog("watched: no new data"), "the first (idle) cycle at start: \(daemon.log)")
        for (i, seed) in [1, 2, 3].enumerated() {
            try ws.write(Synthetic.csv(rows: 400, seed: UInt64(seed), firstID: i * 1000), to: "incoming/watched/b\(i).csv")
        }
        #expect(daemon.waitForLog("watched: run 1 started (new_data, 3 new batches)"), "\(daemon.log)")
        #expect(daemon.waitForLog("promoted v1"), "\(daemon.log)")
        // One more file later: one more run.
        try ws.write(Synthetic.csv(rows: 400, seed: 4, firstID: 9000), to: "incoming/watched/b9.csv")
        #expect(daemon.waitForLog("watched: run 2 started (new_data, 1 new batch)"), "\(daemon.log)")
        #expect(daemon.stop() == 0)
        let runs = try ws.json(["runs", "watched"]) as? [[String: Any]] ?? []
        #expect(runs.count == 2, "\(runs.map { $0["id"] ?? "?" })")
    }

    @Test("without on_new_data a new file waits for the interval")
    func intervalOnly() throws {
        let ws = try Workspace()
        try ws.addJob("slow", extra: "settle_time = \"0s\"\n\n[schedule]\ninterval = \"1d\"")
        // A job beside it that does watch its directory: its run shows the daemon saw the new files.
        try ws.addJob("eager", extra: "settle_time = \"0s\"\n\n[schedule]\ninterval = \"1d\"\non_new_data = true\ndebounce = \"1s\"")
        let daemon = try DaemonProcess(ws, notify: nil, arguments: ["--log-level", "debug"])
        #expect(daemon.waitForLog("slow: no new data") && daemon.waitForLog("eager: no new data"), "\(daemon.log)")
        try ws.write(Synthetic.csv(rows: 400, seed: 1), to: "incoming/slow/b1.csv")
        try ws.write(Synthetic.csv(rows: 400, seed: 1), to: "incoming/eager/b1.csv")
        #expect(daemon.waitForLog("eager: run 1 started"), "\(daemon.log)")
        #expect(daemon.waitForLog("eager: run 1: promoted v1"), "\(daemon.log)")
        #expect(!daemon.log.contains("slow: run 1 started"), "\(daemon.log)")
        #expect(daemon.stop() == 0)
    }
}

@Suite("The daemon: stopping", .serialized)
struct StopTests {
    /// A job trained by the stdlib example trainer behind a shell wrapper that first starts a
    /// grandchild (`sleep 1000`, its pid in jobs/grandchild.pid) and waits `delay` seconds.
    func addSlowJob(_ ws: Workspace, delay: Int) throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try ws.write(try String(contentsOf: repo.appendingPathComponent("Jobs/examples/trainer_stdlib.py"), encoding: .utf8), to: "jobs/trainer_stdlib.py")
        try ws.write("sleep 1000 &\necho $! > grandchild.pid\necho $$ > trainer.pid\nsleep \"$DELAY\"\nexec python3 trainer_stdlib.py\n", to: "jobs/slow.sh")
        try ws.addJob("slow", extra: "settle_time = \"0s\"", gate: Workspace.defaultGate + """

            [training]
            command = ["/bin/sh", "slow.sh"]
            time_limit = "10m"

            [training.env]
            DELAY = "\(delay)"
            """)
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "incoming/slow/b1.csv")
    }

    func pid(_ ws: Workspace, _ name: String, seconds: Double = 60) -> pid_t? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: ws.jobs + "/" + name, encoding: .utf8),
                let p = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return p
            }
            usleep(100_000)
        }
        return nil
    }

    func gone(_ pid: pid_t, within seconds: Double = 10) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if kill(pid, 0) != 0 && errno == ESRCH { return true }
            usleep(50_000)
        }
        return false
    }

    @Test("SIGTERM during a long external training: after --stop-grace the trainer's process group is stopped, the run is interrupted and retried after a restart")
    func graceExceeded() throws {
        let ws = try Workspace()
        try addSlowJob(ws, delay: 1000)
        let daemon = try DaemonProcess(ws, notify: nil, arguments: ["--stop-grace", "1s"])
        let trainer = try #require(pid(ws, "trainer.pid"), "\(daemon.log)")
        let grandchild = try #require(pid(ws, "grandchild.pid"))
        #expect(daemon.stop(seconds: 30) == 0, "\(daemon.log)")
        #expect(daemon.log.contains("grace period over; stopping the trainings of slow"), "\(daemon.log)")
        #expect(gone(trainer), "the trainer \(trainer) survived the daemon")
        #expect(gone(grandchild), "the trainer's child \(grandchild) survived the daemon")
        let runs = try ws.json(["runs", "slow"]) as? [[String: Any]] ?? []
        #expect(runs.first?["state"] as? String == "interrupted", "\(runs)")

        // Restarted (and no longer slow): the interrupted run's batch is trained and promoted.
        try addSlowJob(ws, delay: 0)
        let r = try ws.run(["run", "--once"])
        #expect(r.stdout.contains("slow: promoted (run 2): promoted v1"), "\(r.output)")
    }

    @Test("SIGTERM while a training can finish within the grace period: the run completes, then the daemon exits 0")
    func finishesWithinGrace() throws {
        let ws = try Workspace()
        try addSlowJob(ws, delay: 2)
        let daemon = try DaemonProcess(ws, notify: nil, arguments: ["--stop-grace", "2m"])
        _ = try #require(pid(ws, "trainer.pid"), "\(daemon.log)")
        #expect(daemon.stop(seconds: 90) == 0, "\(daemon.log)")
        #expect(daemon.log.contains("stopping: slow may finish within 2m"), "\(daemon.log)")
        #expect(daemon.log.contains("promoted v1"), "\(daemon.log)")
    }
}

@Suite("The daemon: kill -9 and restart", .serialized)
struct CrashTests {
    let stop = StopTests()

    func history(_ ws: Workspace, _ job: String) throws -> [[String: Any]] {
        try ws.json(["history", job]) as? [[String: Any]] ?? []
    }

    func runs(_ ws: Workspace, _ job: String) throws -> [[String: Any]] {
        try ws.json(["runs", job]) as? [[String: Any]] ?? []
    }

    @Test("kill -9 during an external training: the restart stops the orphaned trainer group, retries the run, promotes once")
    func duringTraining() throws {
        let ws = try Workspace()
        try stop.addSlowJob(ws, delay: 1000)
        let daemon = try DaemonProcess(ws, notify: nil)
        let trainer = try #require(stop.pid(ws, "trainer.pid"), "\(daemon.log)")
        let grandchild = try #require(stop.pid(ws, "grandchild.pid"))
        daemon.crash()
        // The trainer has its own process group: it outlives a killed daemon.
        #expect(kill(trainer, 0) == 0, "the trainer should still run after kill -9 of the daemon")

        try stop.addSlowJob(ws, delay: 0)
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("slow: run 1 was interrupted when updater stopped"), "\(r.stderr)")
        #expect(r.stderr.contains("slow: run 1: stopped its trainer left running (process group \(trainer))"), "\(r.stderr)")
        #expect(stop.gone(trainer) && stop.gone(grandchild))
        #expect(r.stdout.contains("slow: promoted (run 2): promoted v1"), "\(r.output)")
        #expect(try runs(ws, "slow").map { $0["state"] as? String } == ["succeeded", "interrupted"])
        #expect(try history(ws, "slow").count == 1)
        let deploy = try FileManager.default.destinationOfSymbolicLink(atPath: ws.root + "/deploy/slow.model")
        #expect(FileManager.default.fileExists(atPath: deploy + "/updater-model.json"))
    }

    @Test("kill -9 after a candidate's artifact is written but not recorded: the restart removes it and trains again")
    func afterArtifact() throws {
        let ws = try Workspace()
        try ws.addJob("art")
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "incoming/art/b1.csv")
        let daemon = try DaemonProcess(ws, notify: nil, environment: ["UPDATER_TEST_STALL": "artifact"])
        #expect(daemon.waitForLog("stalled at artifact"), "\(daemon.log)")
        daemon.crash()
        let artifact = ws.state + "/models/art/v1.model"
        #expect(FileManager.default.fileExists(atPath: artifact))
        #expect(try ws.json(["versions", "art"]) as? [String: Any] != nil, "the database opens after kill -9")

        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("removed \(artifact), left half-written when updater stopped"), "\(r.stderr)")
        #expect(r.stdout.contains("art: promoted (run 2): promoted v1"), "\(r.output)")
        #expect(ws.bytes("deploy/art.model") == ws.bytes(absolute: artifact))
        #expect(try history(ws, "art").count == 1)
    }

    @Test("kill -9 between publishing and committing a promotion: production and the deploy file come back to the last promoted version; the promotion is recorded once")
    func duringPromotion() throws {
        let ws = try Workspace()
        try ws.addJob("promo")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/promo/b1.csv")
        #expect(try ws.run(["run", "--once"]).stdout.contains("promoted v1"))
        let v1 = ws.bytes(absolute: ws.state + "/models/promo/v1.model")

        try ws.write(Synthetic.csv(rows: 1200, seed: 2, shift: 1.5, firstID: 10_000), to: "incoming/promo/b2.csv")
        let daemon = try DaemonProcess(ws, notify: nil, environment: ["UPDATER_TEST_STALL": "promotion"])
        #expect(daemon.waitForLog("stalled at promotion"), "\(daemon.log)")
        // v2 is published, its promotion not committed.
        #expect(ws.bytes("deploy/promo.model") == ws.bytes(absolute: ws.state + "/models/promo/v2.model"))
        daemon.crash()
        let listed = try ws.json(["versions", "promo"]) as? [String: Any]
        #expect(listed?["production_version"] as? Int == 1, "the uncommitted promotion is not in the database")
        #expect(try history(ws, "promo").count == 1)

        // The restart puts v1 back at the deploy path, then completes the interrupted promotion of
        // the passed candidate v2 (its batch was consumed with its record): once.
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("did not hold production v1; published it again"), "\(r.stderr)")
        #expect(r.stderr.contains("promo: run 2: promoted v1 → v2"), "\(r.stderr)")
        #expect(r.stdout.contains("promo: idle"), "\(r.output)")
        let events = try history(ws, "promo")
        #expect(events.map { $0["to_version"] as? Int } == [1, 2], "\(events)")
        #expect(ws.bytes("deploy/promo.model") == ws.bytes(absolute: ws.state + "/models/promo/v2.model"))
        #expect(ws.bytes("deploy/promo.model") != v1)
        #expect(try runs(ws, "promo").map { $0["state"] as? String } == ["succeeded", "succeeded"])
        // Nothing more happens on the next cycle.
        #expect(try ws.run(["run", "--once"]).stdout.contains("promo: idle"))
        #expect(try history(ws, "promo").count == 2)
    }

    @Test("kill -9 while a requested --full run promotes: the restart completes that promotion and does not honour the request again")
    func requestNotHonouredTwice() throws {
        let ws = try Workspace()
        try ws.addJob("req")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/req/b1.csv")
        #expect(try ws.run(["run", "--once"]).stdout.contains("promoted v1"))
        #expect(try ws.run(["trigger", "req", "--full"]).status == 0)
        let daemon = try DaemonProcess(ws, notify: nil, environment: ["UPDATER_TEST_STALL": "promotion"])
        #expect(daemon.waitForLog("stalled at promotion"), "\(daemon.log)")
        daemon.crash()
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("req: run 2: promoted v1 → v2"), "\(r.stderr)")
        #expect(r.stdout.contains("req: idle"), "the --full request was answered by run 2: \(r.output)")
        #expect(try runs(ws, "req").count == 2)
        #expect(try history(ws, "req").map { $0["to_version"] as? Int } == [1, 2])
    }

    @Test("a batch whose runs are interrupted three times is set aside so that the job goes on")
    func poisonBatch() throws {
        let ws = try Workspace()
        try ws.addJob("poison")
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "incoming/poison/b1.csv")
        for attempt in 1...3 {
            let daemon = try DaemonProcess(ws, notify: nil, environment: ["UPDATER_TEST_STALL": "artifact"])
            #expect(daemon.waitForLog("stalled at artifact"), "attempt \(attempt): \(daemon.log)")
            daemon.crash()
        }
        let r = try ws.run(["run", "--once"])
        #expect(r.stderr.contains("rejected: updater stopped (killed or crashed) during 3 runs reading this batch; set aside"), "\(r.stderr)")
        #expect(r.stdout.contains("poison: idle"), "\(r.output)")
    }
}

@Suite("The daemon: a job's environment breaks", .serialized)
struct BrokenEnvironmentTests {
    @Test("an unwritable deploy path and a deleted incoming directory fail their job with a clear error; the daemon and the other jobs go on; the job recovers")
    func brokenPaths() throws {
        let ws = try Workspace()
        for name in ["blocked", "gone", "fine"] {
            try ws.addJob(name, extra: "settle_time = \"0s\"\n\n[schedule]\ninterval = \"1s\"")
        }
        // blocked's deploy directory is a file: publishing fails (ENOTDIR), as root too.
        let file = ws.jobs + "/blocked.toml"
        try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(of: "../deploy/blocked.model", with: "../blocked-deploy/blocked.model")
            .write(toFile: file, atomically: true, encoding: .utf8)
        try ws.write("not a directory", to: "blocked-deploy")
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "incoming/blocked/b1.csv")
        let daemon = try DaemonProcess(ws, notify: nil)
        #expect(daemon.waitForLog("blocked: run 1 failed"), "\(daemon.log)")
        #expect(daemon.log.contains("blocked-deploy is a file, not a directory"), "the error says what is wrong: \(daemon.log)")

        // gone's incoming directory disappears while the daemon runs.
        try FileManager.default.removeItem(atPath: ws.root + "/incoming/gone")
        #expect(daemon.waitForLog("gone: "), "\(daemon.log)")
        #expect(daemon.waitForLog("incoming/gone"), "the error names the directory: \(daemon.log)")

        // The other job still runs.
        try ws.write(Synthetic.csv(rows: 800, seed: 2), to: "incoming/fine/b1.csv")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? ws.json(["versions", "fine"]) as? [String: Any])?["production_version"] as? Int != 1 { usleep(200_000) }
        #expect((try ws.json(["versions", "fine"]) as? [String: Any])?["production_version"] as? Int == 1, "\(daemon.log)")
        #expect(daemon.process.isRunning)

        // Fixed: blocked's passed candidate is promoted at its next cycle, without retraining.
        try FileManager.default.removeItem(atPath: ws.root + "/blocked-deploy")
        try FileManager.default.createDirectory(atPath: ws.root + "/blocked-deploy", withIntermediateDirectories: true)
        #expect(daemon.waitForLog("blocked: run 1: promoted v1"), "\(daemon.log)")
        #expect(daemon.log.contains("promotion completed on retry"))
        #expect(ws.bytes("blocked-deploy/blocked.model") == ws.bytes(absolute: ws.state + "/models/blocked/v1.model"))
        #expect(daemon.stop() == 0)
        let events = (try ws.json(["history", "blocked"]) as? [[String: Any]]) ?? []
        #expect(events.count == 1)
    }
}
