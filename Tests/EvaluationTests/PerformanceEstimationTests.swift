import Foundation
import Testing

@testable import Evaluation

/// Tests/EvaluationTests/Fixtures/cbpe.json, made by scripts/fixtures/make_cbpe_fixtures.py with
/// NannyML 0.13.1's CBPE itself.
struct CBPEFixture: Decodable {
    struct Calibration: Decodable {
        var needs_calibration: Bool
        var test_indices: [[Int]]
        var ece_before_stable: Double
        var ece_after_stable: Double
        var isotonic_x: [Double]?
        var isotonic_y: [Double]?
    }
    struct Components: Decodable {
        var roc_auc_std: Double
        var roc_auc_std_stable: Double
        var roc_auc_fraction: Double
        var accuracy_std: Double
    }
    struct Value: Decodable {
        var estimated: Double?
        var sampling_error: Double?
        var lower_confidence_bound: Double?
        var upper_confidence_bound: Double?
        var realized: Double?
    }
    struct Chunk: Decodable {
        var start: Int
        var end: Int
        var roc_auc: Value
        var accuracy: Value
    }
    struct Case: Decodable {
        var name: String
        var decision_threshold: Double
        var reference_scores: [Double]
        var reference_labels: [Int]
        var analysis_scores: [Double]
        var calibration: Calibration
        var sampling_error_components: Components
        var reference_chunks: [Chunk]
        var analysis_chunks: [Chunk]
    }
    var generator: String
    var cases: [Case]

    static func load() throws -> CBPEFixture {
        let url = try #require(Bundle.module.url(forResource: "cbpe", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(CBPEFixture.self, from: Data(contentsOf: url))
    }
}

@Suite("Performance estimation without labels (CBPE), against NannyML")
struct PerformanceEstimationTests {
    static let names = (try? CBPEFixture.load().cases.map(\.name)) ?? []

    func estimator(_ c: CBPEFixture.Case) -> PerformanceEstimator? {
        PerformanceEstimator.fit(
            scores: c.reference_scores, labels: c.reference_labels.map { $0 == 1 }, threshold: c.decision_threshold,
            calibrate: c.calibration.needs_calibration)
    }

    @Test("estimated accuracy and ROC-AUC per chunk, their sampling errors and bounds match NannyML's CBPE", arguments: names)
    func estimates(name: String) throws {
        let c = try #require(try CBPEFixture.load().cases.first { $0.name == name })
        let e = try #require(estimator(c))
        for (period, scores, chunks) in [("reference", c.reference_scores, c.reference_chunks), ("analysis", c.analysis_scores, c.analysis_chunks)] {
            for chunk in chunks {
                let estimate = e.estimate(scores: Array(scores[chunk.start...chunk.end]))
                for (metric, expected) in [("accuracy", chunk.accuracy), ("roc_auc", chunk.roc_auc)] {
                    let m = try #require(estimate.metrics.first { $0.metric == metric })
                    let at = "\(name) \(period) rows \(chunk.start)–\(chunk.end) \(metric)"
                    // The goal is 0.005; the port is exact up to summation order.
                    #expect(abs(m.value - expected.estimated!) < 1e-9, "\(at): \(m.value) vs NannyML \(expected.estimated!)")
                    // NannyML orders tied scores as NumPy's quicksort leaves them; the port keeps
                    // them in row order, which moves ROC-AUC's error by up to about 3e-6 on tied scores.
                    #expect(abs(m.samplingError - expected.sampling_error!) < 1e-5, "\(at) sampling error")
                    #expect(abs(m.lower - expected.lower_confidence_bound!) < 1e-4, "\(at) lower bound")
                    #expect(abs(m.upper - expected.upper_confidence_bound!) < 1e-4, "\(at) upper bound")
                }
            }
        }
    }

    @Test("the isotonic calibration matches scikit-learn's IsotonicRegression(out_of_bounds=\"clip\")", arguments: names)
    func isotonic(name: String) throws {
        let c = try #require(try CBPEFixture.load().cases.first { $0.name == name })
        guard let x = c.calibration.isotonic_x, let y = c.calibration.isotonic_y, !x.isEmpty else { return }  // NannyML did not calibrate
        let fitted = IsotonicCalibration(x: c.reference_scores, y: c.reference_labels.map(Double.init))
        #expect(fitted.x == x)
        #expect(fitted.y.count == y.count)
        for (a, b) in zip(fitted.y, y) { #expect(abs(a - b) < 1e-12) }
        // Clipped outside the reference's scores, interpolated between its points.
        #expect(fitted.predict(-1) == y.first!)
        #expect(fitted.predict(2) == y.last!)
    }

    @Test("the sampling error components match NannyML's (ties in a stable order)", arguments: names)
    func components(name: String) throws {
        let c = try #require(try CBPEFixture.load().cases.first { $0.name == name })
        let labels = c.reference_labels.map { $0 == 1 }
        let (std, fraction) = PerformanceEstimator.rocAUCComponents(scores: c.reference_scores, labels: labels)
        #expect(abs(std - c.sampling_error_components.roc_auc_std_stable) < 1e-12)
        #expect(abs(fraction - c.sampling_error_components.roc_auc_fraction) < 1e-15)
        #expect(abs(try #require(estimator(c)).accuracySpread - c.sampling_error_components.accuracy_std) < 1e-12)
    }

    @Test("whether to calibrate: the expected calibration error before and after on NannyML's own folds", arguments: names)
    func calibrationDecision(name: String) throws {
        let c = try #require(try CBPEFixture.load().cases.first { $0.name == name })
        let labels = c.reference_labels.map { $0 == 1 }
        let (before, after) = PerformanceEstimator.calibrationErrors(scores: c.reference_scores, labels: labels, folds: c.calibration.test_indices)
        #expect(abs(before - c.calibration.ece_before_stable) < 1e-12)
        #expect(abs(after - c.calibration.ece_after_stable) < 1e-12)
        #expect(PerformanceEstimator.needsCalibration(scores: c.reference_scores, labels: labels, folds: c.calibration.test_indices) == c.calibration.needs_calibration)
    }

    @Test("updater's own stratified folds hold out a tenth of the rows with both classes in proportion")
    func folds() {
        let labels = (0..<1000).map { $0 % 10 == 0 }
        let folds = PerformanceEstimator.stratifiedFolds(labels: labels)
        #expect(folds.count == 10)
        for f in folds {
            #expect(f.count == 100 && Set(f).count == 100)
            #expect(f.filter { labels[$0] }.count == 10)
        }
        #expect(folds[0] != folds[1])
        #expect(PerformanceEstimator.stratifiedFolds(labels: labels) == folds)
    }

    @Test("one class, or scores that already rank perfectly: nothing to estimate ROC-AUC from, no calibration")
    func degenerate() throws {
        let one = try #require(PerformanceEstimator.fit(scores: [0.1, 0.2, 0.3, 0.9], labels: [true, true, true, true], threshold: 0.5))
        #expect(one.calibration == nil && one.rocAUCSpread == nil)
        #expect(one.estimate(scores: [0.2, 0.8]).metrics.map(\.metric) == ["accuracy"])
        #expect(!PerformanceEstimator.needsCalibration(scores: [0.1, 0.2, 0.8, 0.9], labels: [false, false, true, true]))
        #expect(PerformanceEstimator.fit(scores: [0.5], labels: [true], threshold: 0.5) == nil)
        #expect(one.estimate(scores: []).metrics.isEmpty)
    }
}
