import Evaluation
import JobFiles
import Tabular

/// Judges a candidate with the job's gate: every rule on all evaluation rows, or on each value of
/// its slice, against the model in production scored on the very same rows; change rules with a
/// test judge the worst bound of the interval of the difference (seeded, so reproducible).
struct GateEvaluation {
    let job: JobConfig
    let evalTable: DataTable
    let labels: [Bool]
    let candidateScores: [Double]
    /// Each model's own decision threshold (a chosen one is recorded with its version).
    let candidateThreshold: Double
    /// Production's scores on the same rows; nil without a model in production or when it cannot be scored.
    let productionScores: [Double]?
    let productionThreshold: Double
    /// Why production could not be scored, when a model is in production.
    let productionProblem: String?
    /// Both models' metrics on all evaluation rows, computed once: rules without a slice judge
    /// these, and the cycle records them with the version.
    let candidateMetrics: BinaryScores
    let productionMetrics: BinaryScores?

    init(
        job: JobConfig, evalTable: DataTable, labels: [Bool], candidateScores: [Double], candidateThreshold: Double,
        productionScores: [Double]?, productionThreshold: Double, productionProblem: String?
    ) {
        self.job = job
        self.evalTable = evalTable
        self.labels = labels
        self.candidateScores = candidateScores
        self.candidateThreshold = candidateThreshold
        self.productionScores = productionScores
        self.productionThreshold = productionThreshold
        self.productionProblem = productionProblem
        candidateMetrics = BinaryScores(labels: labels, scores: candidateScores, threshold: candidateThreshold)
        productionMetrics = productionScores.map { BinaryScores(labels: labels, scores: $0, threshold: productionThreshold) }
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
        let y = rows.map { $0.map { labels[$0] } } ?? labels
        var c = rows.map { $0.map { candidateScores[$0] } } ?? candidateScores
        var p = productionScores.map { scores in rows.map { $0.map { scores[$0] } } ?? scores }
        let candidate = ComputedMetrics.binary(
            rows == nil ? candidateMetrics : BinaryScores(labels: y, scores: c, threshold: candidateThreshold))
        let baseline: Gate.Baseline =
            if let p {
                .production(.binary(
                    rows == nil ? productionMetrics! : BinaryScores(labels: y, scores: p, threshold: productionThreshold)))
            } else if let productionProblem { .unavailable(productionProblem) } else { .none }
        return Gate.evaluate(rule, index: index, slice: slice, candidate: candidate, baseline: baseline, firstVersion: job.gate.firstVersion) {
            guard var p, let test = rule.test else { return nil }
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
}
