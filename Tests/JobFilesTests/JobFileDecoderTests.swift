import Evaluation
import Foundation
import Drift
import Testing
import Training

@testable import JobFiles

// MARK: - Helpers

/// A fresh temporary directory holding job files, with an `incoming/` directory; removed on deinit.
final class JobDir {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("jobfiles-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path + "/incoming", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` in this directory and returns the file's path.
    @discardableResult
    func write(_ text: String, as name: String = "job.toml") throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    func mkdir(_ name: String) throws {
        try FileManager.default.createDirectory(atPath: path + "/" + name, withIntermediateDirectories: true)
    }

    /// Loads `text` written as `name`; the problems' descriptions, or `[]` when it decodes.
    func problems(_ text: String, as name: String = "job.toml") throws -> [String] {
        let file = try write(text, as: name)
        do {
            _ = try JobFileDecoder.load(file)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    /// Loads `text` written as `name`, which must decode.
    func load(_ text: String, as name: String = "job.toml") throws -> JobConfig {
        try JobFileDecoder.load(try write(text, as: name))
    }
}

/// The 1-based line of the first line of `text` that contains `needle`.
private func line(_ needle: String, in text: String) -> Int {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard let i = lines.firstIndex(where: { $0.contains(needle) }) else {
        Issue.record("\"\(needle)\" is not in the text")
        return -1
    }
    return i + 1
}

/// The smallest valid job.
private let minimal = """
    [data]
    incoming = "incoming"
    label = "y"

    [deploy]
    path = "model.bin"

    """

/// `minimal` with `extra` appended (a table or more keys in `[deploy]`).
private func job(_ extra: String) -> String { minimal + extra + "\n" }

/// The repository root, found from this file's path (Tests/JobFilesTests/<file>).
private let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

// MARK: - Valid files

@Suite("Job files: valid input")
struct ValidJobFileTests {
    @Test("the bundled example Jobs/churn.toml validates with its settings")
    func bundledExample() throws {
        let jobs = repositoryRoot + "/Jobs"
        let config = try JobFileDecoder.load(jobs + "/churn.toml")
        #expect(config.name == "churn")
        #expect(config.file == jobs + "/churn.toml")
        #expect(config.data.incoming == jobs + "/churn/incoming")
        #expect(config.data.label == "churned")
        #expect(config.data.positiveLabel == "yes")
        #expect(config.data.features == nil)
        #expect(config.data.exclude == ["customer_id"])
        #expect(config.data.categorical == ["plan", "region"])
        #expect(config.data.holdout == .fraction(0.2))
        #expect(config.data.settleSeconds == 2)
        #expect(config.schedule.interval.map { $0 == 15 * 60 } == true)
        #expect(config.drift.policy.threshold(for: "tenure_months", method: .wasserstein) == 0.2)
        #expect(config.drift.policy.threshold(for: "plan", method: .js) == 0.1)
        #expect(config.drift.performance == .init(minDrop: 0.02, pValue: 0.01))
        #expect(config.drift.adwin == .decisive)
        #expect(config.drift.pageHinkley == .report)
        #expect(config.training.seed == 7)
        #expect(config.training.windowRows == 50_000)
        #expect(config.training.maxIncrementalGenerations == 3)
        #expect(config.gate.minRows == 100)
        #expect(
            config.gate.rules == [
                GateRule(metric: .rocAUC, min: 0.75, change: -0.02), GateRule(metric: .accuracy, min: 0.70),
            ])
        #expect(config.deploy.path == jobs + "/churn/deploy/churn.model")
    }

    @Test("the file hash is the SHA-256 of the job file's bytes")
    func fileHash() throws {
        let dir = try JobDir()
        let config = try dir.load(minimal)
        // sha256sum of the bytes of `minimal`
        #expect(config.fileHash == "a5391950ebd30b777a4b4187eadc60fc480b018adf060f7374b307ac0ea6c640")
    }

    @Test("the job's name is the file name without .toml")
    func nameFromFile() throws {
        let dir = try JobDir()
        let config = try dir.load(minimal, as: "churn-v2_eu.toml")
        #expect(config.name == "churn-v2_eu")
    }

    @Test("relative paths resolve against the job file's directory, not the working directory")
    func relativePaths() throws {
        let dir = try JobDir()
        try dir.mkdir("jobs/x/incoming")
        try dir.write("a,y\n1,0\n", as: "jobs/x/eval.csv")
        let config = try dir.load(
            """
            [data]
            incoming = "x/incoming"
            label = "y"
            holdout = "x/eval.csv"
            [deploy]
            path = "x/out/model.bin"
            """, as: "jobs/x.toml")
        #expect(config.data.incoming == dir.path + "/jobs/x/incoming")
        #expect(config.data.holdout == .file(dir.path + "/jobs/x/eval.csv"))
        #expect(config.deploy.path == dir.path + "/jobs/x/out/model.bin")
    }

    @Test("absolute paths are kept as written")
    func absolutePaths() throws {
        let dir = try JobDir()
        let config = try dir.load(
            """
            [data]
            incoming = "\(dir.path)/incoming"
            label = "y"
            [deploy]
            path = "/var/models/m.bin"
            """, as: "sub/job.toml")
        #expect(config.data.incoming == dir.path + "/incoming")
        #expect(config.deploy.path == "/var/models/m.bin")
    }

    @Test("a holdout given as a file path becomes a holdout file")
    func holdoutFile() throws {
        let dir = try JobDir()
        try dir.write("a,y\n1,0\n", as: "eval.csv")
        let config = try dir.load(minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nholdout = \"eval.csv\""))
        #expect(config.data.holdout == .file(dir.path + "/eval.csv"))
    }

    @Test("drift.performance.enabled = false turns the concept-drift check off")
    func performanceOff() throws {
        let dir = try JobDir()
        let config = try dir.load(job("[drift.performance]\nenabled = false"))
        #expect(config.drift.performance == nil)
    }

    @Test("drift methods, thresholds, per-column settings and correction are read")
    func driftSettings() throws {
        let dir = try JobDir()
        let config = try dir.load(job("""
            [drift]
            numeric_method = "ks"
            categorical_method = "chi2"
            correction = "benjamini_hochberg"
            missing_share_change = 0.2
            [drift.thresholds]
            ks = 0.01
            [drift.columns.a]
            method = "psi"
            threshold = 0.3
            weight = 2
            [drift.columns.b]
            weight = 0
            """))
        let p = config.drift.policy
        #expect(p.numericMethod == .ks)
        #expect(p.categoricalMethod == .chi2)
        #expect(p.correction == .benjaminiHochberg)
        #expect(p.missingShareChange == 0.2)
        #expect(p.threshold(for: "x", method: .ks) == 0.01)
        #expect(p.columns["a"] == .init(method: .psi, threshold: 0.3, weight: 2))
    }

    @Test("a per-column threshold without its method is rejected, since its meaning depends on the method")
    func columnThresholdNeedsMethod() throws {
        let dir = try JobDir()
        let text = job("[drift.columns.a]\nthreshold = 0.3")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("threshold = 0.3", in: text)): drift.columns.a.threshold: give method too: a threshold means a distance or a p-value depending on the method"
            ])
    }

    @Test("a drift method that does not apply to the column kind is rejected")
    func driftMethodWrongKind() throws {
        let dir = try JobDir()
        let text = job("[drift]\nnumeric_method = \"linf\"")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("numeric_method", in: text)): drift.numeric_method: unknown method \"linf\" (available: auto, psi, ks, wasserstein, js, chi2)"
            ])
    }

    @Test("integers are accepted where a number is expected")
    func integerAsNumber() throws {
        let dir = try JobDir()
        let config = try dir.load(job("[[gate.rules]]\nmetric = \"f1\"\nmin = 1\n[training.params]\nl2 = 3"))
        #expect(config.gate.rules == [GateRule(metric: .f1, min: 1)])
        #expect(config.training.l2 == 3)
    }

    @Test("job names must be lowercase letters, digits, _ and -, starting with a letter or digit")
    func validNames() {
        for name in ["churn", "a", "9lives", "churn_v2", "eu-churn"] { #expect(JobFileDecoder.isValidName(name), "\(name)") }
        for name in ["", "Churn", "_x", "-x", "bad name", "a.b", "café"] { #expect(!JobFileDecoder.isValidName(name), "\(name)") }
    }
}

// MARK: - Defaults

@Suite("Job files: defaults")
struct DefaultsTests {
    @Test("data settings default to all columns, 20% holdout and a 2 s settle time")
    func dataDefaults() throws {
        let config = try JobDir().load(minimal)
        #expect(config.description == "")
        #expect(config.data.positiveLabel == nil)
        #expect(config.data.features == nil)
        #expect(config.data.exclude == [])
        #expect(config.data.categorical == [])
        #expect(config.data.holdout == .fraction(0.2))
        #expect(config.data.settleSeconds == 2)
    }

    @Test("an absent [schedule] checks every hour")
    func scheduleDefaults() throws {
        let config = try JobDir().load(minimal)
        #expect(config.schedule == ScheduleSettings())
    }

    @Test("an absent [drift] uses automatic methods, 10 bins, a 10,000-value sample, severe PSI 0.25, severe share 0.5, performance and ADWIN on")
    func driftDefaults() throws {
        let config = try JobDir().load(minimal)
        let p = config.drift.policy
        #expect(p == DriftPolicy())
        #expect(p.bins == 10 && p.sampleSize == 10_000 && p.numericMethod == nil && p.categoricalMethod == nil)
        #expect(p.severePSI == 0.25 && p.severeShare == 0.5 && p.missingShareChange == 0.1 && p.correction == .none)
        #expect(p.severeUnseenShare == 0.05)
        #expect(config.drift.performance == .init(minDrop: 0.02, pValue: 0.01))
        #expect(config.drift.adwin == .decisive && config.drift.pageHinkley == .report)
    }

    @Test("an absent [training] uses logistic regression, l2 1, 500 iterations, seed 0, 100k rows, incremental")
    func trainingDefaults() throws {
        let config = try JobDir().load(minimal)
        let expected = TrainingSettings(
            model: .logisticRegression, command: nil, environment: [:], l2: 1, classWeights: .none, mlp: .init(), maxIterations: 500, seed: 0, windowRows: 100_000, incremental: true,
            replayFraction: 0.2, maxIncrementalGenerations: 5, windowDays: nil, timeLimit: 3600)
        #expect(config.training == expected)
    }

    @Test("an external trainer's command and environment are read; model and command together are refused")
    func externalCommand() throws {
        let config = try JobDir().load(job("[training]\ncommand = [\"python3\", \"train.py\"]\n[training.env]\nEPOCHS = \"3\""))
        #expect(config.training.command == ["python3", "train.py"])
        #expect(config.training.environment == ["EPOCHS": "3"])
        let dir = try JobDir()
        let text = job("[training]\nmodel = \"logistic_regression\"\ncommand = [\"python3\"]")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("model =", in: text)): training.model: give either model (built in) or command (an external trainer), not both"
            ])
    }

    @Test("class_weight is balanced, none, or a weight per label")
    func classWeights() throws {
        #expect(try JobDir().load(job("[training]\nclass_weight = \"balanced\"")).training.classWeights == .balanced)
        #expect(try JobDir().load(job("[training.class_weight]\nyes = 3\nno = 1")).training.classWeights == .explicit(["yes": 3, "no": 1]))
        let dir = try JobDir()
        let text = job("[training]\nclass_weight = \"heavy\"")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("class_weight", in: text)): training.class_weight: expected \"balanced\", \"none\" or a table of label = weight, got \"heavy\""
            ])
    }

    @Test("an mlp job reads its own parameters and refuses the linear model's")
    func mlpParameters() throws {
        let config = try JobDir().load(job("[training]\nmodel = \"mlp\"\n[training.params]\nhidden_layers = [64, 32]\ndropout = 0.1\npatience = 5"))
        #expect(config.training.model == .mlp)
        #expect(config.training.mlp.hiddenLayers == [64, 32])
        #expect(config.training.mlp.dropout == 0.1)
        #expect(config.training.mlp.patience == 5)
        let dir = try JobDir()
        let text = job("[training]\nmodel = \"mlp\"\n[training.params]\nmax_iter = 5\nhidden_layers = [1, 2, 3, 4]")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("hidden_layers", in: text)): training.params.hidden_layers: expected 1 to 3 layer widths (1–10000), such as [64, 32], got an array",
                "\(dir.path)/job.toml:\(line("max_iter", in: text)): training.params.max_iter: is not a parameter of mlp",
            ])
    }

    @Test("a trainer environment value of the wrong type is reported without showing it")
    func environmentValueNotShown() throws {
        let dir = try JobDir()
        let text = job("[training]\ncommand = [\"python3\"]\n[training.env]\nAPI_TOKEN = 839201948576")
        let problems = try dir.problems(text)
        #expect(problems == [
            "\(dir.path)/job.toml:\(line("API_TOKEN", in: text)): training.env.API_TOKEN: expected a string (the value is not shown: it may be a secret)"
        ])
        #expect(!problems.joined().contains("839201948576"))
    }

    @Test("gate rules read ranges, signed changes, tests, slices and the first-version policy")
    func gateRules() throws {
        let config = try JobDir().load(job("""
            [gate]
            first_version = "fail"
            min_slice_rows = 50
            [[gate.rules]]
            metric = "log_loss"
            max = 0.6
            change = 0.0
            test = "bootstrap"
            level = 0.9
            [[gate.rules]]
            metric = "roc_auc"
            relative_change = -0.01
            test = "delong"
            slice = { column = "colour", value = "red" }
            """).replacingOccurrences(of: "[data]", with: "[data]\ncategorical = [\"colour\"]"))
        #expect(config.gate.firstVersion == .fail)
        #expect(config.gate.minSliceRows == 50)
        #expect(config.gate.rules == [
            GateRule(metric: .logLoss, max: 0.6, change: 0, test: .bootstrap, level: 0.9),
            GateRule(metric: .rocAUC, relativeChange: -0.01, test: .delong, slice: .init(column: "colour", value: "red")),
        ])
    }

    @Test("gate configuration errors are caught: min above max, relative change on a metric that can be 0, delong on another metric, a slice on a non-categorical column")
    func gateErrors() throws {
        let dir = try JobDir()
        let text = job("""
            [[gate.rules]]
            metric = "accuracy"
            min = 0.9
            max = 0.8
            [[gate.rules]]
            metric = "brier"
            relative_change = 0.1
            [[gate.rules]]
            metric = "f1"
            change = 0
            test = "delong"
            [[gate.rules]]
            metric = "accuracy"
            min = 0.5
            slice = "x1"
            [[gate.rules]]
            metric = "rmse"
            max = 3
            """)
        let problems = try dir.problems(text)
        #expect(problems.contains { $0.hasSuffix("gate.rules[0].min: min 0.9 is above max 0.8") })
        #expect(problems.contains { $0.hasSuffix("gate.rules[1].relative_change: brier can be 0 in production, where a relative change is undefined; use change") })
        #expect(problems.contains { $0.hasSuffix("gate.rules[2].test: delong compares ROC-AUCs; use bootstrap for f1") })
        #expect(problems.contains { $0.hasSuffix("gate.rules[3].slice: \"x1\" is not one of data.categorical: slices are by a categorical column") })
        #expect(problems.contains { $0.contains("gate.rules[4].metric: rmse is not a metric of a binary job") })
    }

    @Test("[schedule]: an interval or a cron expression in a time zone, on new data with a debounce")
    func schedules() throws {
        let dir = try JobDir()
        try dir.mkdir("incoming")
        let cron = try dir.load(job("[schedule]\ncron = \"0 3 * * mon-fri\"\ntimezone = \"Europe/Berlin\""))
        #expect(cron.schedule.cron?.description == "0 3 * * mon-fri")
        #expect(cron.schedule.interval == nil)
        #expect(cron.schedule.timeZone.identifier == "Europe/Berlin")
        let watched = try dir.load(job("[schedule]\ninterval = \"6h\"\non_new_data = true\ndebounce = \"30s\""))
        #expect(watched.schedule == ScheduleSettings(interval: 6 * 3600, onNewData: true, debounce: 30))
        #expect(watched.schedule.next(after: Date(timeIntervalSince1970: 0)) == Date(timeIntervalSince1970: 6 * 3600))

        let problems = try dir.problems(job("[schedule]\ninterval = \"1h\"\ncron = \"0 3 * *\"\ntimezone = \"Mars/Olympus\"\ndebounce = \"5s\""))
        #expect(problems.contains { $0.hasSuffix("schedule.cron: expected 5 fields (minute hour day-of-month month day-of-week), got 4") }, "\(problems)")
        #expect(problems.contains { $0.hasSuffix("schedule.interval: give interval or cron, not both") }, "\(problems)")
        #expect(problems.contains { $0.hasSuffix("schedule.timezone: unknown time zone \"Mars/Olympus\" (an IANA name such as \"Europe/Berlin\" or \"UTC\")") }, "\(problems)")
        #expect(problems.contains { $0.hasSuffix("schedule.debounce: debounce applies to on_new_data = true") }, "\(problems)")
    }

    @Test("data.task chooses the default model and the metrics a rule may name")
    func taskDefaults() throws {
        let dir = try JobDir()
        try dir.mkdir("incoming")
        #expect(try dir.load(minimal).data.task == .binary)
        #expect(try dir.load(minimal).training.model == .logisticRegression)
        let multiclass = try dir.load(minimal.replacingOccurrences(of: "[data]", with: "[data]\ntask = \"multiclass\"") + """
            [[gate.rules]]
            metric = "macro_f1"
            change = -0.01
            test = "bootstrap"
            """)
        #expect(multiclass.data.task == .multiclass)
        #expect(multiclass.training.model == .softmaxRegression)
        #expect(multiclass.gate.rules.first?.metric == .macroF1)
        let regression = try dir.load(minimal.replacingOccurrences(of: "[data]", with: "[data]\ntask = \"regression\""))
        #expect(regression.training.model == .ridge)
        let mlp = try dir.load(minimal.replacingOccurrences(of: "[data]", with: "[data]\ntask = \"regression\"") + "[training]\nmodel = \"mlp\"\n")
        #expect(mlp.training.model == .mlp)
    }

    @Test("settings that do not fit the job's task are caught by validate")
    func taskErrors() throws {
        let dir = try JobDir()
        try dir.mkdir("incoming")
        let multiclass = minimal.replacingOccurrences(of: "[data]", with: "[data]\ntask = \"multiclass\"\npositive_label = \"yes\"") + """
            [training]
            model = "logistic_regression"

            [gate]
            threshold = 0.3

            [[gate.rules]]
            metric = "roc_auc"
            min = 0.8
            """
        let problems = try dir.problems(multiclass)
        #expect(problems.contains { $0.hasSuffix("data.positive_label: only a binary task has a positive class") }, "\(problems)")
        #expect(problems.contains { $0.hasSuffix("training.model: logistic_regression cannot do a multiclass task (data.task)") }, "\(problems)")
        #expect(problems.contains { $0.contains("gate.threshold: a decision threshold is for binary jobs") }, "\(problems)")
        #expect(problems.contains { $0.contains("gate.rules[0].metric: roc_auc is not a metric of a multiclass job (available: accuracy, log_loss, macro_precision") }, "\(problems)")

        let regression = minimal.replacingOccurrences(of: "[data]", with: "[data]\ntask = \"regression\"") + """
            [training]
            class_weight = "balanced"

            [drift.performance]
            metric = "accuracy"
            min_drop = 0.05

            [drift.online]
            adwin = "report"
            """
        let more = try dir.problems(regression)
        #expect(more.contains { $0.hasSuffix("training.class_weight: class weights are for classification") }, "\(more)")
        #expect(more.contains { $0.contains("drift.performance.metric: a regression job's performance is its rmse, not accuracy") }, "\(more)")
        #expect(more.contains { $0.contains("drift.online: the online detectors watch misclassifications") }, "\(more)")
        // A regression job's concept drift: RMSE rising by 10 % (default) or by min_drop.
        let watched = try dir.load(minimal.replacingOccurrences(of: "[data]", with: "[data]\ntask = \"regression\"") + "\n[drift.performance]\nmin_drop = 0.25\n")
        #expect(watched.drift.performance == .init(metric: .rmse, minDrop: 0.25, pValue: 0.01))
        #expect(try dir.problems(minimal.replacingOccurrences(of: "[data]", with: "[data]\ntask = \"ordinal\"")).contains {
            $0.hasSuffix("data.task: expected \"binary\", \"multiclass\" or \"regression\", got \"ordinal\"")
        })
    }

    @Test("gate.threshold is a number, max_f1, or a precision or recall target; a chosen one needs the built-in engine")
    func decisionThreshold() throws {
        #expect(try JobDir().load(job("[gate]\nthreshold = 0.3")).gate.decisionThreshold == .fixed(0.3))
        #expect(try JobDir().load(job("[gate]\nthreshold = \"max_f1\"")).gate.decisionThreshold == .maxF1)
        #expect(try JobDir().load(job("[gate.threshold]\nprecision = 0.9")).gate.decisionThreshold == .precision(0.9))
        #expect(try JobDir().load(job("[gate.threshold]\nrecall = 0.8")).gate.decisionThreshold == .recall(0.8))
        let dir = try JobDir()
        let text = job("[training]\ncommand = [\"python3\"]\n[gate]\nthreshold = \"max_f1\"")
        #expect(try dir.problems(text).contains { $0.hasSuffix("gate.threshold: a chosen threshold needs validation scores, which only contract 2 trainers write: set training.contract = 2, or give a number") })
    }

    @Test("a slice error names its own rule, even after a rule with a bad metric")
    func sliceErrorIndex() throws {
        let dir = try JobDir()
        let text = job("[[gate.rules]]\nmetric = \"auc\"\nmin = 0.5\n[[gate.rules]]\nmetric = \"f1\"\nmin = 0.5\nslice = \"x\"")
        #expect(try dir.problems(text).contains { $0.contains("gate.rules[1].slice: \"x\" is not one of data.categorical") })
    }

    @Test("window_days and time_limit are read")
    func trainingLimits() throws {
        let config = try JobDir().load(job("[training]\nwindow_days = 30\ntime_limit = \"10m\""))
        #expect(config.training.windowDays == 30)
        #expect(config.training.timeLimit == 600)
    }

    @Test("an absent [gate] has no rules, threshold 0.5 and at least 30 rows")
    func gateDefaults() throws {
        let config = try JobDir().load(minimal)
        #expect(config.gate == GateSettings(rules: [], threshold: 0.5, minRows: 30))
    }

    @Test("keys left out of a present table keep their defaults")
    func partialTables() throws {
        let config = try JobDir().load(job("[drift]\nbins = 20\nsevere_unseen_share = 0.2\n[training.params]\nmax_iter = 50\n[gate]\nthreshold = 0.3"))
        #expect(config.drift.policy.bins == 20)
        #expect(config.drift.policy.severeShare == 0.5)
        #expect(config.drift.policy.severePSI == 0.25)
        #expect(config.drift.policy.severeUnseenShare == 0.2)
        #expect(config.training.maxIterations == 50)
        #expect(config.training.l2 == 1)
        #expect(config.training.windowRows == 100_000)
        #expect(config.gate.threshold == 0.3)
        #expect(config.gate.minRows == 30)
    }
}

// MARK: - Problems

@Suite("Job files: problems")
struct ProblemTests {
    @Test("an unknown top-level key is reported with its line and the known keys")
    func unknownTopLevelKey() throws {
        let dir = try JobDir()
        let text = "colour = \"red\"\n" + minimal
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:1: colour: unknown key (known keys here: description, data, schedule, drift, training, gate, deploy, webhooks)"
            ])
    }

    @Test("an unknown key in [data] is reported with its key path")
    func unknownDataKey() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nlabls = \"z\"")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("labls", in: text)): data.labls: unknown key (known keys here: incoming, label, positive_label, task, features, exclude, categorical, holdout, settle_time, bad_rows, max_bad_rows, id, labels)"
            ])
    }

    @Test("an unknown key in a nested table is reported with its full key path")
    func unknownNestedKey() throws {
        let dir = try JobDir()
        let text = job("[training.params]\nl2 = 2\nlearnng_rate = 0.1")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("learnng_rate", in: text)): training.params.learnng_rate: unknown key (known keys here: l2, max_iter, hidden_layers, dropout, alpha, learning_rate, batch_size, max_epochs, patience, validation_fraction)"
            ])
    }

    @Test("an unknown key inside [[gate.rules]] names the rule's index")
    func unknownRuleKey() throws {
        let dir = try JobDir()
        let text = job("[[gate.rules]]\nmetric = \"accuracy\"\nmin = 0.7\n\n[[gate.rules]]\nmetric = \"recall\"\nmin = 0.5\nweight = 2")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("weight", in: text)): gate.rules[1].weight: unknown key (known keys here: metric, min, max, change, relative_change, max_drop, test, level, slice)"
            ])
    }

    @Test("a string where a rule's min is expected names gate.rules[1].min, its line and the value")
    func wrongTypeRuleMin() throws {
        let dir = try JobDir()
        let text = """
            [data]
            incoming = "incoming"
            label = "y"

            [[gate.rules]]
            metric = "accuracy"
            min = 0.7

            [[gate.rules]]
            metric = "roc_auc"
            min = "high"

            [deploy]
            path = "model.bin"
            """
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:11: gate.rules[1].min: expected a number between 0 and 1, got \"high\""
            ])
    }

    @Test("a number where a string is expected is a wrong type")
    func wrongTypeString() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"", with: "label = 5")
        #expect(try dir.problems(text) == ["\(dir.path)/job.toml:3: data.label: expected a string, got 5"])
    }

    @Test("a string where a whole number is expected is a wrong type")
    func wrongTypeInt() throws {
        let dir = try JobDir()
        let text = job("[training]\nseed = \"7\"")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("seed", in: text)): training.seed: expected a whole number of at least 0, got \"7\""
            ])
    }

    @Test("a string where true or false is expected is a wrong type")
    func wrongTypeBool() throws {
        let dir = try JobDir()
        let text = job("[training.incremental]\nenabled = \"yes\"")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("enabled", in: text)): training.incremental.enabled: expected true or false, got \"yes\""
            ])
    }

    @Test("a non-string element of a column list names its index")
    func wrongTypeArrayElement() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nfeatures = [\"a\", 2]")
        #expect(try dir.problems(text) == ["\(dir.path)/job.toml:4: data.features[1]: expected a string, got 2"])
    }

    @Test("a value where a table is expected is a wrong type")
    func wrongTypeTable() throws {
        let dir = try JobDir()
        let text = "schedule = 5\n" + minimal
        #expect(try dir.problems(text) == ["\(dir.path)/job.toml:1: schedule: expected a table, got 5"])
    }

    @Test("a missing data.label is reported at the [data] line")
    func missingLabel() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"\n", with: "")
        #expect(try dir.problems(text) == ["\(dir.path)/job.toml:1: data.label: required key is missing"])
    }

    @Test("a missing deploy.path is reported at the [deploy] line")
    func missingDeployPath() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "path = \"model.bin\"\n", with: "")
        #expect(try dir.problems(text) == ["\(dir.path)/job.toml:5: deploy.path: required key is missing"])
    }

    @Test("a missing [data] table is reported once")
    func missingDataTable() throws {
        let dir = try JobDir()
        #expect(try dir.problems("[deploy]\npath = \"model.bin\"\n") == ["\(dir.path)/job.toml: data: required key is missing"])
    }

    @Test("a missing [deploy] table is reported once")
    func missingDeployTable() throws {
        let dir = try JobDir()
        #expect(
            try dir.problems("[data]\nincoming = \"incoming\"\nlabel = \"y\"\n") == [
                "\(dir.path)/job.toml: deploy: required key is missing"
            ])
    }

    @Test("a whole number out of range names the allowed range")
    func intOutOfRange() throws {
        let dir = try JobDir()
        let text = job("[drift]\nbins = 1")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("bins", in: text)): drift.bins: expected a whole number between 2 and 1000, got 1"
            ])
    }

    @Test("a number out of range names the allowed range")
    func doubleOutOfRange() throws {
        let dir = try JobDir()
        let text = job("[gate]\nthreshold = 1.5")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("threshold", in: text)): gate.threshold: expected a number between 0 and 1, \"max_f1\", { precision = P } or { recall = R }, got 1.5"
            ])
    }

    @Test("a PSI threshold of zero is not a positive number")
    func psiThresholdZero() throws {
        let dir = try JobDir()
        let text = job("[drift.thresholds]\npsi = 0")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("psi = 0", in: text)): drift.thresholds.psi: expected a positive number, got 0"
            ])
    }

    @Test("a p-value threshold above 1 is rejected")
    func pValueThresholdAboveOne() throws {
        let dir = try JobDir()
        let text = job("[drift.thresholds]\nks = 5")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("ks = 5", in: text)): drift.thresholds.ks: expected a p-value between 0 and 1, got 5"
            ])
    }

    @Test("a duration that is not a duration (\"soon\") names the key and the accepted forms")
    func badDurationSoon() throws {
        let dir = try JobDir()
        let text = job("[schedule]\ninterval = \"soon\"")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("interval", in: text)): schedule.interval: expected a duration such as \"30s\", \"15m\", \"1h30m\" or \"1d\", got \"soon\""
            ])
    }

    @Test("a zero duration (\"0s\") is rejected")
    func badDurationZero() throws {
        let dir = try JobDir()
        let text = job("[schedule]\ninterval = \"0s\"")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("interval", in: text)): schedule.interval: expected a duration such as \"30s\", \"15m\", \"1h30m\" or \"1d\", got \"0s\""
            ])
    }

    @Test("settle_time may be zero, to read files as soon as they are seen")
    func settleTimeZero() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nsettle_time = \"0s\"")
        #expect(try dir.problems(text) == [])
    }

    @Test("a number of seconds without a unit is not a duration")
    func durationWithoutUnit() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nsettle_time = 5")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:4: data.settle_time: expected a duration such as \"30s\", \"15m\", \"1h30m\" or \"1d\" (or \"0s\"), got 5"
            ])
    }

    @Test("an incoming directory that does not exist is reported with the resolved path")
    func incomingMissing() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "incoming = \"incoming\"", with: "incoming = \"nowhere\"")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:2: data.incoming: directory \"nowhere\" does not exist (resolved to \(dir.path)/nowhere)"
            ])
    }

    @Test("an incoming path that is a file is not a directory")
    func incomingIsFile() throws {
        let dir = try JobDir()
        try dir.write("", as: "plain")
        let text = minimal.replacingOccurrences(of: "incoming = \"incoming\"", with: "incoming = \"plain\"")
        #expect(try dir.problems(text) == ["\(dir.path)/job.toml:2: data.incoming: \"plain\" is not a directory"])
    }

    @Test("a holdout file that does not exist is reported with the resolved path")
    func holdoutFileMissing() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nholdout = \"eval.csv\"")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:4: data.holdout: file \"eval.csv\" does not exist (resolved to \(dir.path)/eval.csv)"
            ])
    }

    @Test("a holdout fraction of 1.5 is out of range")
    func holdoutFractionOutOfRange() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nholdout = 1.5")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:4: data.holdout: expected a fraction between 0 and 1 (exclusive) or a file path, got 1.5"
            ])
    }

    @Test("a holdout fraction of 0 is out of range (exclusive bounds)")
    func holdoutFractionZero() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nholdout = 0")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:4: data.holdout: expected a fraction between 0 and 1 (exclusive) or a file path, got 0"
            ])
    }

    @Test("an unknown metric lists the available metrics")
    func unknownMetric() throws {
        let dir = try JobDir()
        let text = job("[[gate.rules]]\nmetric = \"auc\"\nmin = 0.8")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("metric", in: text)): gate.rules[0].metric: unknown metric \"auc\" (available for binary jobs: accuracy, balanced_accuracy, precision, recall, f1, roc_auc, average_precision, log_loss, brier)"
            ])
    }

    @Test("a rule with neither min nor max_drop is reported at its [[gate.rules]] line")
    func ruleWithoutBounds() throws {
        let dir = try JobDir()
        let text = job("[gate]\nmin_rows = 10\n\n[[gate.rules]]\nmetric = \"recall\"")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("[[gate.rules]]", in: text)): gate.rules[0]: a rule needs min, max, change, relative_change or max_drop"
            ])
    }

    @Test("an unknown model lists the available models")
    func unknownModel() throws {
        let dir = try JobDir()
        let text = job("[training]\nmodel = \"xgboost\"")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("model = ", in: text)): training.model: unknown model \"xgboost\" (available: logistic_regression, softmax_regression, ridge, mlp)"
            ])
    }

    @Test("a deploy path that is a directory is rejected")
    func deployPathIsDirectory() throws {
        let dir = try JobDir()
        try dir.mkdir("models")
        let text = minimal.replacingOccurrences(of: "path = \"model.bin\"", with: "path = \"models\"")
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:6: deploy.path: \"models\" is a directory; give the model file's path"
            ])
    }

    @Test("a deploy path ending in / is rejected as a directory even if it does not exist")
    func deployPathTrailingSlash() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "path = \"model.bin\"", with: "path = \"out/\"")
        #expect(
            try dir.problems(text) == ["\(dir.path)/job.toml:6: deploy.path: \"out/\" is a directory; give the model file's path"])
    }

    @Test("the label listed in features is rejected")
    func labelInFeatures() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nfeatures = [\"a\", \"y\"]")
        #expect(
            try dir.problems(text) == ["\(dir.path)/job.toml:4: data.features: the label column \"y\" cannot be listed here"])
    }

    @Test("a categorical column that is not one of the features is rejected")
    func categoricalNotInFeatures() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(
            of: "label = \"y\"", with: "label = \"y\"\nfeatures = [\"a\", \"b\"]\ncategorical = [\"b\", \"c\"]")
        #expect(try dir.problems(text) == ["\(dir.path)/job.toml:5: data.categorical: \"c\" is not one of data.features"])
    }

    @Test("a column listed twice is rejected")
    func duplicateColumn() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nexclude = [\"id\", \"id\"]")
        #expect(try dir.problems(text) == ["\(dir.path)/job.toml:4: data.exclude: column \"id\" is listed twice"])
    }

    @Test("features and exclude together are rejected")
    func featuresAndExclude() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(
            of: "label = \"y\"", with: "label = \"y\"\nfeatures = [\"a\"]\nexclude = [\"id\"]")
        #expect(try dir.problems(text) == ["\(dir.path)/job.toml:5: data.exclude: give either features or exclude, not both"])
    }

    @Test("a per-column drift threshold for a column that is not a feature is rejected")
    func driftColumnNotInFeatures() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nfeatures = [\"a\"]")
            + "[drift.columns.b]\nweight = 2\n"
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:\(line("[drift.columns.b]", in: text)): drift.columns.b: \"b\" is not one of data.features"
            ])
    }

    @Test("a TOML syntax error is reported at the parser's line")
    func syntaxError() throws {
        let dir = try JobDir()
        let text = "[data]\nincoming = \"incoming\"\nlabel = \"y\"\nholdout = = 0.2\n[deploy]\npath = \"m\"\n"
        let problems = try dir.problems(text)
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("\(dir.path)/job.toml:4: TOML syntax: ") == true)
    }

    @Test("an unclosed table header is a syntax error on its line")
    func syntaxErrorHeader() throws {
        let dir = try JobDir()
        let text = minimal + "\n[schedule\ninterval = \"1h\"\n"
        let problems = try dir.problems(text)
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("\(dir.path)/job.toml:\(line("[schedule", in: text)): TOML syntax: ") == true)
    }

    /// toml++ aborts the process on these (found by `make fuzz`); the decoder reports them instead.
    @Test(
        "what the TOML parser would abort on is a syntax error on its line",
        arguments: [
            ("[%]", "table header: expected a key name or a quoted key, saw '%'"),
            ("[[%]]", "table header: expected a key name or a quoted key, saw '%'"),
            ("[ \u{7F}]", "table header: expected a key name or a quoted key, saw the invisible character U+007F"),
            ("[.a]", "table header: expected a key name or a quoted key, saw '.'"),
            ("[[ [a]]]", "table header: expected a key name or a quoted key, saw '['"),
            ("[#]", "table header: expected a key name or a quoted key, saw '#'"),
            ("[", "table header: expected a key name or a quoted key, saw the end of the line"),
            ("[é]", "table header: expected a key name or a quoted key, saw 'é'"),
            ("x = [}]", "array: expected a value or ']', saw '}'"),
            ("x = [\n  1,\n  }]", "array: expected a value or ']', saw '}'"),
            ("x = [\u{2028}]", "a Unicode line or paragraph separator outside a string, saw the invisible character U+2028"),
        ])
    func parserAborts(line text: String, message: String) throws {
        let dir = try JobDir()
        let file = minimal + "\n" + text + "\n"
        let lastLine = file.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        let problems = try dir.problems(file)
        #expect(problems.count == 1)
        let expected = message.hasPrefix("a Unicode") ? message : "Error while parsing " + message
        #expect(problems.first == "\(dir.path)/job.toml:\(lastLine): TOML syntax: \(expected)")
    }

    @Test("brackets inside strings, comments and arrays are not mistaken for table headers")
    func bracketsOutsideHeaders() throws {
        let dir = try JobDir()
        let text = "description = \"\"\"\n[%]\n\"\"\"\n" + minimal.replacingOccurrences(
            of: "label = \"y\"", with: "label = \"y\" # [%]\nexclude = [\n  \"[\",\n]")
        #expect(try dir.problems(text) == [])
    }

    @Test("data.bad_rows: reject by default; skip with max_bad_rows as a share or a count")
    func badRows() throws {
        #expect(try JobDir().load(minimal).data.badRows == .reject)
        let skip = try JobDir().load(minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nbad_rows = \"skip\""))
        #expect(skip.data.badRows == .skip(max: 0.01))
        #expect(skip.data.badRows.limit(rows: 1000) == 10)
        let counted = try JobDir().load(minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nbad_rows = \"skip\"\nmax_bad_rows = 25"))
        #expect(counted.data.badRows.limit(rows: 1000) == 25)
        #expect(DataSettings.BadRows.asBefore.limit(rows: 10) == Int.max)
        let dir = try JobDir()
        #expect(try dir.problems(minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nbad_rows = \"drop\"")) == [
            "\(dir.path)/job.toml:4: data.bad_rows: expected \"reject\" or \"skip\", got \"drop\""
        ])
        #expect(try dir.problems(minimal.replacingOccurrences(of: "label = \"y\"", with: "label = \"y\"\nmax_bad_rows = 5")) == [
            "\(dir.path)/job.toml:4: data.max_bad_rows: applies with bad_rows = \"skip\""
        ])
    }

    @Test("a file name that is not a valid job name is reported once")
    func badFileName() throws {
        let dir = try JobDir()
        #expect(
            try dir.problems(minimal, as: "Bad Name.toml") == [
                "\(dir.path)/Bad Name.toml: job name \"Bad Name\" must match [a-z0-9][a-z0-9_-]* (it is the file name)"
            ])
    }

    @Test("a file name without .toml is reported once")
    func notTomlName() throws {
        let dir = try JobDir()
        #expect(try dir.problems(minimal, as: "churn.yaml") == ["\(dir.path)/churn.yaml: job files must end in .toml"])
    }

    @Test("a job file that cannot be read is reported")
    func unreadableFile() throws {
        let dir = try JobDir()
        let path = dir.path + "/absent.toml"
        let error = #expect(throws: JobFileError.self) { try JobFileDecoder.load(path) }
        #expect(error?.description == "\(path): cannot read: No such file or directory")
    }

    @Test("every problem in a file is reported, not just the first")
    func allProblemsReported() throws {
        let dir = try JobDir()
        let text = """
            colour = "red"
            [data]
            incoming = "nowhere"
            label = "y"
            holdout = 1.5
            [schedule]
            interval = "soon"
            [[gate.rules]]
            metric = "auc"
            [deploy]
            path = "model.bin"
            """
        let file = dir.path + "/job.toml"
        let problems = try dir.problems(text)
        let expected = [
            "\(file):1: colour: unknown key (known keys here: description, data, schedule, drift, training, gate, deploy, webhooks)",
            "\(file):3: data.incoming: directory \"nowhere\" does not exist (resolved to \(dir.path)/nowhere)",
            "\(file):5: data.holdout: expected a fraction between 0 and 1 (exclusive) or a file path, got 1.5",
            "\(file):7: schedule.interval: expected a duration such as \"30s\", \"15m\", \"1h30m\" or \"1d\", got \"soon\"",
            "\(file):9: gate.rules[0].metric: unknown metric \"auc\" (available for binary jobs: accuracy, balanced_accuracy, precision, recall, f1, roc_auc, average_precision, log_loss, brier)",
            "\(file):8: gate.rules[0]: a rule needs min, max, change, relative_change or max_drop",
        ]
        #expect(problems.count == expected.count)
        #expect(Set(problems) == Set(expected))
    }

    @Test("a bad file name is reported together with the problems in the file")
    func badNameAndContentProblems() throws {
        let dir = try JobDir()
        let text = minimal.replacingOccurrences(of: "label = \"y\"\n", with: "")
        #expect(
            try dir.problems(text, as: "Bad.toml") == [
                "\(dir.path)/Bad.toml: job name \"Bad\" must match [a-z0-9][a-z0-9_-]* (it is the file name)",
                "\(dir.path)/Bad.toml:1: data.label: required key is missing",
            ])
    }

    @Test("line numbers are right in a file with CRLF line endings")
    func crlfLineNumbers() throws {
        let dir = try JobDir()
        let lfText = job("[drift]\nbins = 1")
        let text = lfText.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(line("bins", in: lfText) == 8)
        #expect(
            try dir.problems(text) == [
                "\(dir.path)/job.toml:8: drift.bins: expected a whole number between 2 and 1000, got 1"
            ])
    }
}

// MARK: - Durations

@Suite("parseDuration")
struct DurationTests {
    @Test(
        "accepts seconds, minutes, hours, days, weeks, milliseconds and combinations",
        arguments: [
            ("90s", 90.0), ("15m", 900), ("1h30m", 5400), ("2d", 172_800), ("500ms", 0.5), ("1w", 604_800),
            ("1.5h", 5400), ("1m30s", 90), ("2m500ms", 120.5), (" 2s ", 2),
        ])
    func accepts(_ text: String, _ seconds: Double) {
        #expect(parseDuration(text) == seconds)
    }

    @Test(
        "rejects empty, unitless, numberless, negative, unknown-unit and zero durations",
        arguments: ["", " ", "10", "m", "-5s", "1x", "0s", "0m0s", "5 s", "1h30", "s5", "1.2.3s", "soon"])
    func rejects(_ text: String) {
        #expect(parseDuration(text) == nil)
    }
}
