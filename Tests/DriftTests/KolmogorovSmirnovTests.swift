import Foundation
import Testing

@testable import Drift

/// `Fixtures/ks.json`, written by `scripts/fixtures/make_ks_fixtures.py` from SciPy.
struct KSFixture: Decodable, Sendable {
    struct Case: Decodable, Sendable {
        var name: String
        var a: [Double]
        var b: [Double]
        var statistic: Double
        var pvalue: Double
        var exact: Bool
    }

    struct KSTwo: Decodable, Sendable {
        var d: Double
        var n: Int
        var sf: Double
        var path: String
    }

    var generator: String
    var cases: [Case]
    var kstwo: [KSTwo]

    static func load() throws -> KSFixture {
        let url = try #require(Bundle.module.url(forResource: "ks", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(KSFixture.self, from: Data(contentsOf: url))
    }

    static let shared: KSFixture? = try? load()
}

/// |actual − expected| ≤ rel·|expected|, or ≤ 1e-300 when SciPy's value is ~0.
private func agrees(_ actual: Double, _ expected: Double, relative rel: Double) -> Bool {
    if abs(expected) < 1e-300 { return abs(actual - expected) <= 1e-300 }
    return abs(actual - expected) <= rel * abs(expected)
}

@Suite("Two-sample Kolmogorov–Smirnov test agrees with SciPy's ks_2samp and kstwo")
struct KolmogorovSmirnovTests {
    static let caseNames = KSFixture.shared?.cases.map(\.name) ?? []
    static let kstwoIndices = Array((KSFixture.shared?.kstwo ?? []).indices)

    @Test("the fixture loads and covers exact, fallback and asymptotic cases")
    func fixtureLoads() throws {
        let fixture = try KSFixture.load()
        #expect(fixture.cases.count >= 20)
        #expect(fixture.cases.contains { $0.exact })
        #expect(fixture.cases.contains { !$0.exact && max($0.a.count, $0.b.count) <= 10_000 })
        #expect(fixture.cases.contains { !$0.exact && max($0.a.count, $0.b.count) > 10_000 })
        #expect(fixture.kstwo.count >= 100)
    }

    @Test("statistic, p-value and method match ks_2samp", arguments: caseNames)
    func matchesSciPy(name: String) throws {
        let c = try #require(KSFixture.shared?.cases.first { $0.name == name })
        let r = ksTwoSample(sortedA: c.a, sortedB: c.b)
        #expect(r.exact == c.exact)
        #expect(abs(r.statistic - c.statistic) <= 1e-12, "statistic \(r.statistic) vs SciPy \(c.statistic)")
        let rel = c.exact ? 1e-9 : 1e-6
        #expect(agrees(r.pValue, c.pvalue, relative: rel), "p-value \(r.pValue) vs SciPy \(c.pvalue)")
        #expect((0...1).contains(r.pValue))
    }

    @Test("swapping the samples gives the same statistic and p-value", arguments: caseNames)
    func symmetric(name: String) throws {
        let c = try #require(KSFixture.shared?.cases.first { $0.name == name })
        #expect(ksTwoSample(sortedA: c.a, sortedB: c.b) == ksTwoSample(sortedA: c.b, sortedB: c.a))
    }

    @Test("kolmogorovSF matches kstwo.sf over a grid of d and n", arguments: kstwoIndices)
    func kstwoMatches(index: Int) throws {
        let k = try #require(KSFixture.shared?.kstwo[index])
        let sf = kolmogorovSF(k.d, n: k.n)
        #expect(agrees(sf, k.sf, relative: 1e-9), "kstwo.sf(\(k.d), \(k.n)) [\(k.path)]: \(sf) vs SciPy \(k.sf)")
    }

    @Test("the buffer and array entry points agree")
    func bufferOverload() {
        let a = [0.1, 0.4, 0.4, 0.9, 1.3]
        let b = [0.2, 0.4, 1.0]
        let viaBuffers = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in ksTwoSample(sortedA: pa, sortedB: pb) }
        }
        #expect(viaBuffers == ksTwoSample(sortedA: a, sortedB: b))
    }

    @Test("disjoint samples of sizes 3 and 2 have D = 1 and exact p = 2/C(5,2)")
    func disjointSmall() {
        let r = ksTwoSample(sortedA: [1, 2, 3], sortedB: [4, 5])
        #expect(r == KSResult(statistic: 1, pValue: 0.2, exact: true))
    }

    @Test("identical samples have D = 0 and p = 1")
    func identical() {
        let x = [1.0, 2, 2, 3, 5, 8]
        #expect(ksTwoSample(sortedA: x, sortedB: x) == KSResult(statistic: 0, pValue: 1, exact: true))
    }

    @Test("kolmogorovSF is 1 at or below 0.5/n, 0 at or above 1, NaN for NaN d or n < 1")
    func kolmogorovSFEdges() {
        #expect(kolmogorovSF(0.05, n: 10) == 1)
        #expect(kolmogorovSF(0, n: 3) == 1)
        #expect(kolmogorovSF(-1, n: 3) == 1)
        #expect(kolmogorovSF(1, n: 3) == 0)
        #expect(kolmogorovSF(1.5, n: 3) == 0)
        #expect(kolmogorovSF(.nan, n: 3).isNaN)
        #expect(kolmogorovSF(0.3, n: 0).isNaN)
    }

    @Test("KSResult round-trips through JSON")
    func codable() throws {
        let r = KSResult(statistic: 0.25, pValue: 0.125, exact: false)
        #expect(try JSONDecoder().decode(KSResult.self, from: JSONEncoder().encode(r)) == r)
    }
}
