import Foundation
import Support
import Webhooks
import Drift
import Evaluation
import Training

/// A validated retrain job, decoded from `Jobs/<name>.toml`. Paths are resolved against the job
/// file's directory. See docs/jobs.md for every key, its default and meaning.
package struct JobConfig: Sendable, Equatable {
    /// The job's name: its file name without `.toml`; matches `[a-z0-9][a-z0-9_-]*`.
    package var name: String
    /// The job file's path as it was given.
    package var file: String
    /// SHA-256 (hex) of the job file's bytes: recorded with every run and version.
    package var fileHash: String
    package var description: String
    package var data: DataSettings
    package var schedule: ScheduleSettings
    package var drift: DriftSettings
    package var training: TrainingSettings
    package var gate: GateSettings
    package var deploy: DeploySettings
    /// The job's own webhook endpoints (`[[webhooks]]`), named `<job>/<name>`.
    package var webhooks: [WebhookEndpoint] = []
}

package struct DataSettings: Sendable, Equatable {
    /// Directory where new CSV batches arrive.
    package var incoming: String
    package var label: String
    /// The label value that is the positive class; `nil` = the greater of the two in sorted order.
    package var positiveLabel: String?
    /// What the job's models predict: two classes (default), more classes, or numbers.
    package var task: Task
    /// Feature columns; `nil` = every column except the label and `exclude`.
    package var features: [String]?
    package var exclude: [String]
    package var categorical: [String]
    package var holdout: Holdout
    /// A file is read only once its modification time is at least this old (seconds).
    package var settleSeconds: Double
    /// What a row with a bad value does to its batch.
    package var badRows: BadRows = .reject
    /// The column that identifies a row across files (labels arriving later join by it); never a
    /// feature. With it, a row's holdout side is a function of its id.
    package var id: String? = nil
    /// Directory where label files (`ID,LABEL[,time]`) for earlier rows arrive; needs `id`.
    package var labels: String? = nil

    package enum BadRows: Sendable, Equatable {
        /// The whole batch is rejected, naming the row (the default).
        case reject
        /// The row is left out, counted, reported and kept beside the batch, unless a batch has more
        /// bad rows than `max` (a count when ≥ 1, else a share of its rows): then it is rejected.
        case skip(max: Double)

        /// Reading a batch again that a run already read: its bad rows were left out then (or it
        /// had none), so they are left out again, whatever their number.
        package static let asBefore = BadRows.skip(max: .infinity)

        /// How many bad rows a batch of `rows` rows may have.
        package func limit(rows: Int) -> Int {
            guard case .skip(let max) = self else { return 0 }
            if max >= 9e18 { return Int.max }
            return max >= 1 ? Int(max) : Int((max * Double(rows)).rounded(.down))
        }
    }

    package enum Holdout: Sendable, Equatable {
        /// This fraction of each run's new rows is held out for evaluation.
        case fraction(Double)
        /// A fixed evaluation file.
        case file(String)
    }
}

/// When `updater run` starts a job's cycle.
package struct ScheduleSettings: Sendable, Equatable {
    /// Seconds from the end of one cycle to the next; nil when `cron` is set.
    package var interval: Double?
    /// A cron expression, read in `timeZone`; instead of `interval`.
    package var cron: CronSchedule?
    /// The job file's `timezone`; nil: the system's.
    package var zone: TimeZone?
    /// The zone cron times are read in: `zone`, else the system's, looked up only when asked (by a
    /// cron schedule). Looking up the system's zone loads ICU (about 4.6 MB resident, issue 18),
    /// which a daemon whose jobs all run on an interval never needs.
    package var timeZone: TimeZone {
        get { zone ?? .current }
        set { zone = newValue }
    }
    /// Also run when new files appear in `data.incoming` (inotify, else polling), `debounce` seconds
    /// after the last one, so a burst of files makes one run. `interval` / `cron` is then the
    /// "at the latest".
    package var onNewData: Bool
    package var debounce: Double

    package init(interval: Double? = 3600, cron: CronSchedule? = nil, timeZone: TimeZone? = nil, onNewData: Bool = false, debounce: Double = 5) {
        self.interval = interval
        self.cron = cron
        self.zone = timeZone
        self.onNewData = onNewData
        self.debounce = debounce
    }

    /// When the next scheduled cycle is due after one that ended at `end`.
    package func next(after end: Date) -> Date {
        if let cron { return cron.next(after: end, in: timeZone) ?? .distantFuture }
        return end.addingTimeInterval(interval ?? 3600)
    }
}

package struct DriftSettings: Sendable, Equatable {
    /// Feature drift: methods, thresholds, per-column settings, correction, severity.
    package var policy: DriftPolicy
    /// Concept drift from the production model's performance on labelled new rows; `nil` = off.
    package var performance: Performance?
    /// What an estimated fall of production's performance on rows without labels does (binary
    /// jobs): sent as a `performance.estimated_drop` event, also a retrain request, or nothing.
    package var estimatedDrop: EstimatedDrop = .alert
    /// Online detectors on the production model's per-row errors.
    package var adwin: OnlineUse
    package var pageHinkley: OnlineUse

    package struct Performance: Sendable, Equatable {
        package enum Metric: String, Sendable, Equatable {
            /// Classification: the share of rows classified right.
            case accuracy
            /// Regression: the root mean squared error.
            case rmse
        }
        package var metric: Metric
        /// Smallest worsening that counts: a fall of accuracy (points), or a relative rise of RMSE.
        package var minDrop: Double
        /// Significance level of the one-sided test.
        package var pValue: Double

        package init(metric: Metric = .accuracy, minDrop: Double, pValue: Double) {
            self.metric = metric
            self.minDrop = minDrop
            self.pValue = pValue
        }

        /// The defaults for a task: accuracy falling 0.02, or RMSE rising 10 %, at p ≤ 0.01.
        package static func defaults(for task: Task) -> Performance {
            task == .regression ? .init(metric: .rmse, minDrop: 0.1, pValue: 0.01) : .init(metric: .accuracy, minDrop: 0.02, pValue: 0.01)
        }
    }

    package enum EstimatedDrop: String, Sendable, Equatable, CaseIterable {
        case alert, retrain, off
    }

    package enum OnlineUse: String, Sendable, Equatable, CaseIterable {
        /// A detection is concept drift.
        case decisive
        /// Run and report only.
        case report
        case off
    }
}

package struct TrainingSettings: Sendable, Equatable {
    package enum Model: String, Sendable, Equatable, CaseIterable {
        case logisticRegression = "logistic_regression"
        case softmaxRegression = "softmax_regression"
        case ridge
        case mlp

        /// The model a task trains when the job file names none.
        package static func `default`(for task: Task) -> Model {
            switch task {
            case .binary: .logisticRegression
            case .multiclass: .softmaxRegression
            case .regression: .ridge
            }
        }

        /// The tasks the model can do (its ``ModelKind``'s).
        package var tasks: [Task] { ModelKind(rawValue: rawValue)!.tasks }
    }

    /// A multilayer perceptron's settings (`model = "mlp"`), scikit-learn's MLPClassifier defaults.
    package struct MLP: Sendable, Equatable {
        package var hiddenLayers = [32]
        package var dropout = 0.0
        package var alpha = 1e-4
        package var learningRate = 1e-3
        package var batchSize = 200
        package var maxEpochs = 200
        package var patience = 10
        package var validationFraction = 0.1
        package init() {}
    }

    package var model: Model
    /// An external trainer's command (docs/trainers.md) instead of a built-in model; run in the job
    /// file's directory.
    package var command: [String]?
    /// The trainer contract the external trainer implements (docs/trainers.md): 1 or 2.
    package var contract = 1
    /// Environment variables given to the external trainer (besides PATH, HOME, LANG, TMPDIR).
    package var environment: [String: String]
    /// L2 penalty: the objective is Σ log-loss + l2/2·‖w‖² (scikit-learn's `C = 1/l2`).
    package var l2: Double
    /// How much each class counts in the loss (imbalanced labels).
    package var classWeights: ClassWeights
    package var mlp: MLP
    package var maxIterations: Int
    package var seed: UInt64
    /// A full retrain uses the most recent `windowRows` rows of accepted batches.
    package var windowRows: Int
    /// Whether moderate drift may be handled by an incremental (warm-start) update.
    package var incremental: Bool
    /// Share of the parent's training window replayed in an incremental update.
    package var replayFraction: Double
    /// After this many incremental generations in a row, the next update is full.
    package var maxIncrementalGenerations: Int
    /// After a change of concept, a new candidate trains each time the rows since the change have
    /// grown by this factor over the last candidate's, until `windowRows` (a learning curve's steps).
    package var warmUpGrowth: Double = 2
    /// A full retrain uses only batches that arrived in the last `windowDays` days (nil = no limit).
    package var windowDays: Int?
    /// A training that runs longer than this (seconds) is stopped and its run fails.
    package var timeLimit: Double
}

package struct GateSettings: Sendable, Equatable {
    package var rules: [GateRule]
    /// The decision threshold for accuracy, precision, recall and F1: fixed, or chosen on
    /// validation rows held out of the training rows and recorded with the version.
    package var decisionThreshold: DecisionThreshold
    /// The fixed threshold, or 0.5 while a chosen one is not known yet.
    package var threshold: Double { decisionThreshold.fixedValue ?? 0.5 }
    /// Fewer evaluation rows than this fail the gate.
    package var minRows: Int
    /// A slice with fewer rows is reported and skipped, not judged.
    package var minSliceRows: Int
    /// Resamples of the paired bootstrap (seeded by training.seed, so a decision can be reproduced).
    package var resamples: Int
    /// What change rules do for a job's first version.
    package var firstVersion: Gate.FirstVersion

    package init(
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

package struct DeploySettings: Sendable, Equatable {
    /// Where the production model file is published (atomically replaced on each promotion).
    package var path: String
    /// The formats published: updater's own file, ONNX, or both (updater's at `path`, ONNX beside it).
    package var formats: [DeployFormat] = [.updater]
    /// Run after every change of the published model, with what changed in its environment.
    package var command: [String]? = nil
    /// The command's time limit, in seconds.
    package var commandTimeout: Double = 60

    package init(path: String, formats: [DeployFormat] = [.updater], command: [String]? = nil, commandTimeout: Double = 60) {
        (self.path, self.formats, self.command, self.commandTimeout) = (path, formats, command, commandTimeout)
    }

    /// Where each format is published: `path` for the only format, or updater's at `path` and the
    /// ONNX file beside it with the extension `.onnx` (`churn.model` → `churn.onnx`).
    package var files: [(format: DeployFormat, path: String)] {
        guard formats.count > 1 else { return [(formats.first ?? .updater, path)] }
        return formats.map { f in (f, f == .updater ? path : Self.onnxPath(beside: path)) }
    }

    static func onnxPath(beside path: String) -> String {
        let name = Files.baseName(path)
        let stem = name.lastIndex(of: ".").map { i in i == name.startIndex ? name : String(name[..<i]) } ?? name
        return Files.directory(of: path) + "/" + stem + ".onnx"
    }
}

/// A format of the published model.
package enum DeployFormat: String, Sendable, Equatable, CaseIterable {
    /// updater's model file (docs/artifact.md), or an external trainer's directory.
    case updater
    /// ONNX with the preprocessing inside (docs/artifact.md, "ONNX"); built-in models only.
    case onnx
}

extension JobConfig {
    /// What is valid but probably not meant: `updater validate` prints these as warnings and the
    /// daemon logs them when it loads the job.
    package var warnings: [String] {
        var out: [String] = []
        if gate.rules.isEmpty {
            out.append(
                "gate: no [[gate.rules]], so every candidate with \(gate.minRows) evaluation rows is promoted, however poor; "
                    + "add a rule such as metric = \"\(data.task == .regression ? "rmse" : "accuracy")\" and change = -0.01 (at most 0.01 worse than production)")
        }
        return out
    }
}
