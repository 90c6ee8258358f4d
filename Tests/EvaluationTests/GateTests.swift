import Testing

@testable import Evaluation

@Suite("The release gate")
struct GateTests {
    let good = BinaryMetrics(labels: [true, true, false, false], scores: [0.9, 0.8, 0.3, 0.1])
    let poor = BinaryMetrics(labels: [true, true, false, false], scores: [0.9, 0.2, 0.7, 0.1])

    @Test("a candidate at or above every minimum passes")
    func minimumPasses() {
        let r = Gate.evaluate([GateRule(metric: .rocAUC, min: 1.0), GateRule(metric: .accuracy, min: 1.0)], candidate: good, baseline: .none)
        #expect(r.allSatisfy { $0.passed })
    }

    @Test("a candidate below a minimum fails that rule and says why")
    func minimumFails() {
        let r = Gate.evaluate([GateRule(metric: .accuracy, min: 0.9)], candidate: poor, baseline: .none)
        #expect(r.count == 1)
        #expect(!r[0].passed)
        #expect(r[0].reason.contains("< min 0.9"))
    }

    @Test("max_drop compares with the baseline and fails a larger drop")
    func maxDropAgainstBaseline() {
        let rule = GateRule(metric: .accuracy, maxDrop: 0.1)
        let fails = Gate.evaluate([rule], candidate: poor, baseline: .production(good))
        #expect(!fails[0].passed)
        #expect(fails[0].baseline == 1.0)
        #expect(fails[0].candidate == 0.5)
        let passes = Gate.evaluate([rule], candidate: good, baseline: .production(poor))
        #expect(passes[0].passed)
    }

    @Test("without a model in production a drop rule is skipped and recorded as such")
    func firstVersionSkipsDrop() {
        let r = Gate.evaluate([GateRule(metric: .accuracy, maxDrop: 0.0)], candidate: poor, baseline: .none)
        #expect(r[0].passed)
        #expect(r[0].reason.contains("no model in production"))
    }

    @Test("fewer evaluation rows than the minimum fail the gate with their own result")
    func minimumRows() {
        let r = Gate.evaluate([GateRule(metric: .accuracy, min: 0)], candidate: good, baseline: .none, minRows: 5)
        #expect(r.count == 2)
        #expect(r[1].metric == "evaluation_rows")
        #expect(!r[1].passed)
        #expect(r[1].reason == "only 4 evaluation rows; at least 5 are needed")
    }

    @Test("a drop rule fails when the model in production cannot be scored, rather than passing silently")
    func unavailableBaselineFails() {
        let r = Gate.evaluate([GateRule(metric: .accuracy, maxDrop: 0.5)], candidate: good, baseline: .unavailable("column x is missing"))
        #expect(!r[0].passed)
        #expect(r[0].reason.contains("column x is missing"))
    }

    @Test("a metric that cannot be computed fails the rule")
    func uncomputableMetricFails() {
        let oneClass = BinaryMetrics(labels: [true, true], scores: [0.9, 0.1])
        let r = Gate.evaluate([GateRule(metric: .rocAUC, min: 0.5)], candidate: oneClass, baseline: .none)
        #expect(!r[0].passed)
        #expect(r[0].candidate == nil)
    }
}
