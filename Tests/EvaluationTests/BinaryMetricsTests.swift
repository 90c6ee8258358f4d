import Foundation
import Testing

@testable import Evaluation

struct MetricsFixture: Decodable {
    struct Case: Decodable {
        var name: String
        var labels: [Int]
        var scores: [Double]
        var accuracy: Double
        var precision: Double
        var recall: Double
        var f1: Double
        var roc_auc: Double?
    }
    var threshold: Double
    var cases: [Case]

    static func load() throws -> MetricsFixture {
        let url = try #require(Bundle.module.url(forResource: "binary_metrics", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(MetricsFixture.self, from: Data(contentsOf: url))
    }
}

@Suite("Binary metrics agree with scikit-learn")
struct BinaryMetricsTests {
    static let cases = (try? MetricsFixture.load().cases) ?? []

    @Test("every fixture case matches scikit-learn to 1e-12", arguments: cases.map(\.name))
    func matchesScikitLearn(name: String) throws {
        let fixture = try MetricsFixture.load()
        let c = try #require(fixture.cases.first { $0.name == name })
        let m = BinaryMetrics(labels: c.labels.map { $0 == 1 }, scores: c.scores, threshold: fixture.threshold)
        #expect(abs(m.accuracy - c.accuracy) <= 1e-12)
        #expect(abs(m.precision - c.precision) <= 1e-12)
        #expect(abs(m.recall - c.recall) <= 1e-12)
        #expect(abs(m.f1 - c.f1) <= 1e-12)
        if let expected = c.roc_auc {
            let auc = try #require(m.rocAUC)
            #expect(abs(auc - expected) <= 1e-12)
        } else {
            #expect(m.rocAUC == nil)
        }
    }

    @Test("the fixture covers ties, one class and zero division")
    func fixtureCoversEdgeCases() throws {
        let names = Set(try MetricsFixture.load().cases.map(\.name))
        #expect(names.contains("heavily_tied_scores"))
        #expect(names.contains("single_class_all_positive"))
        #expect(names.contains("no_predicted_positives"))
    }

    @Test("a score equal to the threshold counts as positive")
    func thresholdIsInclusive() {
        let m = BinaryMetrics(labels: [true, false], scores: [0.5, 0.2], threshold: 0.5)
        #expect(m.accuracy == 1)
        #expect(m.precision == 1)
    }
}
