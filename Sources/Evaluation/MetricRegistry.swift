/// The kind of model a metric applies to.
package enum MetricTask: String, Sendable, Codable, CaseIterable {
    case binary
    case multiclass
    case regression
}

/// Every metric a job file can name (snake_case, as written in job files).
package enum MetricName: String, Sendable, Codable, CaseIterable {
    case accuracy
    case balancedAccuracy = "balanced_accuracy"
    case precision
    case recall
    case f1
    case rocAUC = "roc_auc"
    case averagePrecision = "average_precision"
    case logLoss = "log_loss"
    case brier
    case macroPrecision = "macro_precision"
    case macroRecall = "macro_recall"
    case macroF1 = "macro_f1"
    case weightedPrecision = "weighted_precision"
    case weightedRecall = "weighted_recall"
    case weightedF1 = "weighted_f1"
    case ovrRocAUC = "ovr_roc_auc"
    case rmse
    case mae
    case r2
    case mape

    package var definition: MetricDefinition { MetricDefinition.all.first { $0.name == self }! }
}

/// A metric's tasks, direction and valid range (for validating gate bounds).
package struct MetricDefinition: Sendable, Equatable {
    package var name: MetricName
    /// The tasks the metric is defined for (`accuracy` and `log_loss` serve binary and multiclass).
    package var tasks: Set<MetricTask>
    package var higherIsBetter: Bool
    package var range: ClosedRange<Double>

    package init(name: MetricName, tasks: Set<MetricTask>, higherIsBetter: Bool, range: ClosedRange<Double>) {
        self.name = name
        self.tasks = tasks
        self.higherIsBetter = higherIsBetter
        self.range = range
    }

    package static let all: [MetricDefinition] = {
        let unit: ClosedRange<Double> = 0...1
        let nonNegative: ClosedRange<Double> = 0...Double.infinity
        func d(_ n: MetricName, _ t: Set<MetricTask>, _ up: Bool, _ r: ClosedRange<Double>) -> MetricDefinition {
            MetricDefinition(name: n, tasks: t, higherIsBetter: up, range: r)
        }
        return [
            d(.accuracy, [.binary, .multiclass], true, unit),
            d(.balancedAccuracy, [.binary], true, unit),
            d(.precision, [.binary], true, unit),
            d(.recall, [.binary], true, unit),
            d(.f1, [.binary], true, unit),
            d(.rocAUC, [.binary], true, unit),
            d(.averagePrecision, [.binary], true, unit),
            d(.logLoss, [.binary, .multiclass], false, nonNegative),
            d(.brier, [.binary], false, unit),
            d(.macroPrecision, [.multiclass], true, unit),
            d(.macroRecall, [.multiclass], true, unit),
            d(.macroF1, [.multiclass], true, unit),
            d(.weightedPrecision, [.multiclass], true, unit),
            d(.weightedRecall, [.multiclass], true, unit),
            d(.weightedF1, [.multiclass], true, unit),
            d(.ovrRocAUC, [.multiclass], true, unit),
            d(.rmse, [.regression], false, nonNegative),
            d(.mae, [.regression], false, nonNegative),
            d(.r2, [.regression], true, -Double.infinity...1),
            d(.mape, [.regression], false, nonNegative),
        ]
    }()

    /// The definition for a job-file name, or `nil` for an unknown name.
    package static func named(_ name: String) -> MetricDefinition? {
        MetricName(rawValue: name)?.definition
    }

    /// The metrics defined for a task, in registry order.
    package static func metrics(for task: MetricTask) -> [MetricDefinition] {
        all.filter { $0.tasks.contains(task) }
    }
}

/// The computed metrics of one task's evaluation.
package enum ComputedMetrics: Sendable, Equatable {
    case binary(BinaryScores)
    case multiclass(MulticlassMetrics)
    case regression(RegressionMetrics)

    package var task: MetricTask {
        switch self {
        case .binary: .binary
        case .multiclass: .multiclass
        case .regression: .regression
        }
    }

    /// The metric's value; `nil` when it is undefined on these rows or not a metric of this task.
    package func value(of metric: MetricName) -> Double? {
        switch self {
        case .binary(let m):
            switch metric {
            case .accuracy: m.accuracy
            case .balancedAccuracy: m.balancedAccuracy
            case .precision: m.precision
            case .recall: m.recall
            case .f1: m.f1
            case .rocAUC: m.rocAUC
            case .averagePrecision: m.averagePrecision
            case .logLoss: m.logLoss
            case .brier: m.brier
            default: nil
            }
        case .multiclass(let m):
            switch metric {
            case .accuracy: m.accuracy
            case .macroPrecision: m.macroPrecision
            case .macroRecall: m.macroRecall
            case .macroF1: m.macroF1
            case .weightedPrecision: m.weightedPrecision
            case .weightedRecall: m.weightedRecall
            case .weightedF1: m.weightedF1
            case .ovrRocAUC: m.ovrRocAUC
            case .logLoss: m.logLoss
            default: nil
            }
        case .regression(let m):
            switch metric {
            case .rmse: m.rmse
            case .mae: m.mae
            case .r2: m.r2
            case .mape: m.mape
            default: nil
            }
        }
    }

    /// The value for a job-file name (`nil` for an unknown name, too).
    package func value(of name: String) -> Double? {
        MetricName(rawValue: name).flatMap { value(of: $0) }
    }
}

extension ComputedMetrics {
    /// The number of evaluation rows.
    package var rows: Int {
        switch self {
        case .binary(let m): m.rows
        case .multiclass(let m): m.rows
        case .regression(let m): m.rows
        }
    }

    /// Every metric of the task by job-file name, undefined ones left out (the stored form).
    package var summary: MetricSummary {
        var values: [String: Double] = [:]
        for d in MetricDefinition.metrics(for: task) {
            if let v = value(of: d.name) { values[d.name.rawValue] = v }
        }
        if case .binary(let m) = self { values["positives"] = Double(m.positives) }
        return MetricSummary(task: task, rows: rows, values: values)
    }
}

/// One model's metrics on its evaluation rows as the registry stores them: a flat JSON object with
/// the task, the row count and each metric of the task by its job-file name (`{"task": "binary",
/// "rows": 240, "accuracy": 0.91, "roc_auc": 0.95, …}`); an undefined metric is left out. Records
/// written before the task was stored (binary jobs) read as binary.
package struct MetricSummary: Sendable, Equatable, Codable {
    package var task: MetricTask
    package var rows: Int
    /// Metric values by job-file name (and `positives` for binary).
    package var values: [String: Double]

    package init(task: MetricTask, rows: Int, values: [String: Double]) {
        self.task = task
        self.rows = rows
        self.values = values
    }

    package subscript(_ metric: MetricName) -> Double? { values[metric.rawValue] }

    /// The metrics a one-line listing shows for the task.
    package static func headline(for task: MetricTask) -> [MetricName] {
        switch task {
        case .binary: [.accuracy, .rocAUC, .f1]
        case .multiclass: [.accuracy, .macroF1, .logLoss]
        case .regression: [.rmse, .mae, .r2]
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    package init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        task = try c.decodeIfPresent(MetricTask.self, forKey: Key(stringValue: "task")) ?? .binary
        rows = try c.decode(Int.self, forKey: Key(stringValue: "rows"))
        values = [:]
        for key in c.allKeys where key.stringValue != "task" && key.stringValue != "rows" {
            if let v = try? c.decode(Double.self, forKey: key) { values[key.stringValue] = v }
        }
    }

    package func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(task, forKey: Key(stringValue: "task"))
        try c.encode(rows, forKey: Key(stringValue: "rows"))
        for (name, v) in values { try c.encode(v, forKey: Key(stringValue: name)) }
    }
}
