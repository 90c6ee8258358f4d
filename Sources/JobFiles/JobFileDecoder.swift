import Foundation
import Support
import Webhooks
import Crypto
import Drift
import Training
import Tabular
import Evaluation
import TOMLKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and validates job files.
package enum JobFileDecoder {
    /// Job names: the file name without `.toml`.
    package static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLowerAlnum(first) else { return false }
        return name.utf8.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isLowerAlnum(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    /// Loads the job file at `path`; throws ``JobFileError`` listing every problem.
    package static func load(_ path: String) throws(JobFileError) -> JobConfig {
        let (text, bytes) = try readText(path)
        let hash = SHA256.hash(data: bytes).map { String(format2: $0) }.joined()
        return try decode(text, file: path, hash: hash, directory: dirName(absolutePath(path)))
    }

    /// A configuration file's text (and bytes), or the problem naming it.
    static func readText(_ path: String) throws(JobFileError) -> (String, [UInt8]) {
        let bytes: [UInt8]
        do {
            bytes = try readFile(path)
        } catch {
            throw JobFileError([JobFileProblem(file: path, message: "cannot read: \(error)")])
        }
        return (try text(bytes, file: path), bytes)
    }

    /// A configuration file's bytes as text: valid UTF-8, and no NUL byte. TOML forbids control
    /// characters; the parser would stop reading at a NUL and silently drop everything after it
    /// (gate rules included).
    package static func text(_ bytes: [UInt8], file path: String) throws(JobFileError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw JobFileError([JobFileProblem(file: path, message: "not valid UTF-8")])
        }
        if let nul = bytes.firstIndex(of: 0) {
            let line = bytes[..<nul].filter { $0 == 0x0A }.count + 1
            let column = nul - (bytes[..<nul].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
            throw JobFileError([JobFileProblem(
                file: path, line: line, message: "a NUL byte at column \(column): a job file is text (was it saved by a binary tool, or truncated?)")])
        }
        return text
    }

    /// Parses TOML `text`; a syntax error becomes a problem naming `file` and the line, after `early`.
    static func parse(_ text: String, file: String, early: [JobFileProblem] = []) throws(JobFileError) -> TOMLTable {
        if let (line, message) = TOMLParserGuard.firstAbortingConstruct(text) {
            throw JobFileError(early + [JobFileProblem(file: file, line: line, message: "TOML syntax: \(message)")])
        }
        do {
            return try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw JobFileError(early + [JobFileProblem(file: file, line: e.source.begin.line, message: "TOML syntax: \(e.description)")])
        } catch {
            throw JobFileError(early + [JobFileProblem(file: file, message: "TOML syntax: \(error)")])
        }
    }

    /// Decodes job-file `text`; `file` names it in messages; relative paths are resolved against
    /// `directory` (default: the file's directory, made absolute).
    package static func decode(
        _ text: String, file: String, hash: String = "", directory: String? = nil
    ) throws(JobFileError) -> JobConfig {
        let base = baseName(file)
        let name = base.hasSuffix(".toml") ? String(base.dropLast(5)) : base
        var early: [JobFileProblem] = []
        if !base.hasSuffix(".toml") {
            early.append(JobFileProblem(file: file, message: "job files must end in .toml"))
        } else if !isValidName(name) {
            early.append(JobFileProblem(
                file: file, message: "job name \"\(name)\" must match [a-z0-9][a-z0-9_-]* (it is the file name)"))
        }
        let root = try parse(text, file: file, early: early)
        let log = ProblemLog(file: file, text: text)
        let reader = TOMLReader(root, path: "", log: log)
        let config = Decoding(directory: directory ?? dirName(absolutePath(file)), log: log).job(reader, name: name, file: file, hash: hash)
        let problems = early + log.problems
        guard problems.isEmpty, let config else { throw JobFileError(problems) }
        return config
    }
}

/// The conversion from TOML to ``JobConfig``: where every user-facing message is written.
private struct Decoding {
    let directory: String
    let log: ProblemLog

    func job(_ r: TOMLReader, name: String, file: String, hash: String) -> JobConfig? {
        let description = r.string("description") ?? ""
        let data = required(r, "data").flatMap(data)
        let schedule = r.table("schedule").map(schedule) ?? ScheduleSettings()
        let task = data?.task ?? .binary
        let drift = r.table("drift").map { self.drift($0, task: task) } ?? defaultDrift(task)
        var training = r.table("training").map(training) ?? defaultTraining
        if r.table["training"].flatMap({ $0.table?["model"] }) == nil { training.model = .default(for: task) }
        let gate = r.table("gate").map { self.gate($0, categorical: data?.categorical, task: task) }
            ?? GateSettings(rules: [], threshold: 0.5, minRows: 30)
        if task != .binary, r.table["gate"]?.table?["threshold"] != nil {
            log.add("gate.threshold", "a decision threshold is for binary jobs; a \(task.rawValue) model's prediction is its \(task == .regression ? "value" : "most probable class")")
        }
        if task == .regression, r.table["drift"]?.table?["online"] != nil {
            // The online detectors watch a stream of right and wrong classifications.
            log.add("drift.online", "the online detectors watch misclassifications, which a regression job does not have; remove [drift.online] (its concept drift is watched through RMSE, [drift.performance])")
        }
        let deploy = required(r, "deploy").flatMap(deploy)
        let webhooks = WebhookDecoding(directory: directory, log: log).endpoints(r, job: name)
        r.finish(known: ["description", "data", "schedule", "drift", "training", "gate", "deploy", "webhooks"])
        if let data { crossCheck(data, drift, gate, training, deploy.flatMap { $0 }) }
        if let data, let deploy = deploy.flatMap({ $0 }) { checkDeployPath(deploy.path, file: file, incoming: data.incoming) }
        guard let data, let deploy else { return nil }
        var job = JobConfig(
            name: name, file: file, fileHash: hash, description: description, data: data, schedule: schedule,
            drift: drift, training: training, gate: gate, deploy: deploy)
        job.webhooks = webhooks
        return job
    }

    func required(_ r: TOMLReader, _ key: String) -> TOMLReader? {
        guard let t = r.table(key) else {
            if r.table[key] == nil { r.missing(key) }
            return nil
        }
        return t
    }

    func data(_ r: TOMLReader) -> DataSettings? {
        let incoming = r.string("incoming", required: true).flatMap { directoryPath($0, r.keyPath("incoming")) }
        let label = r.string("label", required: true)
        let positive = r.string("positive_label")
        var task = Task.binary
        if let name = r.string("task") {
            if let t = Task(rawValue: name) { task = t } else {
                log.add(r.keyPath("task"), "expected \"binary\", \"multiclass\" or \"regression\", got \"\(name)\"")
            }
        }
        if positive != nil, task != .binary {
            log.add(r.keyPath("positive_label"), "only a binary task has a positive class")
        }
        let features = r.stringArray("features")
        let exclude = r.stringArray("exclude") ?? []
        let categorical = r.stringArray("categorical") ?? []
        let settle = r.duration("settle_time", allowZero: true) ?? 2
        var holdout: DataSettings.Holdout? = .fraction(0.2)
        if let v = r.value("holdout") {
            if let x = TOMLReader.number(v), v.type != .string {
                if x > 0, x < 1 { holdout = .fraction(x) } else {
                    r.wrong("holdout", "a fraction between 0 and 1 (exclusive) or a file path", v)
                    holdout = nil
                }
            } else if v.type == .string, let s = v.string {
                holdout = filePath(s, r.keyPath("holdout")).map { .file($0) }
            } else {
                r.wrong("holdout", "a fraction between 0 and 1 (exclusive) or a file path", v)
                holdout = nil
            }
        }
        var badRows = DataSettings.BadRows.reject
        switch r.string("bad_rows") {
        case nil, "reject"?:
            if r.value("max_bad_rows") != nil { log.add(r.keyPath("max_bad_rows"), "applies with bad_rows = \"skip\"") }
        case "skip"?:
            badRows = .skip(max: r.double("max_bad_rows", in: 0...1_000_000_000, what: "a share below 1 or a count of rows") ?? 0.01)
        case let other?:
            log.add(r.keyPath("bad_rows"), "expected \"reject\" or \"skip\", got \"\(other)\"")
        }
        if case .skip(let max) = badRows, max >= 1, max != max.rounded() {
            log.add(r.keyPath("max_bad_rows"), "a count of rows is a whole number (a share is below 1), got \(max)")
        }
        let id = r.string("id")
        let labels = r.string("labels").flatMap { directoryPath($0, r.keyPath("labels")) }
        r.finish(known: [
            "incoming", "label", "positive_label", "task", "features", "exclude", "categorical", "holdout", "settle_time", "bad_rows",
            "max_bad_rows", "id", "labels",
        ])
        if let id, id == label { log.add(r.keyPath("id"), "the label column \"\(id)\" cannot identify rows") }
        if labels != nil, id == nil { log.add(r.keyPath("labels"), "labels join earlier rows by their id: set data.id too") }
        if let labels, let incoming, Files.canonical(labels) == Files.canonical(incoming) {
            log.add(r.keyPath("labels"), "is data.incoming: label files would be read as batches")
        }
        for (key, list) in [("features", features ?? []), ("categorical", categorical)] {
            if let id, list.contains(id) { log.add(r.keyPath(key), "the id column \"\(id)\" identifies rows and cannot be a feature") }
        }
        for (key, list) in [("features", features ?? []), ("exclude", exclude), ("categorical", categorical)] {
            var seen = Set<String>()
            for column in list where !seen.insert(column).inserted {
                log.add(r.keyPath(key), "column \"\(column)\" is listed twice")
            }
            if let label, list.contains(label) {
                log.add(r.keyPath(key), "the label column \"\(label)\" cannot be listed here")
            }
        }
        if let features {
            if features.isEmpty { log.add(r.keyPath("features"), "must list at least one column (or leave it out for all but the label)") }
            for c in categorical where !features.contains(c) {
                log.add(r.keyPath("categorical"), "\"\(c)\" is not one of data.features")
            }
            if !exclude.isEmpty { log.add(r.keyPath("exclude"), "give either features or exclude, not both") }
        }
        for c in categorical where exclude.contains(c) {
            log.add(r.keyPath("categorical"), "\"\(c)\" is also in data.exclude")
        }
        guard let incoming, let label, let holdout else { return nil }
        var data = DataSettings(
            incoming: incoming, label: label, positiveLabel: positive, task: task, features: features, exclude: exclude,
            categorical: categorical, holdout: holdout, settleSeconds: settle, badRows: badRows)
        (data.id, data.labels) = (id, labels)
        return data
    }

    func schedule(_ r: TOMLReader) -> ScheduleSettings {
        var s = ScheduleSettings()
        let interval = r.duration("interval")
        if let text = r.string("cron") {
            do {
                s.cron = try CronSchedule(text)
                s.interval = nil
            } catch {
                log.add(r.keyPath("cron"), "\(error)")
            }
            if interval != nil { log.add(r.keyPath("interval"), "give interval or cron, not both") }
        } else if let interval {
            s.interval = interval
        }
        if let name = r.string("timezone") {
            if let zone = TimeZone(identifier: name) {
                s.timeZone = zone
            } else {
                log.add(r.keyPath("timezone"), "unknown time zone \"\(name)\" (an IANA name such as \"Europe/Berlin\" or \"UTC\")")
            }
            if s.cron == nil { log.add(r.keyPath("timezone"), "a time zone applies to cron; give cron too") }
        }
        s.onNewData = r.bool("on_new_data") ?? false
        if let d = r.duration("debounce", allowZero: true) {
            s.debounce = d
            if !s.onNewData { log.add(r.keyPath("debounce"), "debounce applies to on_new_data = true") }
        }
        r.finish(known: ["interval", "cron", "timezone", "on_new_data", "debounce"])
        return s
    }

    func defaultDrift(_ task: Task) -> DriftSettings {
        DriftSettings(policy: DriftPolicy(), performance: .defaults(for: task), adwin: .decisive, pageHinkley: .report)
    }

    func drift(_ r: TOMLReader, task: Task) -> DriftSettings {
        var d = defaultDrift(task)
        var p = d.policy
        p.bins = r.int("bins", in: 2...1000) ?? p.bins
        p.sampleSize = r.int("sample_size", in: 100...10_000_000) ?? p.sampleSize
        p.numericMethod = method(r, "numeric_method", kind: .numeric) ?? p.numericMethod
        p.categoricalMethod = method(r, "categorical_method", kind: .categorical) ?? p.categoricalMethod
        p.missingShareChange = r.double("missing_share_change", in: 0.000_001...1, what: "a share above 0 and at most 1") ?? p.missingShareChange
        p.severeShare = r.double("severe_share", in: 0...1) ?? p.severeShare
        p.severePSI = r.double("severe_psi", in: 0.000_001...100, what: "a positive number") ?? p.severePSI
        p.severeUnseenShare = r.double("severe_unseen_share", in: 0.000_001...1, what: "a share above 0 and at most 1") ?? p.severeUnseenShare
        if let name = r.string("correction") {
            if let c = DriftPolicy.Correction(rawValue: name) {
                p.correction = c
            } else {
                log.add(r.keyPath("correction"), "unknown correction \"\(name)\" (available: \(DriftPolicy.Correction.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        if let t = r.table("thresholds") {
            for m in DriftMethod.allCases {
                if let x = t.double(m.rawValue, in: m.isPValueTest ? 0...1 : 0.000_001...1000, what: m.isPValueTest ? "a p-value between 0 and 1" : "a positive number") {
                    p.thresholds[m] = x
                }
            }
            t.finish(known: DriftMethod.allCases.map(\.rawValue))
        }
        if let columns = r.table("columns") {
            for column in columns.keys {
                guard let c = columns.table(column) else { continue }
                var settings = DriftPolicy.ColumnSettings()
                settings.method = method(c, "method", kind: nil)
                let range: ClosedRange<Double> = settings.method?.isPValueTest == true ? 0...1 : 0.000_001...1000
                settings.threshold = c.double("threshold", in: range, what: settings.method?.isPValueTest == true ? "a p-value between 0 and 1" : "a positive number")
                settings.weight = c.double("weight", in: 0...1000, what: "a weight of at least 0") ?? 1
                if settings.threshold != nil, settings.method == nil {
                    log.add(c.keyPath("threshold"), "give method too: a threshold means a distance or a p-value depending on the method")
                }
                c.finish(known: ["method", "threshold", "weight"])
                p.columns[column] = settings
            }
            columns.finish()
        }
        if let perf = r.table("performance") {
            let enabled = perf.bool("enabled") ?? true
            var metric: DriftSettings.Performance.Metric?
            if let name = perf.string("metric") {
                metric = DriftSettings.Performance.Metric(rawValue: name)
                if metric == nil { log.add(perf.keyPath("metric"), "expected \"accuracy\" (classification) or \"rmse\" (regression), not \"\(name)\"") }
            }
            let defaults = DriftSettings.Performance.defaults(for: task)
            if let m = metric, (m == .rmse) != (task == .regression) {
                log.add(perf.keyPath("metric"), "a \(task.rawValue) job's performance is its \(defaults.metric.rawValue), not \(m.rawValue)")
            }
            // A fall of accuracy is at most 1; a relative rise of RMSE may be larger.
            let minDrop = perf.double("min_drop", in: 0...(task == .regression ? 1000 : 1)) ?? defaults.minDrop
            let pValue = perf.double("p_value", in: 0...1, what: "a p-value between 0 and 1") ?? defaults.pValue
            perf.finish(known: ["enabled", "metric", "min_drop", "p_value"])
            d.performance = enabled ? .init(metric: defaults.metric, minDrop: minDrop, pValue: pValue) : nil
        }
        if let online = r.table("online") {
            for (key, name) in [("adwin", "adwin"), ("page_hinkley", "page_hinkley")] {
                guard let v = online.string(key) else { continue }
                guard let use = DriftSettings.OnlineUse(rawValue: v) else {
                    log.add(online.keyPath(key), "expected \"decisive\", \"report\" or \"off\", got \"\(v)\"")
                    continue
                }
                if name == "adwin" { d.adwin = use } else { d.pageHinkley = use }
            }
            online.finish(known: ["adwin", "page_hinkley"])
        }
        if let v = r.string("estimated_drop") {
            if task != .binary, v != "off" {
                log.add(r.keyPath("estimated_drop"), "only a binary job's performance is estimated on rows without labels")
            }
            if let use = DriftSettings.EstimatedDrop(rawValue: v) { d.estimatedDrop = use } else {
                log.add(r.keyPath("estimated_drop"), "expected \"alert\", \"retrain\" or \"off\", got \"\(v)\"")
            }
        }
        r.finish(known: [
            "bins", "sample_size", "numeric_method", "categorical_method", "thresholds", "columns", "missing_share_change",
            "correction", "severe_share", "severe_psi", "performance", "online", "estimated_drop",
        ])
        d.policy = p
        return d
    }

    /// A method name; `"auto"` is `nil`. With `kind`, the method must apply to that kind of column.
    func method(_ r: TOMLReader, _ key: String, kind: ColumnKindName?) -> DriftMethod? {
        guard let name = r.string(key), name != "auto" else { return nil }
        let choices = DriftMethod.allCases.filter { kind == nil || $0.applies(to: kind!.kind) }
        guard let m = DriftMethod(rawValue: name), choices.contains(m) else {
            log.add(r.keyPath(key), "unknown method \"\(name)\" (available: auto, \(choices.map(\.rawValue).joined(separator: ", ")))")
            return nil
        }
        return m
    }

    var defaultTraining: TrainingSettings {
        TrainingSettings(
            model: .logisticRegression, command: nil, environment: [:], l2: 1.0, classWeights: .none, mlp: .init(), maxIterations: 500, seed: 0, windowRows: 100_000, incremental: true,
            replayFraction: 0.2, maxIncrementalGenerations: 5, windowDays: nil, timeLimit: 3600)
    }

    func training(_ r: TOMLReader) -> TrainingSettings {
        var t = defaultTraining
        if let m = r.string("model") {
            if let model = TrainingSettings.Model(rawValue: m) {
                t.model = model
            } else {
                log.add(
                    r.keyPath("model"),
                    "unknown model \"\(m)\" (available: \(TrainingSettings.Model.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        if let command = r.stringArray("command") {
            if command.isEmpty || command[0].isEmpty {
                log.add(r.keyPath("command"), "expected the trainer's command and its arguments, such as [\"python3\", \"train.py\"]")
            } else {
                t.command = command
            }
            if r.table["model"] != nil {
                log.add(r.keyPath("model"), "give either model (built in) or command (an external trainer), not both")
            }
        }
        if let env = r.table("env") {
            for key in env.keys {
                // Values may be secrets: a wrong one is reported without showing it.
                guard let v = env.value(key) else { continue }
                if v.type == .string, let value = v.string {
                    t.environment[key] = value
                } else {
                    log.add(env.keyPath(key), "expected a string (the value is not shown: it may be a secret)")
                }
            }
            env.finish(known: env.keys)
        }
        t.seed = r.int("seed", in: 0...Int.max).map { UInt64($0) } ?? t.seed
        t.windowRows = r.int("window_rows", in: 10...Int.max) ?? t.windowRows
        t.windowDays = r.int("window_days", in: 1...100_000) ?? t.windowDays
        t.timeLimit = r.duration("time_limit") ?? t.timeLimit
        if let contract = r.int("contract", in: 1...2) {
            t.contract = contract
            if r.value("command") == nil { log.add(r.keyPath("contract"), "is the external trainer's contract; give command too, or remove it") }
        }
        if let v = r.value("class_weight") {
            if v.type == .string, v.string == "balanced" {
                t.classWeights = .balanced
            } else if v.type == .string, v.string == "none" {
                t.classWeights = .none
            } else if v.type == .table, let table = r.table("class_weight") {
                var weights: [String: Double] = [:]
                for label in table.keys {
                    if let w = table.double(label, in: 0...1_000_000, what: "a weight of at least 0") { weights[label] = w }
                }
                table.finish(known: table.keys)
                t.classWeights = .explicit(weights)
            } else {
                r.wrong("class_weight", "\"balanced\", \"none\" or a table of label = weight", v)
            }
        }
        if let p = r.table("params") {
            t.l2 = p.double("l2", in: 0...1e12, what: "a number of at least 0") ?? t.l2
            t.maxIterations = p.int("max_iter", in: 1...1_000_000) ?? t.maxIterations
            var m = t.mlp
            if let v = p.value("hidden_layers") {
                let widths = v.array.map { a in a.compactMap { $0.type == .int ? $0.int : nil } } ?? []
                if v.type == .array, (1...3).contains(widths.count), widths.count == v.array?.count, widths.allSatisfy({ (1...10_000).contains($0) }) {
                    m.hiddenLayers = widths
                } else {
                    p.wrong("hidden_layers", "1 to 3 layer widths (1–10000), such as [64, 32]", v)
                }
            }
            m.dropout = p.double("dropout", in: 0...0.99) ?? m.dropout
            m.alpha = p.double("alpha", in: 0...1e6, what: "a number of at least 0") ?? m.alpha
            m.learningRate = p.double("learning_rate", in: 1e-9...10) ?? m.learningRate
            m.batchSize = p.int("batch_size", in: 1...1_000_000) ?? m.batchSize
            m.maxEpochs = p.int("max_epochs", in: 1...100_000) ?? m.maxEpochs
            m.patience = p.int("patience", in: 1...100_000) ?? m.patience
            m.validationFraction = p.double("validation_fraction", in: 0...0.9) ?? m.validationFraction
            t.mlp = m
            let mlpKeys = ["hidden_layers", "dropout", "alpha", "learning_rate", "batch_size", "max_epochs", "patience", "validation_fraction"]
            let linearKeys = ["l2", "max_iter"]
            for key in p.keys where t.model == .mlp ? linearKeys.contains(key) : mlpKeys.contains(key) {
                log.add(p.keyPath(key), "is not a parameter of \(t.model.rawValue)")
            }
            p.finish(known: linearKeys + mlpKeys)
        }
        if let inc = r.table("incremental") {
            t.incremental = inc.bool("enabled") ?? t.incremental
            t.replayFraction = inc.double("replay_fraction", in: 0...1) ?? t.replayFraction
            t.maxIncrementalGenerations = inc.int("max_generations", in: 0...1000) ?? t.maxIncrementalGenerations
            inc.finish()
        }
        t.warmUpGrowth = r.double("warm_up_growth", in: 1...100, what: "a factor of at least 1") ?? t.warmUpGrowth
        r.finish()
        return t
    }

    /// `categorical`: the job's categorical columns, to check slices against (nil when [data] is bad).
    func gate(_ r: TOMLReader, categorical: [String]?, task: Task) -> GateSettings {
        var rules: [GateRule] = []
        let metricTask = MetricTask(rawValue: task.rawValue)!
        let binary = MetricDefinition.metrics(for: metricTask).map(\.name.rawValue)
        // Metrics whose value can be 0 in production, where a relative change is undefined.
        let canBeZero: Set<MetricName> = [.logLoss, .brier, .rmse, .mae, .mape, .r2]
        for rule in r.tables("rules") ?? [] {
            var metric: MetricName?
            if let name = rule.string("metric", required: true) {
                metric = MetricName(rawValue: name)
                if metric == nil || !binary.contains(name) {
                    log.add(
                        rule.keyPath("metric"),
                        metric == nil
                            ? "unknown metric \"\(name)\" (available for \(task.rawValue) jobs: \(binary.joined(separator: ", ")))"
                            : "\(name) is not a metric of a \(task.rawValue) job (available: \(binary.joined(separator: ", ")))")
                    metric = nil
                }
            }
            let definition = metric?.definition
            let range = definition?.range ?? 0...1
            let rangeText = range.upperBound.isInfinite ? "a number of at least \(fmt(range.lowerBound))" : "a number between \(fmt(range.lowerBound)) and \(fmt(range.upperBound))"
            let min = rule.double("min", in: range, what: rangeText)
            let max = rule.double("max", in: range, what: rangeText)
            var change = rule.double("change", in: -1e9...1e9, what: "a signed number (negative = allowed regression)")
            let relative = rule.double("relative_change", in: -1e9...1e9, what: "a signed number (negative = allowed regression)")
            if let maxDrop = rule.double("max_drop", in: 0...1e9, what: "a number of at least 0") {
                if change != nil {
                    log.add(rule.keyPath("max_drop"), "give change or max_drop (max_drop = d is change = −d), not both")
                } else {
                    change = -maxDrop
                }
            }
            var test: GateRule.Test? = nil
            if let name = rule.string("test") {
                test = GateRule.Test(rawValue: name)
                if test == nil {
                    log.add(rule.keyPath("test"), "unknown test \"\(name)\" (available: bootstrap, delong)")
                } else if test == .delong, let metric, metric != .rocAUC {
                    log.add(rule.keyPath("test"), "delong compares ROC-AUCs; use bootstrap for \(metric.rawValue)")
                }
            }
            let level = rule.double("level", in: 0.5...0.9999, what: "a confidence level between 0.5 and 0.9999") ?? 0.95
            var slice: GateRule.Slice? = nil
            if let v = rule.value("slice") {
                if v.type == .string, let column = v.string {
                    slice = .init(column: column)
                } else if v.type == .table, let t = rule.table("slice") {
                    if let column = t.string("column", required: true) { slice = .init(column: column, value: t.string("value")) }
                    t.finish(known: ["column", "value"])
                } else {
                    rule.wrong("slice", "a categorical column's name, or { column = \"…\", value = \"…\" }", v)
                }
                if let slice, let categorical, !categorical.contains(slice.column) {
                    log.add(rule.keyPath("slice"), "\"\(slice.column)\" is not one of data.categorical: slices are by a categorical column")
                }
            }
            if let min, let max, min > max {
                log.add(rule.keyPath("min"), "min \(fmt(min)) is above max \(fmt(max))")
            }
            if relative != nil, let metric, canBeZero.contains(metric) {
                log.add(rule.keyPath("relative_change"), "\(metric.rawValue) can be 0 in production, where a relative change is undefined; use change")
            }
            if test != nil, change == nil, relative == nil {
                log.add(rule.keyPath("test"), "a test applies to change rules: give change or relative_change too")
            }
            if min == nil, max == nil, change == nil, relative == nil, ["min", "max", "change", "relative_change", "max_drop"].allSatisfy({ rule.table[$0] == nil }) {
                log.add(rule.path, "a rule needs min, max, change, relative_change or max_drop")
            }
            rule.finish(known: ["metric", "min", "max", "change", "relative_change", "max_drop", "test", "level", "slice"])
            if let metric {
                rules.append(GateRule(
                    metric: metric, min: min, max: max, change: change, relativeChange: relative, test: test, level: level,
                    slice: slice))
            }
        }
        var decision = DecisionThreshold.fixed(0.5)
        if let v = r.value("threshold") {
            let expected = "a number between 0 and 1, \"max_f1\", { precision = P } or { recall = R }"
            if let x = TOMLReader.number(v), v.type != .string, (0...1).contains(x) {
                decision = .fixed(x)
            } else if v.type == .string, v.string == "max_f1" {
                decision = .maxF1
            } else if v.type == .table, let t = r.table("threshold") {
                let precision = t.double("precision", in: 0...1), recall = t.double("recall", in: 0...1)
                t.finish(known: ["precision", "recall"])
                switch (precision, recall) {
                case (let p?, nil): decision = .precision(p)
                case (nil, let q?): decision = .recall(q)
                default: log.add(r.keyPath("threshold"), "give precision or recall, one of them")
                }
            } else {
                r.wrong("threshold", expected, v)
            }
        }
        let minRows = r.int("min_rows", in: 1...Int.max) ?? 30
        let minSliceRows = r.int("min_slice_rows", in: 1...Int.max) ?? 30
        let resamples = r.int("bootstrap_resamples", in: 100...1_000_000) ?? 1000
        var firstVersion = Gate.FirstVersion.skip
        if let v = r.string("first_version") {
            if let f = Gate.FirstVersion(rawValue: v) {
                firstVersion = f
            } else {
                log.add(r.keyPath("first_version"), "expected \"skip\" (change rules are skipped) or \"fail\", got \"\(v)\"")
            }
        }
        r.finish(known: ["rules", "threshold", "min_rows", "min_slice_rows", "bootstrap_resamples", "first_version"])
        return GateSettings(
            rules: rules, minRows: minRows, minSliceRows: minSliceRows, resamples: resamples, firstVersion: firstVersion,
            decisionThreshold: decision)
    }

    func deploy(_ r: TOMLReader) -> DeploySettings? {
        let path = r.string("path", required: true)
        var formats: [DeployFormat] = [.updater]
        if let v = r.value("format") {
            let names: [String]? = v.type == .string ? v.string.map { [$0] } : r.stringArray("format")
            if let names {
                let parsed = names.map { DeployFormat(rawValue: $0) }
                if names.isEmpty || parsed.contains(nil) || Set(names).count != names.count {
                    log.add(r.keyPath("format"), "expected \"updater\", \"onnx\" or [\"updater\", \"onnx\"], got \(names.isEmpty ? "[]" : names.map { "\"\($0)\"" }.joined(separator: ", "))")
                } else {
                    formats = parsed.compactMap { $0 }
                }
            }
        }
        var command: [String]? = nil
        if let c = r.stringArray("command") {
            if c.isEmpty || c[0].isEmpty {
                log.add(r.keyPath("command"), "expected the command and its arguments, such as [\"/usr/local/bin/reload-model\", \"--quiet\"]")
            } else {
                command = c
            }
        }
        let timeout = r.duration("command_timeout") ?? 60
        if r.value("command_timeout") != nil, command == nil, r.value("command") == nil {
            log.add(r.keyPath("command_timeout"), "is for command; give command too, or remove it")
        }
        r.finish(known: ["path", "format", "command", "command_timeout"])
        guard let path else { return nil }
        if formats.count > 1, path.hasSuffix(".onnx") {
            log.add(r.keyPath("path"), "holds updater's model file when format is [\"updater\", \"onnx\"] (the ONNX file goes beside it); give it another extension, such as .model")
            return nil
        }
        let resolved = resolve(path)
        // A link is what updater publishes an external trainer's model directory as; a real
        // directory there cannot be replaced atomically.
        if path.hasSuffix("/") || isRealDirectory(resolved) {
            log.add(r.keyPath("path"), "\"\(path)\" is a directory; give the model file's path")
            return nil
        }
        var st = stat()
        if stat(resolved, &st) == 0, st.st_mode & S_IFMT != S_IFREG, st.st_mode & S_IFMT != S_IFDIR {
            log.add(r.keyPath("path"), "\"\(path)\" is a device or another special file; give the model file's path")
            return nil
        }
        return DeploySettings(path: resolved, formats: formats, command: command.map { [resolveCommand($0[0])] + $0.dropFirst() }, commandTimeout: timeout)
    }

    /// The deploy path may not be this job file, nor inside its incoming directory (it would be read
    /// as a batch). Symbolic links are resolved.
    func checkDeployPath(_ path: String, file: String, incoming: String) {
        let deploy = Files.canonical(path)
        if deploy == Files.canonical(file) {
            log.add("deploy.path", "is this job file itself: a model published there would overwrite it")
        }
        let dir = Files.canonical(incoming)
        if deploy.hasPrefix(dir + "/") {
            log.add("deploy.path", "is inside data.incoming (\(incoming)): the model would be read as a batch")
        }
    }

    func crossCheck(_ data: DataSettings, _ drift: DriftSettings, _ gate: GateSettings?, _ training: TrainingSettings? = nil, _ deploy: DeploySettings? = nil) {
        let task = data.task
        if let training, training.command == nil, !training.model.tasks.contains(task) {
            log.add("training.model", "\(training.model.rawValue) cannot do a \(task.rawValue) task (data.task)")
        }
        if task != .binary {
            if let training, training.command != nil, training.contract < 2 {
                log.add("training.contract", "a \(task.rawValue) job's external trainer needs contract 2 (contract = 2, docs/trainers.md); contract 1 is binary only")
            }
            if task == .regression, training?.classWeights != ClassWeights.none { log.add("training.class_weight", "class weights are for classification") }
        }
        if let training, training.command != nil, let deploy, deploy.formats.contains(.onnx) {
            log.add("deploy.format", "ONNX is written from a built-in model; an external trainer's model is published in its own format (\"updater\")")
        }
        if let gate, gate.decisionThreshold.fixedValue == nil, let training, training.command != nil, training.contract < 2 {
            log.add("gate.threshold", "a chosen threshold needs validation scores, which only contract 2 trainers write: set training.contract = 2, or give a number")
        }

        for (column, settings) in drift.policy.columns.sorted(by: { $0.key < $1.key }) {
            guard let m = settings.method else { continue }
            let kind: ColumnKind = data.categorical.contains(column) ? .categorical : .numeric
            if !m.applies(to: kind) {
                log.add("drift.columns.\(column).method", "\(m.rawValue) does not apply to a \(kind.rawValue) column")
            }
        }
        if let features = data.features {
            for column in drift.policy.columns.keys.sorted() where !features.contains(column) {
                log.add("drift.columns.\(column)", "\"\(column)\" is not one of data.features")
            }
        }
    }

    /// A command's program: a path (with a slash) against the job file's directory; a bare name is
    /// looked up in PATH when it runs.
    func resolveCommand(_ program: String) -> String {
        program.contains("/") ? resolve(program) : program
    }

    /// A path from the job file, absolute and without `.`/`..`, relative ones against the file's directory.
    func resolve(_ path: String) -> String {
        absolutePath(path.hasPrefix("/") ? path : (directory.isEmpty ? path : directory + "/" + path))
    }

    func directoryPath(_ path: String, _ key: String) -> String? {
        let p = resolve(path)
        guard isDirectory(p) else {
            log.add(key, exists(p) ? "\"\(path)\" is not a directory" : "directory \"\(path)\" does not exist (resolved to \(p))")
            return nil
        }
        return p
    }

    func filePath(_ path: String, _ key: String) -> String? {
        let p = resolve(path)
        guard exists(p), !isDirectory(p) else {
            log.add(key, exists(p) ? "\"\(path)\" is a directory, not a file" : "file \"\(path)\" does not exist (resolved to \(p))")
            return nil
        }
        return p
    }
}

func exists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

/// A directory that is not a symbolic link.
func isRealDirectory(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

func baseName(_ path: String) -> String {
    path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
}

func dirName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "" }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

struct ReadError: Error, CustomStringConvertible {
    var description: String
}

func readFile(_ path: String) throws -> [UInt8] {
    guard let f = fopen(path, "rb") else { throw ReadError(description: String(cString: strerror(errno))) }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, f)
        if n > 0 { out.append(contentsOf: buffer[0..<n]) }
        if n < buffer.count {
            if ferror(f) != 0 { throw ReadError(description: String(cString: strerror(errno))) }
            break
        }
    }
    return out
}

extension String {
    /// Two lowercase hex digits.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

/// The two column kinds, for choosing drift methods in job files.
enum ColumnKindName {
    case numeric, categorical
    var kind: ColumnKind { self == .numeric ? .numeric : .categorical }
}
