import Foundation
import Drift
import Evaluation
import Training

/// A validated retrain job, decoded from `Jobs/<name>.toml`. Paths are resolved against the job
/// file's directory. See docs/jobs.md for every key, its default and meaning.
public struct JobConfig: Sendable, Equatable {
    /// The job's name: its file name without `.toml`; matches `[a-z0-9][a-z0-9_-]*`.
    public var name: String
    /// The job file's path as it was given.
    public var file: String
    /// SHA-256 (hex) of the job file's bytes: recorded with every run and version.
    public var fileHash: String
    public var description: String
    public var data: DataSettings
    public var schedule: ScheduleSettings
    public var drift: DriftSettings
    public var training: TrainingSettings
    public var gate: GateSettings
    public var deploy: DeploySettings
    /// The job's own webhook endpoints (`[[webhooks]]`), named `<job>/<name>`.
    public var webhooks: [WebhookEndpoint] = []
}

public struct DataSettings: Sendable, Equatable {
    /// Directory where new CSV batches arrive.
    public var incoming: String
    public var label: String
    /// The label value that is the positive class; `nil` = the greater of the two in sorted order.
    public var positiveLabel: String?
    /// What the job's models predict: two classes (default), more classes, or numbers.
    public var task: Task
    /// Feature columns; `nil` = every column except the label and `exclude`.
    public var features: [String]?
    public var exclude: [String]
    public var categorical: [String]
    public var holdout: Holdout
    /// A file is read only once its modification time is at least this old (seconds).
    public var settleSeconds: Double

    public enum Holdout: Sendable, Equatable {
        /// This fraction of each run's new rows is held out for evaluation.
        case fraction(Double)
        /// A fixed evaluation file.
        case file(String)
    }
}

/// When `updater run` starts a job's cycle.
public struct ScheduleSettings: Sendable, Equatable {
    /// Seconds from the end of one cycle to the next; nil when `cron` is set.
    public var interval: Double?
    /// A cron expression, read in `timeZone`; instead of `interval`.
    public var cron: CronSchedule?
    public var timeZone: TimeZone
    /// Also run when new files appear in `data.incoming` (inotify, else polling), `debounce` seconds
    /// after the last one, so a burst of files makes one run. `interval` / `cron` is then the
    /// "at the latest".
    public var onNewData: Bool
    public var debounce: Double

    public init(interval: Double? = 3600, cron: CronSchedule? = nil, timeZone: TimeZone = .current, onNewData: Bool = false, debounce: Double = 5) {
        self.interval = interval
        self.cron = cron
        self.timeZone = timeZone
        self.onNewData = onNewData
        self.debounce = debounce
    }

    /// When the next scheduled cycle is due after one that ended at `end`.
    public func next(after end: Date) -> Date {
        if let cron { return cron.next(after: end, in: timeZone) ?? .distantFuture }
        return end.addingTimeInterval(interval ?? 3600)
    }
}

public struct DriftSettings: Sendable, Equatable {
    /// Feature drift: methods, thresholds, per-column settings, correction, severity.
    public var policy: DriftPolicy
    /// Concept drift from the production model's accuracy on labelled new rows; `nil` = off.
    public var performance: Performance?
    /// Online detectors on the production model's per-row errors.
    public var adwin: OnlineUse
    public var pageHinkley: OnlineUse

    public struct Performance: Sendable, Equatable {
        /// Smallest fall of accuracy that counts.
        public var minDrop: Double
        /// Significance level of the one-sided two-proportion z-test.
        public var pValue: Double
    }

    public enum OnlineUse: String, Sendable, Equatable, CaseIterable {
        /// A detection is concept drift.
        case decisive
        /// Run and report only.
        case report
        case off
    }
}

public struct TrainingSettings: Sendable, Equatable {
    public enum Model: String, Sendable, Equatable, CaseIterable {
        case logisticRegression = "logistic_regression"
        case softmaxRegression = "softmax_regression"
        case ridge
        case mlp

        /// The model a task trains when the job file names none.
        public static func `default`(for task: Task) -> Model {
            switch task {
            case .binary: .logisticRegression
            case .multiclass: .softmaxRegression
            case .regression: .ridge
            }
        }

        /// The tasks the model can do (its ``ModelKind``'s).
        public var tasks: [Task] { ModelKind(rawValue: rawValue)!.tasks }
    }

    /// A multilayer perceptron's settings (`model = "mlp"`), scikit-learn's MLPClassifier defaults.
    public struct MLP: Sendable, Equatable {
        public var hiddenLayers = [32]
        public var dropout = 0.0
        public var alpha = 1e-4
        public var learningRate = 1e-3
        public var batchSize = 200
        public var maxEpochs = 200
        public var patience = 10
        public var validationFraction = 0.1
        public init() {}
    }

    public var model: Model
    /// An external trainer's command (docs/trainers.md) instead of a built-in model; run in the job
    /// file's directory.
    public var command: [String]?
    /// Environment variables given to the external trainer (besides PATH, HOME, LANG, TMPDIR).
    public var environment: [String: String]
    /// L2 penalty: the objective is Σ log-loss + l2/2·‖w‖² (scikit-learn's `C = 1/l2`).
    public var l2: Double
    /// How much each class counts in the loss (imbalanced labels).
    public var classWeights: ClassWeights
    public var mlp: MLP
    public var maxIterations: Int
    public var seed: UInt64
    /// A full retrain uses the most recent `windowRows` rows of accepted batches.
    public var windowRows: Int
    /// Whether moderate drift may be handled by an incremental (warm-start) update.
    public var incremental: Bool
    /// Share of the parent's training window replayed in an incremental update.
    public var replayFraction: Double
    /// After this many incremental generations in a row, the next update is full.
    public var maxIncrementalGenerations: Int
    /// A full retrain uses only batches that arrived in the last `windowDays` days (nil = no limit).
    public var windowDays: Int?
    /// A training that runs longer than this (seconds) is stopped and its run fails.
    public var timeLimit: Double
}

public struct GateSettings: Sendable, Equatable {
    public var rules: [GateRule]
    /// The decision threshold for accuracy, precision, recall and F1: fixed, or chosen on
    /// validation rows held out of the training rows and recorded with the version.
    public var decisionThreshold: DecisionThreshold
    /// The fixed threshold, or 0.5 while a chosen one is not known yet.
    public var threshold: Double { decisionThreshold.fixedValue ?? 0.5 }
    /// Fewer evaluation rows than this fail the gate.
    public var minRows: Int
    /// A slice with fewer rows is reported and skipped, not judged.
    public var minSliceRows: Int
    /// Resamples of the paired bootstrap (seeded by training.seed, so a decision can be reproduced).
    public var resamples: Int
    /// What change rules do for a job's first version.
    public var firstVersion: Gate.FirstVersion

    public init(
        rules: [GateRule], threshold: Double = 0.5, minRows: Int = 30, minSliceRows: Int = 30, resamples: Int = 1000,
        firstVersion: Gate.FirstVersion = .skip, decisionThreshold: DecisionThreshold? = nil
    ) {
        self.rules = rules
        self.decisionThreshold = decisionThreshold ?? .fixed(threshold)
        self.minRows = minRows
        self.minSliceRows = minSliceRows
        self.resamples = resamples
        self.firstVersion = firstVersion
    }
}

public struct DeploySettings: Sendable, Equatable {
    /// Where the production model file is published (atomically replaced on each promotion).
    public var path: String
}
