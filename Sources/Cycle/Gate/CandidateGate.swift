import Drift
import Evaluation
import JobFiles
import Tabular
import Training

/// The evaluation rows' true outcomes as the job's task sees them, and how a model's output on those
/// rows becomes the task's metrics. An output is flat: the positive class's probability per row
/// (binary), the probability of each of `classes` classes per row, row-major (multiclass), or the
/// predicted value per row (regression).
enum Truth {
    case binary([Bool])
    case multiclass([Int32], classes: Int)
    case regression([Double])

    var rows: Int {
        switch self {
        case .binary(let y): y.count
        case .multiclass(let y, _): y.count
        case .regression(let y): y.count
        }
    }

    /// Outputs per row.
    var width: Int {
        if case .multiclass(_, let k) = self { return k }
        return 1
    }

    /// The truth of the rows at `indexes`, in that order.
    func selecting(_ indexes: [Int]) -> Truth {
        switch self {
        case .binary(let y): .binary(indexes.map { y[$0] })
        case .multiclass(let y, let k): .multiclass(indexes.map { y[$0] }, classes: k)
        case .regression(let y): .regression(indexes.map { y[$0] })
        }
    }

    /// A model's output on the rows at `indexes`, in that order.
    func selecting(output: [Double], _ indexes: [Int]) -> [Double] {
        let w = width
        if w == 1 { return indexes.map { output[$0] } }
        var out: [Double] = []
        out.reserveCapacity(indexes.count * w)
        for r in indexes { out.append(contentsOf: output[r * w..<(r + 1) * w]) }
        return out
    }

    /// The task's metrics of `output` (`threshold`: the binary decision threshold); `for` a single
    /// metric, multiclass skips the one-vs-rest rankings unless that metric needs them.
    func metrics(_ output: [Double], threshold: Double, for metric: MetricName? = nil) -> ComputedMetrics {
        switch self {
        case .binary(let y): .binary(BinaryScores(labels: y, scores: output, threshold: threshold))
        case .multiclass(let y, let k):
            .multiclass(MulticlassMetrics(labels: y, probabilities: output, classes: k, rankings: metric.map { $0 == .ovrRocAUC } ?? true))
        case .regression(let y): .regression(RegressionMetrics(targets: y, predictions: output))
        }
    }
}

/// Judges a candidate with the job's gate: every rule on all evaluation rows, or on each value of
/// its slice, against the model in production scored on the very same rows; change rules with a
/// test judge the worst bound of the interval of the difference (seeded, so reproducible). A
/// candidate the policy trained after a suspected change of concept must also beat production on
/// those rows (``confirmation(margin:)``): that is what confirms the change.
struct CandidateGate {
    let job: JobConfig
    let evalTable: DataTable
    let truth: Truth
    /// The candidate's output on the evaluation rows (see ``Truth``).
    let candidateOutput: [Double]
    /// Each model's own decision threshold (binary; a chosen one is recorded with its version).
    let candidateThreshold: Double
    /// Production's output on the same rows; nil without a model in production or when it cannot be scored.
    let productionOutput: [Double]?
    let productionThreshold: Double
    /// Why production could not be scored, when a model is in production.
    let productionProblem: String?
    /// Both models' metrics on all evaluation rows, computed once: rules without a slice judge
    /// these, and the cycle records them with the version.
    let candidateMetrics: ComputedMetrics
    let productionMetrics: ComputedMetrics?

    init(
        job: JobConfig, evalTable: DataTable, truth: Truth, candidateOutput: [Double], candidateThreshold: Double,
        productionOutput: [Double]?, productionThreshold: Double, productionProblem: String?
    ) {
        self.job = job
        self.evalTable = evalTable
        self.truth = truth
        self.candidateOutput = candidateOutput
        self.candidateThreshold = candidateThreshold
        self.productionOutput = productionOutput
        self.productionThreshold = productionThreshold
        self.productionProblem = productionProblem
        candidateMetrics = truth.metrics(candidateOutput, threshold: candidateThreshold)
        productionMetrics = productionOutput.map { truth.metrics($0, threshold: productionThreshold) }
    }

    /// The gate's decision.
    struct Verdict {
        var results: [RuleResult]
        var passed: Bool { results.allSatisfy(\.passed) }
        /// The failed rules, for the run's error and the log.
        var failures: String {
            results.filter { !$0.passed }.map { "\($0.metric)\($0.slice.map { "[\($0)]" } ?? ""): \($0.reason)" }.joined(separator: "; ")
        }
        /// Whether the candidate confirmed a suspected change (nil: it was not trained after one).
        var confirmed: Bool?
    }

    /// Every rule's result, plus the policy's confirmation when `confirmChange` gives its margin.
    func verdict(confirmChange: DriftSettings.Performance?) -> Verdict {
        var all = results()
        var confirmed: Bool? = nil
        if let settings = confirmChange {
            let r = confirmation(settings, index: job.gate.rules.count + 1)
            all.append(r)
            confirmed = r.passed
        }
        return Verdict(results: all, confirmed: confirmed)
    }

    /// The freshness policy's condition on a candidate trained on the rows after a suspected change
    /// of concept: it must beat production on those rows' held-out part by half the smallest fall
    /// that counts (`drift.performance.min_drop`; for RMSE, relative). A model fitted to the new
    /// rows that does no better than production means the fall was not a change of concept (inputs
    /// that moved into harder territory, say), so production stays and the change is not confirmed.
    func confirmation(_ settings: DriftSettings.Performance, index: Int) -> RuleResult {
        let name = settings.metric.rawValue
        let metric = MetricName(rawValue: name)!
        let candidate = candidateMetrics.value(of: metric) ?? .nan
        let rule = "freshness policy: a candidate trained after a suspected change must beat production on the rows after it"
        guard let production = productionMetrics?.value(of: metric) ?? nil, !production.isNaN, !candidate.isNaN else {
            return RuleResult(index: index, metric: name, candidate: candidate.isNaN ? nil : candidate, passed: true, reason: "\(rule): production cannot be compared, the change stands")
        }
        let margin = settings.minDrop / 2
        let gain = settings.metric == .rmse ? (production > 0 ? 1 - candidate / production : 0) : candidate - production
        let passed = gain >= margin - 1e-12
        let shown = settings.metric == .rmse ? "\(round4(gain * 100))% lower RMSE" : "by \(round4(gain))"
        return RuleResult(
            index: index, metric: name, candidate: candidate, baseline: production, difference: candidate - production, bound: gain,
            passed: passed,
            reason: "\(rule) (\(shown); needs \(settings.metric == .rmse ? "\(round4(margin * 100))%" : "\(round4(margin))")): "
                + (passed ? "the change is confirmed" : "not confirmed, production stays"))
    }

    func results() -> [RuleResult] {
        var results: [RuleResult] = []
        let gate = job.gate
        for (index, rule) in gate.rules.enumerated() {
            guard let slice = rule.slice else {
                results.append(judge(rule, index: index, rows: nil, slice: nil))
                continue
            }
            guard case .categorical(let codes, let levels)? = evalTable.column(slice.column) else {
                results.append(RuleResult(
                    index: index, metric: rule.metric.rawValue, slice: slice.column, passed: false,
                    reason: "slice column \"\(slice.column)\" is not a categorical column of the evaluation rows"))
                continue
            }
            var wanted: [String]
            if let value = slice.value {
                wanted = [value]
            } else {
                wanted = Set(codes.filter { $0 >= 0 }.map { levels[Int($0)] }).sorted()
            }
            for value in wanted {
                let code = levels.firstIndex(of: value).map(Int32.init) ?? -2
                let rows = codes.indices.filter { codes[$0] == code }
                let name = "\(slice.column)=\(value)"
                if rows.count < gate.minSliceRows {
                    results.append(RuleResult(
                        index: index, metric: rule.metric.rawValue, slice: name, passed: true, skipped: true,
                        reason: "skipped: \(rows.count) evaluation rows in this slice, gate.min_slice_rows is \(gate.minSliceRows)"))
                } else {
                    results.append(judge(rule, index: index, rows: rows, slice: name))
                }
            }
        }
        if let rows = Gate.rowsResult(index: gate.rules.count, rows: evalTable.rowCount, minRows: gate.minRows) {
            results.append(rows)
        }
        return results
    }

    /// Metrics that do not depend on the decision threshold.
    static let thresholdFree: Set<MetricName> = [.rocAUC, .averagePrecision, .logLoss, .brier]

    /// One rule on the given rows (nil = all).
    func judge(_ rule: GateRule, index: Int, rows: [Int]?, slice: String?) -> RuleResult {
        let t = rows.map { truth.selecting($0) } ?? truth
        let c = rows.map { truth.selecting(output: candidateOutput, $0) } ?? candidateOutput
        let p = productionOutput.map { output in rows.map { truth.selecting(output: output, $0) } ?? output }
        let candidate = rows == nil ? candidateMetrics : t.metrics(c, threshold: candidateThreshold)
        let baseline: Gate.Baseline =
            if let p { .production(rows == nil ? productionMetrics! : t.metrics(p, threshold: productionThreshold)) }
            else if let productionProblem { .unavailable(productionProblem) } else { .none }
        return Gate.evaluate(rule, index: index, slice: slice, candidate: candidate, baseline: baseline, firstVersion: job.gate.firstVersion) {
            guard let p, let test = rule.test else { return nil }
            guard case .binary(let y) = t else {
                // Other tasks: the metric of both models on each resample's rows (validate allows only bootstrap).
                let i = PairedBootstrap.interval(rows: t.rows, resamples: job.gate.resamples, level: rule.level, seed: job.training.seed) { indexes in
                    let r = t.selecting(indexes)
                    return (
                        r.metrics(t.selecting(output: c, indexes), threshold: candidateThreshold, for: rule.metric).value(of: rule.metric),
                        r.metrics(t.selecting(output: p, indexes), threshold: productionThreshold, for: rule.metric).value(of: rule.metric))
                }
                return i.lower.isNaN || i.upper.isNaN ? nil : (i.lower, i.upper)
            }
            return binaryInterval(rule, test: test, labels: y, candidate: c, production: p)
        }
    }

    /// The interval of a binary rule's difference by its test.
    func binaryInterval(_ rule: GateRule, test: GateRule.Test, labels y: [Bool], candidate: [Double], production: [Double]) -> (Double, Double)? {
        var c = candidate, p = production
        // The two models may have different thresholds: for a metric that depends on one, each
        // model's decisions (0 or 1) are resampled, judged at 0.5.
        var threshold = candidateThreshold
        if candidateThreshold != productionThreshold, !Self.thresholdFree.contains(rule.metric) {
            c = c.map { $0 >= candidateThreshold ? 1 : 0 }
            p = p.map { $0 >= productionThreshold ? 1 : 0 }
            threshold = 0.5
        }
        switch test {
        case .delong:
            guard let d = DeLong.test(labels: y, candidate: c, production: p, level: rule.level) else { return nil }
            return (d.lower, d.upper)
        case .bootstrap:
            let i: DifferenceInterval
            if let fast = Metric(rawValue: rule.metric.rawValue) {
                i = PairedBootstrap.interval(
                    for: fast, labels: y, candidate: c, production: p, threshold: threshold, resamples: job.gate.resamples,
                    level: rule.level, seed: job.training.seed)
            } else {
                i = PairedBootstrap.interval(
                    labels: y, candidate: c, production: p,
                    metric: { l, s in ComputedMetrics.binary(BinaryScores(labels: l, scores: s, threshold: threshold)).value(of: rule.metric) },
                    resamples: job.gate.resamples, level: rule.level, seed: job.training.seed)
            }
            return i.lower.isNaN || i.upper.isNaN ? nil : (i.lower, i.upper)
        }
    }
}

extension Target {
    /// The truth of `table`'s rows for this target; throws naming the row of a missing label or of a
    /// class the target does not know.
    func truth(_ table: DataTable) throws -> Truth {
        switch task {
        case .binary: .binary(try encodeClasses(table).map { $0 == 1 })
        case .multiclass: .multiclass(try encodeClasses(table), classes: classes.count)
        case .regression: .regression(try encodeValues(table))
        }
    }

    /// "classes a, b, c of label" or "numbers of label", for messages.
    var summary: String {
        task == .regression
            ? "numbers (\(column))"
            : "\(task.rawValue) classes \(classes.prefix(10).joined(separator: ", "))\(classes.count > 10 ? ", …" : "") of \(column)"
    }

    /// The column a model's output on rows is profiled as, for prediction drift: the positive
    /// class's probability (binary), the predicted class (multiclass), the predicted value (regression).
    func predictionColumn(_ output: [Double]) -> Column {
        guard task == .multiclass else { return .numeric(output) }
        let predicted = MulticlassMetrics.predictions(probabilities: output, classes: classes.count)
        return .categorical(codes: predicted, levels: classes)
    }
}

extension Model {
    /// The model's output on rows, as ``Truth`` reads it (binary: the positive class's probability
    /// per row; multiclass: each class's, row by row; regression: the values).
    package func output(_ table: DataTable) throws -> [Double] {
        if target.task == .binary { return try positiveProbabilities(table) }
        switch try predict(table) {
        case .probabilities(_, let values), .values(let values): return values
        }
    }
}
