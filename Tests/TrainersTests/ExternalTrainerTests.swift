import Support
import Trainers
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A temporary directory with a small binary-classification data set and helpers to write trainers.
private final class TrainerBench {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let stdlibTrainer = repo + "/Jobs/examples/trainer_stdlib.py"

    /// `python3`'s real interpreter (on PATH there may be a shim that rewrites the environment).
    static let realPython: String = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sys; print(sys.executable)"]
        let out = Pipe()
        p.standardOutput = out
        guard (try? p.run()) != nil else { return "python3" }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? "python3" : path
    }()

    let root: String
    var training: String { root + "/train.csv" }
    var newBatch: String { root + "/new.csv" }
    var evaluation: String { root + "/eval.csv" }
    /// The label of each evaluation row (not in eval.csv).
    private(set) var evaluationLabels: [Bool] = []
    static let evaluationRows = 50

    init() throws {
        root = (NSTemporaryDirectory() as NSString).appendingPathComponent("updater-trainer-" + UUID().uuidString)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var state: UInt64 = 0x5EED
        func uniform() -> Double {
            // splitmix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / 9_007_199_254_740_992
        }
        func rows(_ n: Int, label: Bool) -> (String, [Bool]) {
            var text = label ? "x1,x2,colour,y\n" : "x1,x2,colour\n"
            var ys = [Bool]()
            let colours = ["red", "green", "blue"]
            for _ in 0..<n {
                let x1 = uniform() * 4 - 2, x2 = uniform() * 10
                let colour = colours[Int(uniform() * 3) % 3]
                let z = 1.5 * x1 + 0.2 * (x2 - 5) + (colour == "red" ? 1 : 0) + (uniform() - 0.5)
                let y = z > 0.3
                ys.append(y)
                let x2Text = uniform() < 0.05 ? "" : String(format: "%.3f", x2)  // a few missing values
                text += String(format: "%.4f", x1) + ",\(x2Text),\(colour)" + (label ? ",\(y ? "yes" : "no")" : "") + "\n"
            }
            return (text, ys)
        }
        try rows(200, label: true).0.write(toFile: training, atomically: true, encoding: .utf8)
        try rows(120, label: true).0.write(toFile: newBatch, atomically: true, encoding: .utf8)
        let (eval, labels) = rows(Self.evaluationRows, label: false)
        try eval.write(toFile: evaluation, atomically: true, encoding: .utf8)
        evaluationLabels = labels
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func runDirectory(_ name: String) -> String { root + "/runs/" + name }

    func spec(_ mode: ExternalTrainer.Spec.Mode, run: Int, runDirectory: String, parent: String? = nil) -> ExternalTrainer.Spec {
        ExternalTrainer.Spec(
            job: "toy", run: run, mode: mode, label: "y", classes: ["no", "yes"], features: ["x1", "x2", "colour"],
            categorical: ["colour"], seed: 7, timeLimitSeconds: 60,
            data: .init(training: mode == .full ? training : nil, newBatches: mode == .incremental ? [newBatch] : [],
                        replay: mode == .incremental ? training : nil, evaluation: evaluation),
            parentModelDir: parent, outputDir: runDirectory + "/model", scoresFile: runDirectory + "/scores.csv")
    }

    func trainer(limit: Double = 120, grace: Double = 10, command: [String]? = nil, environment: [String: String] = [:]) -> ExternalTrainer {
        ExternalTrainer(command: command ?? ["python3", Self.stdlibTrainer], environment: environment,
                        workingDirectory: root, timeLimit: limit, graceSeconds: grace)
    }

    /// Writes a /bin/sh script and returns the command that runs it. `$R` in the script is the run
    /// directory (where this bench puts spec.json, scores.csv and model/).
    func shell(_ body: String) throws -> [String] {
        let path = root + "/trainer-\(UUID().uuidString.prefix(8)).sh"
        try ("set -u\nR=$(dirname \"$UPDATER_SPEC\")\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return ["/bin/sh", path]
    }

    /// Shell lines writing a model file and `scores` (header and values, one per line).
    static func outputs(_ scores: String) -> String {
        "echo weights > \"$R/model/model.bin\"\ncat > \"$R/scores.csv\" <<'END'\n" + scores + "END\n"
    }

    static func validScores(_ n: Int = evaluationRows) -> String {
        "score\n" + (0..<n).map { String(Double($0 % 10) / 10) + "\n" }.joined()
    }
}

/// Runs `body` expecting an `ExternalTrainerError` and returns it.
private func expectFailure(_ body: () throws -> ExternalTrainer.Outcome) -> ExternalTrainerError? {
    do {
        let outcome = try body()
        Issue.record("expected a failure, got \(outcome.scores.count) scores")
        return nil
    } catch let e as ExternalTrainerError {
        return e
    } catch {
        Issue.record("expected an ExternalTrainerError, got \(error)")
        return nil
    }
}

/// Whether the process `pid` is gone (kill(pid, 0) fails with ESRCH) within `seconds`; a killed
/// orphan stays a zombie until init reaps it.
private func gone(_ pid: pid_t, within seconds: Double = 10) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        usleep(50_000)
    }
    return false
}

private func readPid(_ path: String) -> pid_t? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
}

private func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

@Suite("External trainer: contract v1")
struct ExternalTrainerTests {
    @Test("full training with the standard-library example trainer: scores, a model file, resource use, spec.json")
    func fullTraining() throws {
        let bench = try TrainerBench()
        let run = bench.runDirectory("1")
        let outcome = try bench.trainer().run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run,
                                              expectedRows: TrainerBench.evaluationRows)
        #expect(outcome.scores.count == TrainerBench.evaluationRows)
        #expect(outcome.scores.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(outcome.modelDirectory == run + "/model")
        #expect(FileManager.default.fileExists(atPath: run + "/model/model.json"))
        #expect(outcome.cpuSeconds > 0)
        #expect(outcome.peakMemoryBytes > 1_000_000, "a Python process uses megabytes: \(outcome.peakMemoryBytes)")
        #expect(outcome.wallSeconds > 0)
        #expect(outcome.logPath == run + "/trainer.log")
        let log = try String(contentsOfFile: outcome.logPath, encoding: .utf8)
        #expect(log.contains("trained on 200 rows"), "\(log)")
        // The model learned something: positives score higher on average.
        let pairs = zip(outcome.scores, bench.evaluationLabels)
        let pos: [Double] = pairs.filter { $0.1 }.map(\.0), neg: [Double] = pairs.filter { !$0.1 }.map(\.0)
        let meanPos: Double = pos.reduce(0, +) / Double(pos.count), meanNeg: Double = neg.reduce(0, +) / Double(neg.count)
        #expect(meanPos > meanNeg + 0.2, "\(meanPos) vs \(meanNeg)")

        // spec.json: snake_case, contract 1, absolute paths, the enforced limit, null parent.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/spec.json"))) as? [String: Any] ?? [:]
        #expect(json["contract_version"] as? Int == 1)
        #expect(json["mode"] as? String == "full")
        #expect(json["task"] as? String == "binary")
        #expect(json["classes"] as? [String] == ["no", "yes"])
        #expect(json["time_limit_seconds"] as? Double == 120)
        #expect(json["parent_model_dir"] is NSNull)
        #expect(json["output_dir"] as? String == run + "/model")
        #expect(json["scores_file"] as? String == run + "/scores.csv")
        let data = json["data"] as? [String: Any] ?? [:]
        #expect(data["training"] as? String == bench.training)
        #expect(data["replay"] is NSNull)
        #expect(data["new_batches"] as? [String] == [])
        let decoded = try JSONDecoder().decode(ExternalTrainer.Spec.self, from: Data(contentsOf: URL(fileURLWithPath: run + "/spec.json")))
        #expect(decoded.outputDir == run + "/model" && decoded.timeLimitSeconds == 120)
    }

    @Test("incremental from a parent, then score mode with a parent: the scores of the model scored")
    func incrementalAndScoreModes() throws {
        let bench = try TrainerBench()
        let t = bench.trainer()
        let r1 = bench.runDirectory("1"), r2 = bench.runDirectory("2"), r3 = bench.runDirectory("3")
        let full = try t.run(bench.spec(.full, run: 1, runDirectory: r1), runDirectory: r1, expectedRows: TrainerBench.evaluationRows)
        let inc = try t.run(bench.spec(.incremental, run: 2, runDirectory: r2, parent: full.modelDirectory), runDirectory: r2,
                            expectedRows: TrainerBench.evaluationRows)
        let model = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: r2 + "/model/model.json"))) as? [String: Any]
        #expect(model?["generation"] as? Int == 1)
        #expect(model?["trained_rows"] as? Int == 320, "new batch (120) plus replay (200)")
        #expect(inc.scores != full.scores)

        let spec = bench.spec(.score, run: 3, runDirectory: r3, parent: full.modelDirectory)
        let scored = try t.run(spec, runDirectory: r3, expectedRows: TrainerBench.evaluationRows)
        #expect(scored.scores == full.scores, "the same model on the same rows")
        #expect(scored.modelDirectory == full.modelDirectory)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: r3 + "/spec.json"))) as? [String: Any] ?? [:]
        #expect((json["data"] as? [String: Any])?["training"] == nil, "no training data in score mode")
        #expect(json["parent_model_dir"] as? String == full.modelDirectory)
    }

    @Test("a non-zero exit is an error naming the command, with the end of trainer.log")
    func nonZeroExit() throws {
        let bench = try TrainerBench()
        let command = try bench.shell("""
            for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do echo "epoch $i"; done
            printf 'loading 10%%\rloading 100%%\r\n'
            echo "RuntimeError: CUDA out of memory" >&2
            exit 3
            """)
        let run = bench.runDirectory("1")
        let e = expectFailure { try bench.trainer(command: command).run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run, expectedRows: 50) }
        #expect(e?.code == .exitStatus(3))
        #expect(e?.logTail.contains("RuntimeError: CUDA out of memory") == true)
        #expect(e?.logTail.contains("epoch 25") == true)
        #expect(e?.logTail.contains("epoch 7\n") == false, "only the last 20 lines")
        #expect(e?.logTail.contains("epoch 8\n") == true, "the last 20 lines")
        #expect(e?.logTail.contains("\nloading 100%\nRuntimeError") == true, "a progress line shows as a terminal would: \(e?.logTail ?? "")")
        let text = e?.description ?? ""
        #expect(text.hasPrefix("external trainer /bin/sh failed: exit status 3 after "), "\(text)")
        #expect(text.contains("last lines of \(run)/trainer.log:\n  | epoch 8\n") && text.hasSuffix("  | RuntimeError: CUDA out of memory"), "\(text)")

        let killed = try bench.shell("echo about to crash; kill -9 $$")
        let k = expectFailure { try bench.trainer(command: killed).run(bench.spec(.full, run: 2, runDirectory: run), runDirectory: run, expectedRows: 50) }
        #expect(k?.code == .killedBySignal(SIGKILL))
        #expect(k?.logTail == "about to crash")
    }

    @Test("past the time limit: SIGTERM to the group, timed out, and a grandchild is gone")
    func timeLimit() throws {
        let bench = try TrainerBench()
        let command = try bench.shell("sleep 1000 &\necho $! > \"$R/grandchild.pid\"\necho training forever\nsleep 1000")
        let run = bench.runDirectory("1")
        let start = ContinuousClock.now
        let e = expectFailure { try bench.trainer(limit: 1, grace: 10, command: command).run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run, expectedRows: 50) }
        let elapsed = seconds(since: start)
        #expect(e?.code == .timedOut)
        #expect(elapsed >= 1 && elapsed < 1 + 10, "\(elapsed)")
        #expect(elapsed < 5, "sh and sleep die of SIGTERM, no need for the grace period: \(elapsed)")
        #expect(e?.description.contains("timed out") == true && e?.logTail == "training forever")
        let grandchild = try #require(readPid(run + "/grandchild.pid"))
        #expect(gone(grandchild), "grandchild \(grandchild) survived")
    }

    @Test("a trainer that ignores SIGTERM is killed after the grace period, its grandchild too")
    func stubbornTrainer() throws {
        let bench = try TrainerBench()
        let command = try bench.shell("trap '' TERM\nsleep 1000 &\necho $! > \"$R/grandchild.pid\"\nwhile :; do sleep 0.1; done")
        let run = bench.runDirectory("1")
        let start = ContinuousClock.now
        let e = expectFailure { try bench.trainer(limit: 1, grace: 1.5, command: command).run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run, expectedRows: 50) }
        let elapsed = seconds(since: start)
        #expect(e?.code == .timedOut)
        #expect(elapsed >= 2.5 && elapsed < 2.5 + 3, "limit 1 s + grace 1.5 s: \(elapsed)")
        #expect(e?.message.contains("SIGKILL") == true, "\(e?.message ?? "")")
        let grandchild = try #require(readPid(run + "/grandchild.pid"))
        #expect(gone(grandchild), "grandchild \(grandchild) survived")
    }

    @Test("a grandchild left behind by a successful trainer is killed too")
    func grandchildOfSuccess() throws {
        let bench = try TrainerBench()
        let command = try bench.shell("sleep 1000 &\necho $! > \"$R/grandchild.pid\"\n" + TrainerBench.outputs(TrainerBench.validScores()))
        let run = bench.runDirectory("1")
        let outcome = try bench.trainer(command: command).run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run, expectedRows: 50)
        #expect(outcome.scores.count == 50 && outcome.scores[3] == 0.3)
        let grandchild = try #require(readPid(run + "/grandchild.pid"))
        #expect(gone(grandchild), "grandchild \(grandchild) survived")
    }

    @Test("the daemon ignores SIGTERM; the trainer must not inherit that")
    func ignoredSigtermIsNotInherited() throws {
        let bench = try TrainerBench()
        let command = try bench.shell("sleep 1000")
        let run = bench.runDirectory("1")
        let previous = signal(SIGTERM, SIG_IGN)  // as `updater run` does
        defer { signal(SIGTERM, previous) }
        let start = ContinuousClock.now
        let e = expectFailure { try bench.trainer(limit: 0.5, grace: 30, command: command).run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run, expectedRows: 50) }
        #expect(e?.code == .timedOut)
        #expect(seconds(since: start) < 10, "SIGTERM, not the SIGKILL 30 s later, ended it")
        #expect(e?.message.contains("SIGKILL") == false)
    }

    @Test("cancellation through the closure stops the trainer's group")
    func cancellation() throws {
        let bench = try TrainerBench()
        let command = try bench.shell("sleep 1000 &\necho $! > \"$R/grandchild.pid\"\nsleep 1000")
        let run = bench.runDirectory("1")
        let start = ContinuousClock.now
        let e = expectFailure {
            try bench.trainer(limit: 600, command: command).run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run, expectedRows: 50,
                                                                  cancelled: { seconds(since: start) > 0.5 })
        }
        #expect(e?.code == .cancelled)
        #expect(seconds(since: start) < 5)
        let grandchild = try #require(readPid(run + "/grandchild.pid"))
        #expect(gone(grandchild))
        // Already cancelled: nothing is started.
        let again = expectFailure { try bench.trainer(command: command).run(bench.spec(.full, run: 2, runDirectory: run + "x"), runDirectory: run + "x", expectedRows: 50, cancelled: { true }) }
        #expect(again?.code == .cancelled)
    }

    @Test("exit 0 without a scores file, or without a model file")
    func missingOutputs() throws {
        let bench = try TrainerBench()
        let run = bench.runDirectory("1")
        let noScores = try bench.shell("echo weights > \"$R/model/model.bin\"\necho done")
        let e = expectFailure { try bench.trainer(command: noScores).run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run, expectedRows: 50) }
        #expect(e?.code == .missingScores)
        #expect(e?.message.contains(run + "/scores.csv") == true)

        let run2 = bench.runDirectory("2")
        let noModel = try bench.shell("cat > \"$R/scores.csv\" <<'END'\n" + TrainerBench.validScores() + "END")
        let m = expectFailure { try bench.trainer(command: noModel).run(bench.spec(.full, run: 2, runDirectory: run2), runDirectory: run2, expectedRows: 50) }
        #expect(m?.code == .noModelFiles)
        // In score mode no model file is expected.
        let run3 = bench.runDirectory("3")
        let scored = try bench.trainer(command: noModel).run(bench.spec(.score, run: 3, runDirectory: run3, parent: run2 + "/model"), runDirectory: run3, expectedRows: 50)
        #expect(scored.scores.count == 50)
    }

    @Test("a scores file with the wrong number of rows")
    func wrongRowCount() throws {
        let bench = try TrainerBench()
        let run = bench.runDirectory("1")
        let command = try bench.shell(TrainerBench.outputs(TrainerBench.validScores(49)))
        let e = expectFailure { try bench.trainer(command: command).run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run, expectedRows: 50) }
        #expect(e?.code == .wrongRowCount)
        #expect(e?.message.contains("49 scores for 50 evaluation rows") == true, "\(e?.message ?? "")")
    }

    @Test("malformed scores: out of [0, 1], not a number, a wrong header, an empty row", arguments: [
        ("score\n0.5\n1.5\n", "line 3: 1.5 is outside [0, 1]"),
        ("score\n0.5\n-0.01\n", "line 3: -0.01 is outside [0, 1]"),
        ("score\nabc\n", "line 2: \"abc\" is not a number"),
        ("score\nnan\n", "line 2: \"nan\" is not a number"),
        ("score\ninf\n", "line 2: \"inf\" is not a number"),
        (",score\n0,0.5\n", "line 1: the header must be `score`"),
        ("score\n0.1\n\n0.2\n", "line 3: the score is empty"),
        ("", "is empty"),
    ])
    func malformedScores(content: String, message: String) throws {
        let bench = try TrainerBench()
        let run = bench.runDirectory("1")
        let command = try bench.shell("echo weights > \"$R/model/model.bin\"\nprintf '%s' '\(content)' > \"$R/scores.csv\"")
        let e = expectFailure { try bench.trainer(command: command).run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run, expectedRows: 2) }
        #expect(e?.code == .malformedScores)
        #expect(e?.message.contains(message) == true, "\(e?.message ?? "")")
    }

    @Test("CRLF, a BOM, quotes and exponents are read; trailing blank lines ignored")
    func lenientScores() throws {
        let bench = try TrainerBench()
        let run = bench.runDirectory("1")
        let command = try bench.shell("echo weights > \"$R/model/model.bin\"\nprintf '\\357\\273\\277\"score\"\\r\\n1e-05\\r\\n\"1\"\\r\\n 0 \\r\\n\\r\\n' > \"$R/scores.csv\"")
        let outcome = try bench.trainer(command: command).run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run, expectedRows: 3)
        #expect(outcome.scores == [1e-05, 1, 0])
    }

    @Test("the child sees a clean environment, the job's working directory, stdin from /dev/null and no stray descriptors")
    func cleanEnvironment() throws {
        let bench = try TrainerBench()
        let script = """
            import json, os
            spec = json.load(open(os.environ["UPDATER_SPEC"]))
            fds = sorted(os.listdir("/proc/self/fd"))
            json.dump({"env": dict(os.environ), "cwd": os.getcwd(), "stdin": os.path.realpath("/proc/self/fd/0"), "fds": fds},
                      open(os.path.join(os.path.dirname(os.environ["UPDATER_SPEC"]), "seen.json"), "w"))
            open(os.path.join(spec["output_dir"], "m"), "w").write("m")
            open(spec["scores_file"], "w").write("score\\n0.25\\n")
            if spec["run"] == 2:
                raise SystemExit("failing on purpose")
            """
        try script.write(toFile: bench.root + "/env_trainer.py", atomically: true, encoding: .utf8)
        let secret = "s3cr3t-token-value"
        // A relative script path: resolved in the working directory (the job file's).
        // The interpreter itself, not a wrapper such as a pyenv shim (which adds variables of its own).
        let trainer = bench.trainer(command: [TrainerBench.realPython, "env_trainer.py"], environment: ["JOB_TOKEN": secret, "OMP_NUM_THREADS": "1"])
        let run = bench.runDirectory("1")
        let outcome = try trainer.run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run, expectedRows: 1)
        #expect(outcome.scores == [0.25])
        let seen = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/seen.json"))) as? [String: Any] ?? [:]
        let env = seen["env"] as? [String: String] ?? [:]
        #expect(Set(env.keys) == ["PATH", "HOME", "LANG", "TMPDIR", "UPDATER_SPEC", "JOB_TOKEN", "OMP_NUM_THREADS"], "\(env.keys.sorted())")
        #expect(env["LANG"] == "C.UTF-8")
        #expect(env["TMPDIR"] == run + "/tmp")
        #expect(FileManager.default.fileExists(atPath: run + "/tmp"))
        #expect(env["UPDATER_SPEC"] == run + "/spec.json")
        #expect(env["JOB_TOKEN"] == secret)
        // Nothing else of this process's environment (which has more than PATH and HOME) got through.
        let own = ProcessInfo.processInfo.environment
        #expect(own.keys.contains { !["PATH", "HOME"].contains($0) })
        #expect(env["HOME"] == (own["HOME"] ?? run))
        #expect(env["PATH"] == own["PATH"])
        #expect(seen["cwd"] as? String == URL(fileURLWithPath: bench.root).resolvingSymlinksInPath().path)
        #expect(seen["stdin"] as? String == "/dev/null")
        // 0, 1, 2 and the descriptor listdir itself opened.
        #expect((seen["fds"] as? [String])?.count ?? 99 <= 4, "\(seen["fds"] ?? "")")

        // A failure's description never shows environment values.
        let run2 = bench.runDirectory("2")
        let e = expectFailure { try trainer.run(bench.spec(.full, run: 2, runDirectory: run2), runDirectory: run2, expectedRows: 1) }
        #expect(e?.code == .exitStatus(1))
        #expect(e?.description.contains("failing on purpose") == true)
        #expect(e?.description.contains(secret) == false)
    }

    @Test("spawn failures and unusable specs are reported before anything runs")
    func spawnFailures() throws {
        let bench = try TrainerBench()
        let run = bench.runDirectory("1")
        let spec = bench.spec(.full, run: 1, runDirectory: run)
        let missing = expectFailure { try bench.trainer(command: ["/nonexistent/train"]).run(spec, runDirectory: run, expectedRows: 1) }
        #expect(missing?.code == .spawnFailed)
        #expect(missing?.description.contains("/nonexistent/train") == true)
        let notOnPath = expectFailure { try bench.trainer(command: ["no-such-trainer-xyz"]).run(spec, runDirectory: run, expectedRows: 1) }
        #expect(notOnPath?.code == .spawnFailed)
        #expect(notOnPath?.message.contains("not found") == true)
        let noParent = expectFailure { try bench.trainer().run(bench.spec(.score, run: 1, runDirectory: run), runDirectory: run, expectedRows: 1) }
        #expect(noParent?.code == .invalidSpec)
        let badEnv = expectFailure { try bench.trainer(environment: ["UPDATER_SPEC": "/etc/passwd"]).run(spec, runDirectory: run, expectedRows: 1) }
        #expect(badEnv?.code == .spawnFailed)
    }

    @Test("output_dir must be empty; a stale scores file is removed before the run")
    func preparation() throws {
        let bench = try TrainerBench()
        let run = bench.runDirectory("1")
        try FileManager.default.createDirectory(atPath: run + "/model", withIntermediateDirectories: true)
        try "old".write(toFile: run + "/model/old.bin", atomically: true, encoding: .utf8)
        let command = try bench.shell(TrainerBench.outputs(TrainerBench.validScores()))
        #expect(throws: FileError.self) { try bench.trainer(command: command).run(bench.spec(.full, run: 1, runDirectory: run), runDirectory: run, expectedRows: 50) }

        let run2 = bench.runDirectory("2")
        try FileManager.default.createDirectory(atPath: run2, withIntermediateDirectories: true)
        try TrainerBench.validScores().write(toFile: run2 + "/scores.csv", atomically: true, encoding: .utf8)
        let modelOnly = try bench.shell("echo weights > \"$R/model/model.bin\"")
        let e = expectFailure { try bench.trainer(command: modelOnly).run(bench.spec(.full, run: 2, runDirectory: run2), runDirectory: run2, expectedRows: 50) }
        #expect(e?.code == .missingScores, "the earlier attempt's scores must not count")
    }
}
