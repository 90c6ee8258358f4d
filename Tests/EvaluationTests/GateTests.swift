import Testing

@testable import Evaluation

@Suite("The release gate")
struct GateTests {
    let labels = [true, true, false, false]
    var good: ComputedMetrics { .binary(BinaryScores(labels: labels, scores: [0.9, 0.8, 0.3, 0.1])) }
    var poor: ComputedMetrics { .binary(BinaryScores(labels: labels, scores: [0.9, 0.2, 0.7, 0.1])) }

    func judge(_ rule: GateRule, _ candidate: ComputedMetrics, _ baseline: Gate.Baseline, first: Gate.FirstVersion = .skip,
               interval: (Double, Double)? = nil) -> RuleResult {
        Gate.evaluate(rule, index: 0, candidate: candidate, baseline: baseline, firstVersion: first) {
            interval.map { (lower: $0.0, upper: $0.1) }
        }
    }

    @Test("a value range is inclusive at both ends")
    func valueRange() {
        #expect(judge(GateRule(metric: .accuracy, min: 1.0, max: 1.0), good, .none).passed)
        let low = judge(GateRule(metric: .accuracy, min: 0.9), poor, .none)
        #expect(!low.passed && low.reason.contains("< min 0.9"))
        let high = judge(GateRule(metric: .accuracy, max: 0.4), poor, .none)
        #expect(!high.passed && high.reason.contains("> max 0.4"))
    }

    @Test("a negative change is an allowed regression, a positive one a required improvement")
    func signedChange() {
        // poor vs good: accuracy 0.5 vs 1.0, a difference of −0.5.
        #expect(!judge(GateRule(metric: .accuracy, change: -0.4), poor, .production(good)).passed)
        #expect(judge(GateRule(metric: .accuracy, change: -0.5), poor, .production(good)).passed)
        #expect(judge(GateRule(metric: .accuracy, change: 0.5), good, .production(poor)).passed)
        #expect(!judge(GateRule(metric: .accuracy, change: 0.6), good, .production(poor)).passed)
        let r = judge(GateRule(metric: .accuracy, change: -0.4), poor, .production(good))
        #expect(r.baseline == 1.0 && r.candidate == 0.5 && r.difference == -0.5)
    }

    @Test("for a metric where lower is better, the change is judged in its direction")
    func lowerIsBetter() {
        // Log loss: the good model's is lower, so good vs poor is an improvement.
        let improvement = judge(GateRule(metric: .logLoss, change: 0.1), good, .production(poor))
        #expect(improvement.passed, "\(improvement.reason)")
        #expect(!judge(GateRule(metric: .logLoss, change: 0), poor, .production(good)).passed)
    }

    @Test("a relative change divides by the production value's magnitude")
    func relativeChange() {
        #expect(judge(GateRule(metric: .accuracy, relativeChange: -0.5), poor, .production(good)).passed)
        #expect(!judge(GateRule(metric: .accuracy, relativeChange: -0.49), poor, .production(good)).passed)
    }

    @Test("with a test, a change rule judges the interval's worst bound, not the point estimate")
    func intervalBound() {
        let rule = GateRule(metric: .accuracy, change: 0, test: .bootstrap)
        // Point estimate +0.5, but the interval reaches −0.1: noise could explain it, so it fails.
        let noisy = judge(rule, good, .production(poor), interval: (-0.1, 0.9))
        #expect(!noisy.passed)
        #expect(noisy.lower == -0.1 && noisy.bound == -0.1)
        #expect(judge(rule, good, .production(poor), interval: (0.2, 0.8)).passed)
        let missing = judge(rule, good, .production(poor), interval: nil)
        #expect(!missing.passed && missing.reason.contains("interval of the difference cannot be computed"))
    }

    @Test("a first version skips change rules by default, and fails them with first_version = fail")
    func firstVersion() {
        let rule = GateRule(metric: .accuracy, min: 0.4, change: 0)
        let skipped = judge(rule, poor, .none)
        #expect(skipped.passed && skipped.reason.contains("no model in production: change not checked"))
        #expect(!judge(rule, poor, .none, first: .fail).passed)
    }

    @Test("a change rule fails when the model in production cannot be scored, rather than passing silently")
    func unavailableBaselineFails() {
        let r = judge(GateRule(metric: .accuracy, change: -0.5), good, .unavailable("column x is missing"))
        #expect(!r.passed)
        #expect(r.reason.contains("column x is missing"))
    }

    @Test("a metric that cannot be computed fails the rule")
    func uncomputableMetricFails() {
        let oneClass = ComputedMetrics.binary(BinaryScores(labels: [true, true], scores: [0.9, 0.1]))
        let r = judge(GateRule(metric: .rocAUC, min: 0.5), oneClass, .none)
        #expect(!r.passed)
        #expect(r.candidate == nil)
    }

    @Test("fewer evaluation rows than the minimum fail the gate with their own result")
    func minimumRows() {
        let r = Gate.rowsResult(index: 3, rows: 4, minRows: 5)
        #expect(r?.metric == "evaluation_rows")
        #expect(r?.passed == false)
        #expect(r?.reason == "only 4 evaluation rows; at least 5 are needed")
        #expect(Gate.rowsResult(index: 3, rows: 5, minRows: 5) == nil)
    }
}

@Suite("Choosing the decision threshold")
struct DecisionThresholdTests {
    // Scores with their labels: the best F1 is at 0.6 (TP 3, FP 1, FN 0).
    let labels = [true, true, true, false, false, false]
    let scores = [0.9, 0.8, 0.6, 0.6, 0.3, 0.2]

    @Test("max F1 picks the distinct score with the best F1, a row positive at or above it")
    func maxF1() {
        let choice = DecisionThreshold.maxF1.choose(labels: labels, scores: scores)
        #expect(choice.threshold == 0.6)
        #expect(BinaryScores(labels: labels, scores: scores, threshold: choice.threshold).f1 == 6.0 / 7.0)
    }

    @Test("a precision target takes the lowest threshold that reaches it; a recall target the highest")
    func targets() {
        #expect(DecisionThreshold.precision(1.0).choose(labels: labels, scores: scores).threshold == 0.8)
        #expect(DecisionThreshold.recall(1.0).choose(labels: labels, scores: scores).threshold == 0.6)
        #expect(DecisionThreshold.recall(0.5).choose(labels: labels, scores: scores).threshold == 0.8)
        let unreachable = DecisionThreshold.precision(1.0).choose(labels: [true, false], scores: [0.5, 0.5])
        #expect(unreachable.note.contains("not reachable"))
    }

    @Test("a fixed threshold is returned as it is")
    func fixed() {
        #expect(DecisionThreshold.fixed(0.3).choose(labels: labels, scores: scores).threshold == 0.3)
    }
}
