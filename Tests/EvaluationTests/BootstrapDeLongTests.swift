import Foundation
import Tabular
import Testing

@testable import Evaluation

struct BootstrapDeLongFixture: Decodable {
    struct DeLongValues: Decodable {
        var candidate_auc: Double
        var production_auc: Double
        var difference: Double
        var standard_error: Double
        var z: Double
        var p_value: Double
        var level: Double
        var lower: Double
        var upper: Double
    }
    struct Interval: Decodable {
        var estimate: Double
        var lower: Double
        var upper: Double
        var undefined: Int
    }
    struct Bootstrap: Decodable {
        var resamples: Int
        var level: Double
        var seed: String
        var first_indices: [Int]
        var roc_auc: Interval
        var accuracy: Interval
    }
    struct Case: Decodable {
        var name: String
        var labels: [Int]
        var candidate: [Double]
        var production: [Double]
        var delong: DeLongValues?
        var bootstrap: Bootstrap

        var y: [Bool] { labels.map { $0 == 1 } }
        var seed: UInt64 { UInt64(bootstrap.seed)! }
    }
    var threshold: Double
    var splitmix64_seed0: [String]
    var cases: [Case]

    static func load() throws -> BootstrapDeLongFixture {
        let url = try #require(Bundle.module.url(forResource: "bootstrap_delong", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(BootstrapDeLongFixture.self, from: Data(contentsOf: url))
    }

    static func `case`(_ name: String) throws -> Case {
        try #require(try load().cases.first { $0.name == name })
    }
}

private func close(_ a: Double, _ b: Double, _ tol: Double = 1e-12) -> Bool {
    abs(a - b) <= tol
}

@Suite("Paired bootstrap and DeLong agree with the numpy references")
struct BootstrapDeLongTests {
    static let names = (try? BootstrapDeLongFixture.load().cases.map(\.name)) ?? []

    @Test("SplitMix64 and the draw → row mapping match the Python reimplementation")
    func generatorMatches() throws {
        let fixture = try BootstrapDeLongFixture.load()
        var g = SplitMix64(seed: 0)
        #expect(fixture.splitmix64_seed0.map { UInt64($0)! } == [g.next(), g.next(), g.next()])
        for c in fixture.cases {
            var gen = SplitMix64(seed: PairedBootstrap.resampleSeed(c.seed, 0))
            let n = UInt64(c.labels.count)
            let drawn = (0..<c.labels.count).map { _ in Int(gen.next(below: n)) }
            #expect(drawn == c.bootstrap.first_indices, "\(c.name)")
        }
    }

    @Test("the ROC-AUC bootstrap matches the fixture to 1e-12", arguments: names)
    func rocAUCMatches(name: String) throws {
        let c = try BootstrapDeLongFixture.case(name)
        let b = c.bootstrap
        let r = PairedBootstrap.rocAUCInterval(
            labels: c.y, candidate: c.candidate, production: c.production,
            resamples: b.resamples, level: b.level, seed: c.seed)
        #expect(close(r.estimate, b.roc_auc.estimate))
        #expect(close(r.lower, b.roc_auc.lower))
        #expect(close(r.upper, b.roc_auc.upper))
        #expect(r.undefined == b.roc_auc.undefined)
        #expect(r.resamples == b.resamples && r.level == b.level && r.seed == c.seed)
    }

    @Test("the accuracy bootstrap matches the fixture to 1e-12", arguments: names)
    func accuracyMatches(name: String) throws {
        let fixture = try BootstrapDeLongFixture.load()
        let c = try BootstrapDeLongFixture.case(name)
        let b = c.bootstrap
        let r = PairedBootstrap.accuracyInterval(
            labels: c.y, candidate: c.candidate, production: c.production, threshold: fixture.threshold,
            resamples: b.resamples, level: b.level, seed: c.seed)
        #expect(close(r.estimate, b.accuracy.estimate))
        #expect(close(r.lower, b.accuracy.lower))
        #expect(close(r.upper, b.accuracy.upper))
        #expect(r.undefined == 0)
    }

    @Test("DeLong matches the Sun & Xu numpy reference to 1e-12", arguments: names)
    func deLongMatches(name: String) throws {
        let c = try BootstrapDeLongFixture.case(name)
        guard let e = c.delong else {
            #expect(DeLong.test(labels: c.y, candidate: c.candidate, production: c.production) == nil)
            return
        }
        let r = try #require(DeLong.test(labels: c.y, candidate: c.candidate, production: c.production, level: e.level))
        #expect(close(r.candidateAUC, e.candidate_auc))
        #expect(close(r.productionAUC, e.production_auc))
        #expect(close(r.difference, e.difference))
        #expect(close(r.standardError, e.standard_error))
        #expect(close(r.z, e.z, 1e-10))
        #expect(close(r.pValue, e.p_value) && abs(r.pValue - e.p_value) <= 1e-9 * e.p_value + 1e-15)
        #expect(close(r.lower, e.lower))
        #expect(close(r.upper, e.upper))
        // Midrank AUCs are the trapezoid AUCs.
        #expect(close(r.candidateAUC, try #require(BinaryMetrics.rocAUC(labels: c.y, scores: c.candidate))))
        #expect(close(r.productionAUC, try #require(BinaryMetrics.rocAUC(labels: c.y, scores: c.production))))
    }

    @Test("the fixture covers ties, a clear winner, equal models and one-class resamples")
    func fixtureCoversCases() throws {
        let f = try BootstrapDeLongFixture.load()
        #expect(Set(f.cases.map(\.name)).isSuperset(of: ["ties_300", "candidate_clearly_better", "equal_quality", "identical_scores", "tiny_one_class_resamples"]))
        let better = try BootstrapDeLongFixture.case("candidate_clearly_better")
        #expect(better.bootstrap.roc_auc.lower > 0)
        #expect(try #require(better.delong).p_value < 1e-6)
        #expect(try BootstrapDeLongFixture.case("tiny_one_class_resamples").bootstrap.roc_auc.undefined > 0)
    }

    @Test("the generic interval and the fast paths agree exactly", arguments: names)
    func genericAgreesWithFastPaths(name: String) throws {
        let c = try BootstrapDeLongFixture.case(name)
        let b = c.bootstrap
        let generic = PairedBootstrap.interval(
            labels: c.y, candidate: c.candidate, production: c.production, metric: BinaryMetrics.rocAUC,
            resamples: b.resamples, level: b.level, seed: c.seed)
        let fast = PairedBootstrap.rocAUCInterval(
            labels: c.y, candidate: c.candidate, production: c.production,
            resamples: b.resamples, level: b.level, seed: c.seed)
        #expect(generic == fast)
        for metric in [Metric.accuracy, .precision, .recall, .f1] {
            let g = PairedBootstrap.interval(
                labels: c.y, candidate: c.candidate, production: c.production,
                metric: { BinaryMetrics(labels: $0, scores: $1, threshold: 0.5).value(of: metric) },
                resamples: 200, level: 0.9, seed: c.seed &+ 1)
            let f = PairedBootstrap.interval(
                for: metric, labels: c.y, candidate: c.candidate, production: c.production,
                threshold: 0.5, resamples: 200, level: 0.9, seed: c.seed &+ 1)
            #expect(g == f, "\(metric)")
        }
    }

    @Test("results do not depend on the number of workers")
    func independentOfCores() throws {
        let c = try BootstrapDeLongFixture.case("ties_300")
        for metric in Metric.allCases {
            let results = [1, 2, 3, 7, 64, 1000].map { workers in
                PairedBootstrap.interval(
                    for: metric, labels: c.y, candidate: c.candidate, production: c.production,
                    threshold: 0.5, resamples: 257, level: 0.95, seed: 42, workers: workers)
            }
            #expect(results.allSatisfy { $0 == results[0] }, "\(metric)")
        }
    }

    @Test("a seed determines the interval; another seed gives another")
    func deterministicForSeed() throws {
        let c = try BootstrapDeLongFixture.case("candidate_clearly_better")
        let a = PairedBootstrap.rocAUCInterval(labels: c.y, candidate: c.candidate, production: c.production, resamples: 300, seed: 5)
        let b = PairedBootstrap.rocAUCInterval(labels: c.y, candidate: c.candidate, production: c.production, resamples: 300, seed: 5)
        let other = PairedBootstrap.rocAUCInterval(labels: c.y, candidate: c.candidate, production: c.production, resamples: 300, seed: 6)
        #expect(a == b)
        #expect(a != other)
        #expect(a.estimate == other.estimate)
    }

    @Test("one class in every row: estimate and bounds are NaN, every resample undefined")
    func oneClassEverywhere() {
        let r = PairedBootstrap.rocAUCInterval(labels: [true, true, true], candidate: [0.1, 0.5, 0.9], production: [0.2, 0.2, 0.3], resamples: 50)
        #expect(r.estimate.isNaN && r.lower.isNaN && r.upper.isNaN)
        #expect(r.undefined == 50)
        #expect(DeLong.test(labels: [true, true, false], candidate: [0.9, 0.8, 0.1], production: [0.5, 0.6, 0.4]) == nil)
    }

    @Test("numpy's linear quantile, including the t ≥ 0.5 branch and the ends")
    func linearQuantile() {
        let x = [1.0, 2.0, 4.0, 8.0]
        #expect(PairedBootstrap.numpyLinearQuantile(sorted: x, 0) == 1)
        #expect(PairedBootstrap.numpyLinearQuantile(sorted: x, 1) == 8)
        #expect(PairedBootstrap.numpyLinearQuantile(sorted: x, 0.5) == 3)
        #expect(PairedBootstrap.numpyLinearQuantile(sorted: x, 0.9) == 6.800000000000001)  // numpy.quantile([1,2,4,8], 0.9), lerp from above
        #expect(PairedBootstrap.numpyLinearQuantile(sorted: [], 0.5).isNaN)
    }

    @Test("the normal quantile matches scipy's norm.ppf")
    func normalQuantile() {
        // scipy.stats.norm.ppf values.
        #expect(close(DeLong.normalQuantile(0.975), 1.959963984540054, 1e-14))
        #expect(close(DeLong.normalQuantile(0.95), 1.6448536269514722, 1e-14))
        #expect(close(DeLong.normalQuantile(0.995), 2.5758293035489004, 1e-14))
        #expect(close(DeLong.normalQuantile(0.01), -2.3263478740408408, 1e-14))
        #expect(DeLong.normalQuantile(0.5) == 0)
    }
}
