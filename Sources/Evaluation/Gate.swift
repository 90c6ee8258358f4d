/// One release-gate rule from a job file: a metric with a minimum and/or an allowed drop versus
/// the model in production.
public struct GateRule: Sendable, Codable, Equatable {
    public var metric: Metric
    /// The candidate's value must be at least this (inclusive).
    public var min: Double?
    /// The candidate may be at most this much below production (`production − candidate ≤ maxDrop`).
    public var maxDrop: Double?

    public init(metric: Metric, min: Double? = nil, maxDrop: Double? = nil) {
        self.metric = metric
        self.min = min
        self.maxDrop = maxDrop
    }
}

/// The outcome of one rule, as recorded in the registry and shown by `updater runs`.
public struct RuleResult: Sendable, Codable, Equatable {
    public var index: Int
    /// The metric's name, or `evaluation_rows` for the gate's minimum number of rows.
    public var metric: String
    public var candidate: Double?
    public var baseline: Double?
    public var passed: Bool
    public var reason: String

    public init(index: Int, metric: String, candidate: Double? = nil, baseline: Double? = nil, passed: Bool, reason: String) {
        self.index = index
        self.metric = metric
        self.candidate = candidate
        self.baseline = baseline
        self.passed = passed
        self.reason = reason
    }
}

/// The release gate: every rule is evaluated and recorded; the candidate passes only if all pass.
public enum Gate {
    /// What the candidate is compared with.
    public enum Baseline: Sendable {
        /// No model in production (a job's first version): drop rules are skipped.
        case none
        /// The production model's metrics on the same evaluation rows.
        case production(BinaryMetrics)
        /// A model is in production but could not be scored on these rows: drop rules fail.
        case unavailable(String)

        var metrics: BinaryMetrics? {
            if case .production(let m) = self { return m }
            return nil
        }
    }

    /// Evaluates `rules` on the candidate's and the production model's metrics, both computed on the
    /// same evaluation rows. Without a model in production drop rules are skipped (recorded as passed
    /// with that reason); with one that cannot be scored they fail. Fewer than `minRows` rows add a
    /// failing `evaluation_rows` result: no decision is made on too little evidence.
    public static func evaluate(
        _ rules: [GateRule], candidate: BinaryMetrics, baseline: Baseline, minRows: Int = 1
    ) -> [RuleResult] {
        var results = rules.enumerated().map { index, rule in
            evaluate(rule, index: index, candidate: candidate, baseline: baseline)
        }
        if candidate.rows < minRows {
            results.append(RuleResult(
                index: results.count, metric: "evaluation_rows", candidate: Double(candidate.rows), baseline: nil,
                passed: false, reason: "only \(candidate.rows) evaluation rows; at least \(minRows) are needed"))
        }
        return results
    }

    static func evaluate(_ rule: GateRule, index: Int, candidate: BinaryMetrics, baseline: Baseline) -> RuleResult {
        let c = candidate.value(of: rule.metric)
        let b = baseline.metrics?.value(of: rule.metric)
        var failures: [String] = []
        var notes: [String] = []
        guard let c else {
            return RuleResult(
                index: index, metric: rule.metric.rawValue, candidate: nil, baseline: b, passed: false,
                reason: "cannot be computed on the evaluation rows (they hold one class only)")
        }
        if let min = rule.min {
            if c >= min {
                notes.append("\(show(c)) ≥ min \(show(min))")
            } else {
                failures.append("\(show(c)) < min \(show(min))")
            }
        }
        if let maxDrop = rule.maxDrop {
            if case .none = baseline {
                notes.append("no model in production: drop not checked")
            } else if case .unavailable(let why) = baseline {
                failures.append("drop not checkable: \(why)")
            } else if let b {
                let drop = b - c
                if drop <= maxDrop + 1e-12 {
                    notes.append("drop \(show(drop)) ≤ max_drop \(show(maxDrop)) vs production \(show(b))")
                } else {
                    failures.append("drop \(show(drop)) > max_drop \(show(maxDrop)) vs production \(show(b))")
                }
            } else {
                failures.append("production's \(rule.metric.rawValue) cannot be computed: drop not checkable")
            }
        }
        let passed = failures.isEmpty
        return RuleResult(
            index: index, metric: rule.metric.rawValue, candidate: c, baseline: b, passed: passed,
            reason: (passed ? notes : failures).joined(separator: "; "))
    }

    static func show(_ x: Double) -> String {
        let r = (x * 10000).rounded() / 10000
        return String(r)
    }
}
