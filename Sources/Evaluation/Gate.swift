/// One release-gate rule from a job file, as TFMA's thresholds but judged against the model in
/// production: a value range, and a change versus production as a signed absolute and/or relative
/// delta (negative = allowed regression, positive = required improvement), in the metric's
/// direction; optionally on a slice, and optionally on the worst bound of a confidence interval of
/// the difference instead of the point estimate.
package struct GateRule: Sendable, Codable, Equatable {
    package enum Test: String, Sendable, Codable, CaseIterable {
        /// Seeded paired percentile bootstrap of the difference (candidate and production resampled together).
        case bootstrap
        /// DeLong's test for two correlated ROC-AUCs (roc_auc only).
        case delong
    }

    /// A rule on the rows whose categorical `column` equals `value`, or on each value of the column.
    package struct Slice: Sendable, Codable, Equatable {
        package var column: String
        package var value: String?
        package init(column: String, value: String? = nil) {
            self.column = column
            self.value = value
        }
    }

    package var metric: MetricName
    /// Inclusive bounds on the candidate's value.
    package var min: Double?
    package var max: Double?
    /// `direction · (candidate − production) ≥ change` (direction +1 when higher is better).
    package var change: Double?
    /// `direction · (candidate − production) / |production| ≥ relativeChange`.
    package var relativeChange: Double?
    /// With a test, the change rules use the interval's worst bound at `level`.
    package var test: Test?
    package var level: Double
    package var slice: Slice?

    package init(
        metric: MetricName, min: Double? = nil, max: Double? = nil, change: Double? = nil, relativeChange: Double? = nil,
        test: Test? = nil, level: Double = 0.95, slice: Slice? = nil
    ) {
        self.metric = metric
        self.min = min
        self.max = max
        self.change = change
        self.relativeChange = relativeChange
        self.test = test
        self.level = level
        self.slice = slice
    }

    /// Whether the rule compares with the model in production.
    package var hasChangeRule: Bool { change != nil || relativeChange != nil }

    package var higherIsBetter: Bool { metric.definition.higherIsBetter }
}

/// The outcome of one rule (on one slice), as recorded in the registry and shown by `updater runs`.
package struct RuleResult: Sendable, Codable, Equatable {
    package var index: Int
    /// The metric's name, or `evaluation_rows` for the gate's minimum number of rows.
    package var metric: String
    /// `column=value` for a slice, nil for all rows.
    package var slice: String?
    package var candidate: Double?
    package var baseline: Double?
    package var difference: Double?
    /// The interval of the difference, when the rule has a test.
    package var lower: Double?
    package var upper: Double?
    /// The value the change rule was judged on (the difference, or the interval's worst bound).
    package var bound: Double?
    package var passed: Bool
    /// True when a slice had too few rows and the rule was not judged there.
    package var skipped: Bool
    package var reason: String

    package init(
        index: Int, metric: String, slice: String? = nil, candidate: Double? = nil, baseline: Double? = nil,
        difference: Double? = nil, lower: Double? = nil, upper: Double? = nil, bound: Double? = nil, passed: Bool,
        skipped: Bool = false, reason: String
    ) {
        self.index = index
        self.metric = metric
        self.slice = slice
        self.candidate = candidate
        self.baseline = baseline
        self.difference = difference
        self.lower = lower
        self.upper = upper
        self.bound = bound
        self.passed = passed
        self.skipped = skipped
        self.reason = reason
    }
}

/// The release gate: every rule is evaluated and recorded; the candidate passes only if all pass.
package enum Gate {
    /// What the candidate is compared with.
    package enum Baseline: Sendable {
        /// No model in production (a job's first version).
        case none
        /// The production model's metrics on the same evaluation rows.
        case production(ComputedMetrics)
        /// A model is in production but could not be scored on these rows: change rules fail.
        case unavailable(String)

        var metrics: ComputedMetrics? {
            if case .production(let m) = self { return m }
            return nil
        }
    }

    /// What a job's first version does with change rules.
    package enum FirstVersion: String, Sendable, Codable, CaseIterable {
        /// Change rules are skipped (recorded as passed with that reason); value rules still apply.
        case skip
        /// Change rules fail: a first version must be promoted by hand.
        case fail
    }

    /// Judges one rule on one set of rows. `interval` gives the test's interval of the difference when
    /// the rule has a test (nil when it cannot be computed).
    package static func evaluate(
        _ rule: GateRule, index: Int, slice: String? = nil, candidate: ComputedMetrics, baseline: Baseline,
        firstVersion: FirstVersion = .skip, interval: () -> (lower: Double, upper: Double)? = { nil }
    ) -> RuleResult {
        let name = rule.metric.rawValue
        var result = RuleResult(index: index, metric: name, slice: slice, passed: false, reason: "")
        guard let c = candidate.value(of: rule.metric) else {
            result.reason = "\(name) cannot be computed on the evaluation rows (for example, they hold one class only)"
            return result
        }
        result.candidate = c
        // Production's value on the same rows is recorded for every rule, for the people reading it.
        result.baseline = baseline.metrics?.value(of: rule.metric)
        var failures: [String] = []
        var notes: [String] = []
        if let min = rule.min {
            if c >= min { notes.append("\(show(c)) ≥ min \(show(min))") } else { failures.append("\(show(c)) < min \(show(min))") }
        }
        if let max = rule.max {
            if c <= max { notes.append("\(show(c)) ≤ max \(show(max))") } else { failures.append("\(show(c)) > max \(show(max))") }
        }
        if rule.hasChangeRule {
            switch baseline {
            case .none:
                if firstVersion == .skip {
                    notes.append("no model in production: change not checked")
                } else {
                    failures.append("no model in production and gate.first_version = \"fail\": promote the first version by hand")
                }
            case .unavailable(let why):
                failures.append("change not checkable: \(why)")
            case .production(let metrics):
                guard let b = metrics.value(of: rule.metric) else {
                    failures.append("production's \(name) cannot be computed on these rows: change not checkable")
                    break
                }
                result.baseline = b
                let direction = rule.higherIsBetter ? 1.0 : -1.0
                let diff = c - b
                result.difference = diff
                // The value judged: the difference, or with a test the interval's worst bound.
                var judged = direction * diff
                var what = "change \(show(diff))"
                if let test = rule.test {
                    guard let i = interval() else {
                        failures.append("the \(test.rawValue) interval of the difference cannot be computed on these rows")
                        break
                    }
                    result.lower = i.lower
                    result.upper = i.upper
                    judged = direction > 0 ? i.lower : -i.upper
                    what = "\(Int((rule.level * 100).rounded()))% \(test.rawValue) interval [\(show(i.lower)), \(show(i.upper))]"
                }
                result.bound = direction * judged
                if let change = rule.change {
                    let ok = judged >= change - 1e-12
                    let text = "\(what) vs production \(show(b)) \(ok ? "clears" : "does not clear") change \(show(change))"
                    if ok { notes.append(text) } else { failures.append(text) }
                }
                if let relative = rule.relativeChange {
                    if b == 0 {
                        failures.append("relative change undefined: production's \(name) is 0")
                    } else {
                        let rel = judged / abs(b)
                        let ok = rel >= relative - 1e-12
                        let text = "relative \(show(rel)) \(ok ? "clears" : "does not clear") relative_change \(show(relative))"
                        if ok { notes.append(text) } else { failures.append(text) }
                    }
                }
            }
        }
        result.passed = failures.isEmpty
        result.reason = (result.passed ? notes : failures).joined(separator: "; ")
        if result.reason.isEmpty { result.reason = "no bound set" }
        return result
    }

    /// The gate's minimum number of evaluation rows: no decision is made on too little evidence.
    package static func rowsResult(index: Int, rows: Int, minRows: Int) -> RuleResult? {
        guard rows < minRows else { return nil }
        return RuleResult(
            index: index, metric: "evaluation_rows", candidate: Double(rows), passed: false,
            reason: "only \(rows) evaluation rows; at least \(minRows) are needed")
    }

    static func show(_ x: Double) -> String {
        let r = (x * 10000).rounded() / 10000
        return String(r)
    }
}
