import Foundation
import Testing

@testable import Evaluation

struct MetricsExtraFixture: Decodable {
    struct Binary: Decodable {
        var name: String
        var labels: [Int]
        var scores: [Double]
        var confusion: [Int]
        var accuracy: Double
        var balanced_accuracy: Double
        var precision: Double
        var recall: Double
        var f1: Double
        var roc_auc: Double?
        var average_precision: Double?
        var log_loss: Double?
        var brier: Double?
    }
    struct Multiclass: Decodable {
        var name: String
        var classes: Int
        var labels: [Int32]
        var probabilities: [Double]
        var predictions: [Int32]
        var accuracy: Double
        var macro_precision: Double
        var macro_recall: Double
        var macro_f1: Double
        var weighted_precision: Double
        var weighted_recall: Double
        var weighted_f1: Double
        var ovr_roc_auc: Double?
        var log_loss: Double
    }
    struct Regression: Decodable {
        var name: String
        var targets: [Double]
        var predictions: [Double]
        var rmse: Double
        var mae: Double
        var r2: Double?
        var mape: Double
    }
    var threshold: Double
    var binary: [Binary]
    var multiclass: [Multiclass]
    var regression: [Regression]

    static let shared: MetricsExtraFixture? = {
        guard let url = Bundle.module.url(forResource: "metrics_extra", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(MetricsExtraFixture.self, from: data)
    }()

    static func load() throws -> MetricsExtraFixture { try #require(shared) }
}

/// 1e-9 relative, or 1e-12 absolute near 0.
func close(_ actual: Double?, _ expected: Double?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let expected else {
        #expect(actual == nil, "\(what): expected nil, got \(String(describing: actual))", sourceLocation: sourceLocation)
        return
    }
    guard let actual else {
        Issue.record("\(what): expected \(expected), got nil", sourceLocation: sourceLocation)
        return
    }
    let tolerance = max(1e-12, 1e-9 * abs(expected))
    #expect(abs(actual - expected) <= tolerance, "\(what): \(actual) vs scikit-learn \(expected)", sourceLocation: sourceLocation)
}

@Suite("MetricsExtra: binary, multiclass and regression metrics agree with scikit-learn")
struct MetricsExtraTests {
    static let binaryNames = MetricsExtraFixture.shared?.binary.map(\.name) ?? []
    static let multiclassNames = MetricsExtraFixture.shared?.multiclass.map(\.name) ?? []
    static let regressionNames = MetricsExtraFixture.shared?.regression.map(\.name) ?? []

    @Test("binary extras match scikit-learn", arguments: binaryNames)
    func binary(name: String) throws {
        let fixture = try MetricsExtraFixture.load()
        let c = try #require(fixture.binary.first { $0.name == name })
        let m = BinaryScores(labels: c.labels.map { $0 == 1 }, scores: c.scores, threshold: fixture.threshold)
        #expect([m.confusion.tn, m.confusion.fp, m.confusion.fn, m.confusion.tp] == c.confusion)
        #expect(m.rows == c.labels.count)
        close(m.accuracy, c.accuracy, "accuracy")
        close(m.balancedAccuracy, c.balanced_accuracy, "balanced_accuracy")
        close(m.precision, c.precision, "precision")
        close(m.recall, c.recall, "recall")
        close(m.f1, c.f1, "f1")
        close(m.rocAUC, c.roc_auc, "roc_auc")
        close(m.averagePrecision, c.average_precision, "average_precision")
        close(m.logLoss, c.log_loss, "log_loss")
        close(m.brier, c.brier, "brier")
        // The gate's BinaryMetrics agrees with the radix-sorted path.
        let gate = BinaryMetrics(labels: c.labels.map { $0 == 1 }, scores: c.scores, threshold: fixture.threshold)
        let fast = m.binaryMetrics
        #expect(fast.rows == gate.rows && fast.positives == gate.positives && fast.accuracy == gate.accuracy)
        #expect(fast.precision == gate.precision && fast.recall == gate.recall && fast.f1 == gate.f1)
        close(fast.rocAUC, gate.rocAUC, "gate roc_auc")
    }

    @Test("multiclass metrics match scikit-learn", arguments: multiclassNames)
    func multiclass(name: String) throws {
        let fixture = try MetricsExtraFixture.load()
        let c = try #require(fixture.multiclass.first { $0.name == name })
        #expect(MulticlassMetrics.predictions(probabilities: c.probabilities, classes: c.classes) == c.predictions)
        let m = MulticlassMetrics(labels: c.labels, probabilities: c.probabilities, classes: c.classes)
        #expect(m.rows == c.labels.count)
        #expect(m.confusion.reduce(0, +) == c.labels.count)
        close(m.accuracy, c.accuracy, "accuracy")
        close(m.macroPrecision, c.macro_precision, "macro_precision")
        close(m.macroRecall, c.macro_recall, "macro_recall")
        close(m.macroF1, c.macro_f1, "macro_f1")
        close(m.weightedPrecision, c.weighted_precision, "weighted_precision")
        close(m.weightedRecall, c.weighted_recall, "weighted_recall")
        close(m.weightedF1, c.weighted_f1, "weighted_f1")
        close(m.ovrRocAUC, c.ovr_roc_auc, "ovr_roc_auc")
        close(m.logLoss, c.log_loss, "log_loss")
    }

    @Test("regression metrics match scikit-learn", arguments: regressionNames)
    func regression(name: String) throws {
        let fixture = try MetricsExtraFixture.load()
        let c = try #require(fixture.regression.first { $0.name == name })
        let m = RegressionMetrics(targets: c.targets, predictions: c.predictions)
        close(m.rmse, c.rmse, "rmse")
        close(m.mae, c.mae, "mae")
        close(m.r2, c.r2, "r2")
        close(m.mape, c.mape, "mape")
    }

    @Test("the fixture covers the edge cases")
    func fixtureCoversEdgeCases() throws {
        let f = try MetricsExtraFixture.load()
        let binary = Set(f.binary.map(\.name)), multi = Set(f.multiclass.map(\.name)), reg = Set(f.regression.map(\.name))
        for name in ["heavily_tied_scores", "single_class_all_positive", "single_class_all_negative",
                     "probabilities_zero_and_one", "no_predicted_positives", "large_tied_radix", "margins_negative_radix"] {
            #expect(binary.contains(name), "\(name)")
        }
        for name in ["random_3_classes", "random_4_classes", "class_absent_from_rows", "tied_probabilities",
                     "large_tied_radix_3_classes"] {
            #expect(multi.contains(name), "\(name)")
        }
        for name in ["constant_target_imperfect", "constant_target_perfect", "constant_target_inexact_mean",
                     "zero_targets_mape", "perfect_predictions"] {
            #expect(reg.contains(name), "\(name)")
        }
        #expect(f.multiclass.contains { Set($0.labels).count < $0.classes && $0.ovr_roc_auc == nil })
    }

    @Test("argmax ties go to the lowest index")
    func argmaxTies() {
        let p = [0.4, 0.4, 0.2, 0.2, 0.4, 0.4, 1.0 / 3, 1.0 / 3, 1.0 / 3]
        #expect(MulticlassMetrics.predictions(probabilities: p, classes: 3) == [0, 1, 0])
    }

    @Test("empty rows and NaN scores give nil, not a crash")
    func degenerate() {
        let empty = BinaryScores(labels: [], scores: [])
        #expect(empty.rocAUC == nil && empty.averagePrecision == nil && empty.logLoss == nil && empty.brier == nil)
        let nan = BinaryScores(labels: [true, false], scores: [.nan, 0.2])
        #expect(nan.rocAUC == nil && nan.averagePrecision == nil && nan.logLoss == nil && nan.brier == nil)
        let r = RegressionMetrics(targets: [], predictions: [])
        #expect(r.rmse == nil && r.r2 == nil && r.mape == nil && r.mae == nil)
        // Rows not summing to 1: scikit-learn's ovr ROC-AUC raises.
        let m = MulticlassMetrics(labels: [0, 1, 2], probabilities: [0.5, 0.5, 0.5, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8], classes: 3)
        #expect(m.ovrRocAUC == nil)
    }

    @Test("the registry lists every job-file metric with its direction, range and value")
    func registry() throws {
        let names = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "average_precision",
                     "log_loss", "brier", "macro_precision", "macro_recall", "macro_f1", "weighted_precision",
                     "weighted_recall", "weighted_f1", "ovr_roc_auc", "rmse", "mae", "r2", "mape"]
        #expect(MetricName.allCases.map(\.rawValue) == names)
        #expect(MetricDefinition.all.map(\.name.rawValue) == names)
        let lower: Set<String> = ["log_loss", "brier", "rmse", "mae", "mape"]
        for d in MetricDefinition.all {
            #expect(d.higherIsBetter == !lower.contains(d.name.rawValue), "\(d.name)")
            #expect(!d.tasks.isEmpty)
        }
        #expect(MetricDefinition.named("r2")?.range.upperBound == 1)
        #expect(MetricDefinition.named("r2")?.range.lowerBound == -.infinity)
        #expect(MetricDefinition.named("nope") == nil)
        #expect(MetricDefinition.metrics(for: .multiclass).map(\.name) ==
            [.accuracy, .logLoss, .macroPrecision, .macroRecall, .macroF1, .weightedPrecision, .weightedRecall, .weightedF1, .ovrRocAUC])

        // Every metric of a task is reachable through ComputedMetrics; other tasks' metrics are nil.
        let b = ComputedMetrics.binary(BinaryScores(labels: [true, false, true, false], scores: [0.9, 0.2, 0.4, 0.6]))
        let mc = ComputedMetrics.multiclass(MulticlassMetrics(
            labels: [0, 1, 2], probabilities: [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8], classes: 3))
        let r = ComputedMetrics.regression(RegressionMetrics(targets: [1, 2, 3], predictions: [1.1, 1.9, 3.2]))
        for computed in [b, mc, r] {
            for name in MetricName.allCases {
                let applies = name.definition.tasks.contains(computed.task)
                #expect((computed.value(of: name) != nil) == applies, "\(name) on \(computed.task)")
                if let v = computed.value(of: name) { #expect(name.definition.range.contains(v), "\(name) = \(v)") }
            }
        }
        #expect(b.value(of: "roc_auc") == 0.75)
        #expect(r.value(of: "accuracy") == nil)
        #expect(mc.value(of: "unknown") == nil)
    }
}
