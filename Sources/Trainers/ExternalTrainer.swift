import Foundation
import Logging
import Support

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a user's own training command (PyTorch, scikit-learn, XGBoost, a cluster client, …) under
/// trainer contract v1 (docs/trainers.md): updater writes `spec.json` into a run directory, the child
/// finds it through `$UPDATER_SPEC`, writes its model files into `output_dir` and one probability per
/// evaluation row into `scores_file`. updater computes every metric itself from those scores.
///
/// The child runs in its own process group, with a clean environment, stdin from `/dev/null`, stdout
/// and stderr into `RUN/trainer.log`, every other descriptor closed, default signal dispositions and
/// an empty signal mask (the daemon ignores SIGTERM itself; a child must not inherit that). When it
/// ends, however it ends, the whole group is killed, so no grandchild outlives the run.
package struct ExternalTrainer: Sendable {
    /// The contract version this runner writes into `spec.json`.
    package static let contractVersion = 1
    /// The contract versions this runner speaks: 1 (binary, scores only) and 2 (every task, the
    /// trainer's own report, validation scores for a chosen threshold).
    package static let contracts = 1...2

    /// The content of `spec.json`: contract v1, snake_case keys.
    package struct Spec: Codable, Sendable, Equatable {
        package enum Mode: String, Codable, Sendable {
            /// Train from scratch on `data.training`.
            case full
            /// Warm-start from `parent_model_dir` on `data.new_batches` plus `data.replay`.
            case incremental
            /// Train nothing: score `data.evaluation` with the model in `parent_model_dir`.
            case score
        }

        /// The data files of a run. Every path is absolute once the runner has written the spec.
        package struct Inputs: Codable, Sendable, Equatable {
            /// Features and label; absent in score mode.
            package var training: String?
            /// This run's new batches (features and label); used in incremental mode.
            package var newBatches: [String]
            /// A sample of older rows (features and label) to mix into an incremental update, or null.
            package var replay: String?
            /// The rows to score: feature columns only, no label column.
            package var evaluation: String
            /// Contract 2: rows held out of the training rows, features only, for the trainer to score
            /// into `validation_scores_file` (a binary job whose decision threshold is chosen).
            package var validation: String?

            package init(training: String? = nil, newBatches: [String] = [], replay: String? = nil, evaluation: String, validation: String? = nil) {
                self.training = training
                self.newBatches = newBatches
                self.replay = replay
                self.evaluation = evaluation
                self.validation = validation
            }

            enum CodingKeys: String, CodingKey {
                case training, newBatches = "new_batches", replay, evaluation, validation
            }

            package init(from decoder: Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                training = try c.decodeIfPresent(String.self, forKey: .training)
                newBatches = try c.decodeIfPresent([String].self, forKey: .newBatches) ?? []
                replay = try c.decodeIfPresent(String.self, forKey: .replay)
                evaluation = try c.decode(String.self, forKey: .evaluation)
                validation = try c.decodeIfPresent(String.self, forKey: .validation)
            }

            package func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encodeIfPresent(training, forKey: .training)  // absent, not null, when there is none
                try c.encode(newBatches, forKey: .newBatches)
                try c.encode(replay, forKey: .replay)  // null when there is none
                try c.encode(evaluation, forKey: .evaluation)
                try c.encodeIfPresent(validation, forKey: .validation)
            }
        }

        package var contractVersion: Int
        package var job: String
        package var run: Int
        package var mode: Mode
        package var task: String
        package var label: String
        /// `[negative, positive]`: the two label values, as they appear in the data.
        package var classes: [String]
        package var features: [String]
        package var categorical: [String]
        package var seed: UInt64
        /// The limit the runner enforces; `run` writes its own `timeLimit` here.
        package var timeLimitSeconds: Double
        package var data: Inputs
        /// The model to warm-start from (incremental) or to score with (score); null in full mode.
        package var parentModelDir: String?
        /// Where the trainer writes its model files: an empty directory, created by the runner.
        package var outputDir: String
        /// Where the trainer writes the scores CSV.
        package var scoresFile: String
        /// Contract 2: where the trainer may write its report (its parameters and its own metrics).
        package var reportFile: String?
        /// Contract 2: where the trainer writes its scores of `data.validation`, when given.
        package var validationScoresFile: String?

        package init(
            job: String, run: Int, mode: Mode, task: String = "binary", label: String, classes: [String],
            features: [String], categorical: [String] = [], seed: UInt64 = 0, timeLimitSeconds: Double = 0,
            data: Inputs, parentModelDir: String? = nil, outputDir: String, scoresFile: String,
            contractVersion: Int = ExternalTrainer.contractVersion
        ) {
            self.contractVersion = contractVersion
            self.job = job
            self.run = run
            self.mode = mode
            self.task = task
            self.label = label
            self.classes = classes
            self.features = features
            self.categorical = categorical
            self.seed = seed
            self.timeLimitSeconds = timeLimitSeconds
            self.data = data
            self.parentModelDir = parentModelDir
            self.outputDir = outputDir
            self.scoresFile = scoresFile
        }

        enum CodingKeys: String, CodingKey {
            case contractVersion = "contract_version", job, run, mode, task, label, classes, features, categorical, seed
            case timeLimitSeconds = "time_limit_seconds", data, parentModelDir = "parent_model_dir"
            case outputDir = "output_dir", scoresFile = "scores_file", reportFile = "report_file"
            case validationScoresFile = "validation_scores_file"
        }

        package init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            contractVersion = try c.decode(Int.self, forKey: .contractVersion)
            job = try c.decode(String.self, forKey: .job)
            run = try c.decode(Int.self, forKey: .run)
            mode = try c.decode(Mode.self, forKey: .mode)
            task = try c.decode(String.self, forKey: .task)
            label = try c.decode(String.self, forKey: .label)
            classes = try c.decode([String].self, forKey: .classes)
            features = try c.decode([String].self, forKey: .features)
            categorical = try c.decodeIfPresent([String].self, forKey: .categorical) ?? []
            seed = try c.decode(UInt64.self, forKey: .seed)
            timeLimitSeconds = try c.decode(Double.self, forKey: .timeLimitSeconds)
            data = try c.decode(Inputs.self, forKey: .data)
            parentModelDir = try c.decodeIfPresent(String.self, forKey: .parentModelDir)
            outputDir = try c.decode(String.self, forKey: .outputDir)
            scoresFile = try c.decode(String.self, forKey: .scoresFile)
            reportFile = try c.decodeIfPresent(String.self, forKey: .reportFile)
            validationScoresFile = try c.decodeIfPresent(String.self, forKey: .validationScoresFile)
        }

        package func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(contractVersion, forKey: .contractVersion)
            try c.encode(job, forKey: .job)
            try c.encode(run, forKey: .run)
            try c.encode(mode, forKey: .mode)
            try c.encode(task, forKey: .task)
            try c.encode(label, forKey: .label)
            try c.encode(classes, forKey: .classes)
            try c.encode(features, forKey: .features)
            try c.encode(categorical, forKey: .categorical)
            try c.encode(seed, forKey: .seed)
            try c.encode(timeLimitSeconds, forKey: .timeLimitSeconds)
            try c.encode(data, forKey: .data)
            try c.encode(parentModelDir, forKey: .parentModelDir)  // null in full mode
            try c.encode(outputDir, forKey: .outputDir)
            try c.encode(scoresFile, forKey: .scoresFile)
            try c.encodeIfPresent(reportFile, forKey: .reportFile)
            try c.encodeIfPresent(validationScoresFile, forKey: .validationScoresFile)
        }

        /// The same spec with every path made absolute (the child runs in another directory).
        func absolutized() -> Spec {
            var s = self
            s.data.training = s.data.training.map(Files.absolute)
            s.data.newBatches = s.data.newBatches.map(Files.absolute)
            s.data.replay = s.data.replay.map(Files.absolute)
            s.data.evaluation = Files.absolute(s.data.evaluation)
            s.parentModelDir = s.parentModelDir.map(Files.absolute)
            s.outputDir = Files.absolute(s.outputDir)
            s.scoresFile = Files.absolute(s.scoresFile)
            s.data.validation = s.data.validation.map(Files.absolute)
            s.reportFile = s.reportFile.map(Files.absolute)
            s.validationScoresFile = s.validationScoresFile.map(Files.absolute)
            return s
        }

        /// Problems that make the spec unusable, or nil.
        func problem() -> String? {
            guard ExternalTrainer.contracts.contains(contractVersion) else {
                return "contract_version \(contractVersion) is not one of 1, 2"
            }
            switch task {
            case "binary":
                if classes.count != 2 || classes[0] == classes[1] { return "classes must be two different label values" }
            case "multiclass":
                if contractVersion < 2 { return "task \"multiclass\" needs contract 2" }
                if classes.count < 2 || Set(classes).count != classes.count { return "classes must be two or more different label values" }
            case "regression":
                if contractVersion < 2 { return "task \"regression\" needs contract 2" }
                if !classes.isEmpty { return "a regression task has no classes" }
            default:
                return "task \"\(task)\" is not one of binary, multiclass, regression"
            }
            if contractVersion < 2, reportFile != nil || validationScoresFile != nil || data.validation != nil {
                return "report_file, validation_scores_file and data.validation are contract 2"
            }
            if (data.validation == nil) != (validationScoresFile == nil) { return "data.validation and validation_scores_file go together" }
            if data.validation != nil, task != "binary" { return "validation scores are for a binary task" }
            if features.isEmpty { return "features is empty" }
            if let c = categorical.first(where: { !features.contains($0) }) { return "categorical column \"\(c)\" is not a feature" }
            if features.contains(label) { return "the label \"\(label)\" is also a feature" }
            switch mode {
            case .full:
                if data.training == nil { return "full mode needs data.training" }
                if parentModelDir != nil { return "full mode takes no parent_model_dir" }
            case .incremental:
                if parentModelDir == nil { return "incremental mode needs parent_model_dir" }
                if data.newBatches.isEmpty && data.replay == nil && data.training == nil {
                    return "incremental mode needs data.new_batches, data.replay or data.training"
                }
            case .score:
                if parentModelDir == nil { return "score mode needs parent_model_dir" }
                if data.training != nil { return "score mode takes no data.training" }
            }
            if outputDir == scoresFile { return "output_dir and scores_file are the same path" }
            return nil
        }
    }

    /// What a successful run produced and cost.
    package struct Outcome: Sendable {
        /// Probability of the positive class, one per evaluation row, in order.
        package var scores: [Double]
        /// The model that produced the scores: `output_dir`, or `parent_model_dir` in score mode.
        package var modelDirectory: String
        package var wallSeconds: Double
        /// User plus system CPU time of the trainer and every descendant it waited for.
        package var cpuSeconds: Double
        /// The largest resident set of the trainer or of any descendant it waited for (Linux `ru_maxrss`).
        package var peakMemoryBytes: Int
        package var logPath: String
        /// Contract 2: the trainer's scores of `data.validation`, when it was given.
        package var validationScores: [Double]? = nil
        /// Contract 2: the trainer's report (JSON with `params` and `metrics`), when it wrote one.
        package var report: String? = nil

        package init(scores: [Double], modelDirectory: String, wallSeconds: Double, cpuSeconds: Double, peakMemoryBytes: Int, logPath: String) {
            self.scores = scores
            self.modelDirectory = modelDirectory
            self.wallSeconds = wallSeconds
            self.cpuSeconds = cpuSeconds
            self.peakMemoryBytes = peakMemoryBytes
            self.logPath = logPath
        }
    }

    package var command: [String]
    /// Variables the job passes to the trainer, on top of the clean set. Values are never logged.
    package var environment: [String: String]
    package var workingDirectory: String
    package var timeLimit: Double
    package var graceSeconds: Double
    /// Where the runner reports start and end (debug level). Silent by default.
    package var log: Logger = .silent

    package init(command: [String], environment: [String: String], workingDirectory: String, timeLimit: Double, graceSeconds: Double = 10) {
        self.command = command
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.timeLimit = timeLimit
        self.graceSeconds = graceSeconds
    }

    /// The command's first word, as errors name it.
    var program: String { command.first ?? "(no command)" }

    /// Writes `spec.json` into `runDirectory`, runs the command, waits for it while enforcing the time
    /// limit and watching `cancelled` (both: SIGTERM to the whole process group, SIGKILL `graceSeconds`
    /// later), collects its resource usage and validates its outputs: `expectedRows` scores, each in
    /// [0, 1], and (except in score mode) at least one file in `output_dir`.
    ///
    /// Creates `runDirectory`, `runDirectory/tmp` (the child's `$TMPDIR`) and `output_dir`, which must
    /// be missing or empty; deletes a `scores_file` left by an earlier attempt. Throws `FileError` when
    /// these cannot be prepared, `ExternalTrainerError` for everything else.
    package func run(
        _ spec: Spec, runDirectory: String, expectedRows: Int, validationRows: Int? = nil, cancelled: @Sendable () -> Bool = { false }
    ) throws -> Outcome {
        var spec = spec.absolutized()
        spec.timeLimitSeconds = timeLimit
        let runDir = Files.absolute(runDirectory)
        let logPath = runDir + "/trainer.log"
        let specPath = runDir + "/spec.json"
        func failure(_ code: ExternalTrainerError.Code, _ message: String, tail: Bool = true) -> ExternalTrainerError {
            ExternalTrainerError(code: code, program: program, message: message, logPath: logPath,
                                 logTail: tail ? ExternalTrainer.tail(of: logPath) : "")
        }
        if let problem = spec.problem() { throw failure(.invalidSpec, problem, tail: false) }
        guard !command.isEmpty, !command[0].isEmpty else { throw failure(.invalidSpec, "the command is empty", tail: false) }
        guard timeLimit > 0, timeLimit.isFinite, graceSeconds >= 0, graceSeconds.isFinite else {
            throw failure(.invalidSpec, "the time limit must be positive and the grace period not negative", tail: false)
        }
        guard expectedRows >= 0 else { throw failure(.invalidSpec, "expectedRows is negative", tail: false) }

        // The run directory, the child's TMPDIR, an empty output_dir, no stale scores, the spec.
        try Files.makeDirectories(runDir)
        try Files.makeDirectories(runDir + "/tmp")
        try Files.makeDirectories(spec.outputDir)
        if let left = try? FileManager.default.contentsOfDirectory(atPath: spec.outputDir), !left.isEmpty {
            throw FileError(spec.outputDir, "output_dir is not empty (\(left.count) entries); a trainer needs an empty one")
        }
        for stale in [spec.scoresFile, spec.reportFile, spec.validationScoresFile].compactMap({ $0 }) where unlink(stale) != 0 && errno != ENOENT {
            throw FileError(stale, "cannot remove the output of an earlier attempt: \(errnoText())")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let specBytes: [UInt8]
        do {
            specBytes = Array(try encoder.encode(spec)) + [10]
        } catch {
            throw failure(.invalidSpec, "cannot encode spec.json: \(error)", tail: false)
        }
        try Files.writeAtomically(specBytes, to: specPath)

        if cancelled() { throw failure(.cancelled, "cancelled before the trainer started", tail: false) }
        let env = try childEnvironment(runDirectory: runDir, specPath: specPath, fail: { failure(.spawnFailed, $0, tail: false) })
        let child = ChildProcess(
            command: command, environment: env, workingDirectory: workingDirectory, timeLimit: timeLimit, graceSeconds: graceSeconds, log: log)

        // Spawn.
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw FileError(logPath, "cannot create: \(errnoText())") }
        let pid: pid_t
        do {
            defer { close(logFD) }
            pid = try child.start(logFD: logFD)
        } catch let e as ChildProcess.Failure {
            throw failure(.spawnFailed, e.message, tail: false)
        }
        log.debug("trainer \(program) started (pid \(pid), \(spec.mode.rawValue) mode, limit \(ExternalTrainer.seconds(timeLimit))) in \(workingDirectory); log \(logPath)")
        // Its process group, for a restarted daemon to stop if this one dies first (kill -9).
        let pidFile = runDir + "/" + Self.pidFileName
        try? Files.writeAtomically(Array("\(pid)\n".utf8), to: pidFile)
        defer { unlink(pidFile) }
        let ended: ChildProcess.Ended
        do {
            ended = try child.wait(pid, cancelled: cancelled)
        } catch let e as ChildProcess.Failure {
            throw failure(.spawnFailed, e.message)
        }
        let (wall, cpu, peak, stop) = (ended.wallSeconds, ended.cpuSeconds, ended.peakMemoryBytes, ended.stop)
        let (exited, exitCode, signal) = (ended.exited, ended.exitCode, ended.signal)
        log.debug("trainer \(program) (pid \(pid)) ended: \(exited ? "exit status \(exitCode)" : "signal \(signal)") after \(ExternalTrainer.seconds(wall)) (cpu \(ExternalTrainer.seconds(cpu)), peak memory \(peak / 1_048_576) MiB)")

        let ending = ended.summary(limit: timeLimit, grace: graceSeconds)
        switch stop {
        case .timedOut?: throw failure(.timedOut, ending)
        case .cancelled?: throw failure(.cancelled, ending)
        case nil: break
        }
        if !exited { throw failure(.killedBySignal(signal), ending) }
        if exitCode != 0 { throw failure(.exitStatus(exitCode), ending) }

        // Outputs.
        func outputs(_ path: String, rows: Int, of what: String) throws -> [Double] {
            switch ExternalTrainer.readScores(path, task: spec.task, classes: spec.classes) {
            case .missing(let why): throw failure(.missingScores, why)
            case .malformed(let why): throw failure(.malformedScores, why)
            case .scores(let s, let count):
                guard count == rows else { throw failure(.wrongRowCount, "\(path): \(count) scores for \(rows) \(what) rows") }
                return s
            }
        }
        let scores = try outputs(spec.scoresFile, rows: expectedRows, of: "evaluation")
        if spec.mode != .score && !ExternalTrainer.holdsAFile(spec.outputDir) {
            throw failure(.noModelFiles, "no model file in output_dir \(spec.outputDir)")
        }
        var outcome = Outcome(
            scores: scores, modelDirectory: spec.mode == .score ? spec.parentModelDir ?? spec.outputDir : spec.outputDir,
            wallSeconds: wall, cpuSeconds: cpu, peakMemoryBytes: peak, logPath: logPath)
        if let file = spec.validationScoresFile, let rows = validationRows {
            outcome.validationScores = try outputs(file, rows: rows, of: "validation")
        }
        if let file = spec.reportFile, Files.exists(file) {
            switch ExternalTrainer.readReport(file) {
            case .success(let report): outcome.report = report
            case .failure(let problem): throw failure(.malformedReport, problem.description)
            }
        }
        return outcome
    }

    // MARK: - The child

    /// The clean environment: PATH and HOME from the daemon (defaults when unset), LANG=C.UTF-8,
    /// TMPDIR in the run directory, then the job's variables, then UPDATER_SPEC. Nothing else of the
    /// daemon's environment reaches the child.
    func childEnvironment(runDirectory: String, specPath: String, fail: (String) -> ExternalTrainerError) throws -> [String: String] {
        let own = ProcessInfo.processInfo.environment
        var env: [String: String] = [
            "PATH": own["PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": own["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? runDirectory,
            "LANG": "C.UTF-8",
            "TMPDIR": runDirectory + "/tmp",
        ]
        for (name, value) in environment {
            // Names may be shown; values never are.
            let valid = !name.isEmpty && !name.utf8.contains(where: { $0 == UInt8(ascii: "=") || $0 == 0 })
            guard valid else { throw fail("environment variable name \"\(name)\" is not valid") }
            guard name != "UPDATER_SPEC" else { throw fail("the job may not set UPDATER_SPEC") }
            guard !value.utf8.contains(0) else { throw fail("environment variable \(name) holds a NUL byte") }
            env[name] = value
        }
        env["UPDATER_SPEC"] = specPath
        return env
    }

    static let pidFileName = "trainer.pid"

    /// Stops the trainers a killed daemon left running for the run whose directory is `runDirectory`
    /// (its trainer directories hold `trainer.pid`): SIGKILL to each process group whose leader
    /// still runs with that directory's `UPDATER_SPEC`, so a reused pid is never signalled. Returns
    /// the process groups stopped.
    package static func stopOrphans(in runDirectory: String) -> [pid_t] {
        var stopped: [pid_t] = []
        let dirs = [runDirectory] + ((try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []).sorted().map { runDirectory + "/" + $0 }
        for dir in dirs {
            let file = dir + "/" + pidFileName
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1
            else { continue }
            let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            let expected = "UPDATER_SPEC=" + Files.absolute(dir) + "/spec.json"
            if environ.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == expected }) {
                ChildProcess.signalGroup(pid, SIGKILL)
                stopped.append(pid)
            }
            unlink(file)
        }
        return stopped
    }

    // MARK: - Outputs

    enum ScoresRead {
        /// The outputs, flattened row by row (a multiclass row has one value per class), and the rows.
        case scores([Double], rows: Int)
        case missing(String)
        case malformed(String)
    }

    /// Reads a scores CSV (LF or CRLF, an optional UTF-8 BOM, optional surrounding quotes and spaces,
    /// trailing blank lines ignored). Binary: header `score`, one number in [0, 1] per line.
    /// Multiclass (contract 2): the classes as header, in `classes` order, then per line one
    /// probability per class, summing to 1 within 1e-3 (rescaled to sum to 1 exactly). Regression
    /// (contract 2): header `prediction`, one finite number per line.
    static func readScores(_ path: String, task: String = "binary", classes: [String] = []) -> ScoresRead {
        guard Files.exists(path) else { return .missing("the trainer exited with status 0 but wrote no scores file \(path)") }
        guard !Files.isDirectory(path), let bytes = try? Files.read(path) else {
            return .missing("the scores file \(path) is not a readable file")
        }
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        var lines = splitLines(bytes.starts(with: bom) ? bytes.dropFirst(3) : bytes[...])
        while let last = lines.last, last.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeLast() }
        func cell(_ s: Substring) -> Substring {
            var c = s.drop(while: { $0 == " " || $0 == "\t" })
            while let l = c.last, l == " " || l == "\t" { c = c.dropLast() }
            if c.count >= 2, c.first == "\"", c.last == "\"" { c = c.dropFirst().dropLast() }
            return c
        }
        let expected = task == "multiclass" ? classes : [task == "regression" ? "prediction" : "score"]
        let shown = expected.map { "`\($0)`" }.joined(separator: ",")
        guard let header = lines.first else { return .malformed("\(path) is empty: it needs the header \(shown) and one row per row scored") }
        guard header.split(separator: ",", omittingEmptySubsequences: false).map({ String(cell($0)) }) == expected else {
            return .malformed("\(path): line 1: the header must be \(shown), found \"\(header.prefix(80))\"")
        }
        var values = [Double]()
        values.reserveCapacity((lines.count - 1) * expected.count)
        for (i, line) in lines.enumerated().dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(cell)
            let where_ = "\(path): line \(i + 1)"
            if cells.count == 1, cells[0].isEmpty { return .malformed("\(where_): the \(expected.count == 1 ? expected[0] : "row") is empty") }
            guard cells.count == expected.count else {
                return .malformed("\(where_): \"\(line.prefix(80))\": \(expected.count) column\(expected.count == 1 ? "" : "s") expected (\(shown))")
            }
            var row: [Double] = []
            for c in cells {
                guard let v = Double(c), v.isFinite else { return .malformed("\(where_): \"\(c.prefix(80))\" is not a number") }
                if task != "regression", !(v >= 0 && v <= 1) {
                    return .malformed("\(where_): \(c) is outside [0, 1]: scores are probabilities")
                }
                row.append(v)
            }
            if task == "multiclass" {
                let sum = row.reduce(0, +)
                guard abs(sum - 1) <= 1e-3 else { return .malformed("\(where_): the probabilities add up to \(sum), not 1") }
                row = row.map { $0 / sum }
            }
            values += row
        }
        return .scores(values, rows: lines.count - 1)
    }

    /// Reads a contract-2 report: a JSON object of at most 1 MiB; its `params` (an object) and
    /// `metrics` (an object of numbers) are kept, as compact JSON with sorted keys.
    static func readReport(_ path: String) -> Result<String, ExternalTrainerError.Message> {
        guard let bytes = try? Files.read(path), bytes.count <= 1 << 20 else {
            return .failure(.init(description: "\(path): the report is unreadable or larger than 1 MiB"))
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            return .failure(.init(description: "\(path): the report is not a JSON object"))
        }
        var kept: [String: Any] = [:]
        if let params = object["params"] {
            guard params is [String: Any] else { return .failure(.init(description: "\(path): `params` must be an object")) }
            kept["params"] = params
        }
        if let metrics = object["metrics"] {
            guard let m = metrics as? [String: Any], m.values.allSatisfy({ $0 is NSNumber }) else {
                return .failure(.init(description: "\(path): `metrics` must be an object of numbers"))
            }
            kept["metrics"] = m
        }
        guard let data = try? JSONSerialization.data(withJSONObject: kept, options: [.sortedKeys]) else {
            return .failure(.init(description: "\(path): the report cannot be written back as JSON"))
        }
        return .success(String(decoding: data, as: UTF8.self))
    }

    /// The lines of `bytes`, split at LF, each without a final CR. (Split bytes, not a String: Swift
    /// treats CR LF as one Character, so a String split at "\n" leaves CRLF lines joined.)
    static func splitLines(_ bytes: ArraySlice<UInt8>) -> [String] {
        bytes.split(separator: 10, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 13 ? line.dropLast() : line, as: UTF8.self)
        }
    }

    /// Whether `directory` holds at least one regular file, at any depth.
    static func holdsAFile(_ directory: String) -> Bool {
        guard let e = FileManager.default.enumerator(atPath: directory) else { return false }
        for case let name as String in e {
            var st = stat()
            if stat(directory + "/" + name, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { return true }
        }
        return false
    }

    /// The last `lines` lines of the log (what a terminal would show of `\r` progress bars), each cut
    /// to 400 characters; read from at most the last 64 KiB.
    static func tail(of path: String, lines: Int = 20) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return "" }
        let window = min(Int(size), 65_536)
        var buffer = [UInt8](repeating: 0, count: window)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, window, off_t(Int(size) - window)) }
        guard n > 0 else { return "" }
        var all = splitLines(buffer[0..<n])
        if window < Int(size) && all.count > 1 { all.removeFirst() }  // probably cut
        all = all.map { line in
            let shown = line.split(separator: "\r").last.map(String.init) ?? ""
            return shown.count > 400 ? String(shown.prefix(400)) + "…" : shown
        }
        while all.last?.isEmpty == true { all.removeLast() }
        return all.suffix(lines).joined(separator: "\n")
    }

    // MARK: - Helpers

    static func seconds(_ s: Double) -> String { ChildProcess.seconds(s) }
}

/// Why an external trainer run failed. `description` names the failure and the command's first word
/// and ends with the last lines of `trainer.log`; it never contains environment values.
package struct ExternalTrainerError: Error, CustomStringConvertible, Sendable {
    package enum Code: Sendable, Equatable {
        /// The spec or the runner's settings are unusable (nothing was started).
        case invalidSpec
        case spawnFailed
        case exitStatus(Int32)
        case killedBySignal(Int32)
        case timedOut
        case cancelled
        case missingScores
        case malformedScores
        case wrongRowCount
        case noModelFiles
        case malformedReport

        package var name: String {
            switch self {
            case .invalidSpec: "invalid trainer spec"
            case .spawnFailed: "could not start"
            case .exitStatus: "failed"
            case .killedBySignal: "was killed"
            case .timedOut: "timed out"
            case .cancelled: "cancelled"
            case .missingScores: "wrote no scores"
            case .malformedScores: "wrote malformed scores"
            case .wrongRowCount: "wrote the wrong number of scores"
            case .noModelFiles: "wrote no model files"
            case .malformedReport: "wrote a malformed report"
            }
        }
    }

    package var code: Code
    /// The command's first word.
    package var program: String
    package var message: String
    package var logPath: String
    /// The last lines of `trainer.log` (up to 20), or "" when it is empty or was not started.
    package var logTail: String

    /// A problem found in an output, before it becomes an error with the log's tail.
    package struct Message: Error, Sendable {
        package var description: String
    }

    package init(code: Code, program: String, message: String, logPath: String, logTail: String) {
        self.code = code
        self.program = program
        self.message = message
        self.logPath = logPath
        self.logTail = logTail
    }

    package var description: String {
        var text = "external trainer \(program) \(code.name): \(message)"
        if !logTail.isEmpty {
            let indented = logTail.split(separator: "\n", omittingEmptySubsequences: false).map { "  | " + $0 }.joined(separator: "\n")
            text += "\nlast lines of \(logPath):\n" + indented
        }
        return text
    }
}
