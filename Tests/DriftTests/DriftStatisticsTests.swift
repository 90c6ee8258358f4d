import Foundation
import Tabular
import Testing

@testable import Drift

struct DriftStatsFixture: Decodable {
    struct Case: Decodable {
        var name: String
        var kind: String
        var bins: Int
        var reference: [PSIFixture.Value?]
        var current: [PSIFixture.Value?]
        var reference_counts: [Int]
        var current_counts: [Int]
        var psi: Double
        var js_distance: Double?
        var missing_share_ref: Double
        var missing_share_cur: Double
        var wasserstein: Double?
        var wasserstein_normed: Double?
        var mean_ref: Double?
        var std_ref: Double?
        var linf: Double?
        var chi2_statistic: Double?
        var chi2_pvalue: Double?
        var chi2_dof: Int?
    }
    var cases: [Case]

    static func load() throws -> DriftStatsFixture {
        let url = try #require(Bundle.module.url(forResource: "drift_stats", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(DriftStatsFixture.self, from: Data(contentsOf: url))
    }
}

extension DriftStatsFixture.Case {
    var asPSICase: PSIFixture.Case {
        PSIFixture.Case(
            name: name, kind: kind, bins: bins, reference: reference, current: current, edges: nil, categories: nil,
            reference_counts: reference_counts, current_counts: current_counts, psi: psi)
    }
}

func close(_ a: Double?, _ b: Double?, _ tolerance: Double = 1e-9) -> Bool {
    guard let a, let b else { return a == nil && b == nil }
    return abs(a - b) <= tolerance * max(1, abs(b))
}

@Suite("Drift statistics agree with SciPy and NumPy")
struct DriftStatisticsTests {
    static let names = (try? DriftStatsFixture.load().cases.map(\.name)) ?? []

    @Test("PSI, Jensen–Shannon, Wasserstein, chi-squared, L-infinity and missing shares match", arguments: names)
    func matchesFixture(name: String) throws {
        let c = try #require(try DriftStatsFixture.load().cases.first { $0.name == name })
        let shim = c.asPSICase
        let refColumn = shim.column(c.reference), curColumn = shim.column(c.current)
        let profile = ColumnProfile(name: name, column: refColumn, bins: c.bins, sampleSize: 1_000_000)
        #expect(profile.counts == c.reference_counts)
        let counts = profile.binCounts(curColumn)
        #expect(counts == c.current_counts)
        #expect(close(psi(reference: profile.counts, current: counts), c.psi))
        #expect(close(jensenShannon(profile.counts, counts), c.js_distance))
        #expect(close(Double(profile.missing) / Double(profile.rows), c.missing_share_ref, 1e-15))
        #expect(close(Double(counts.last!) / Double(c.current.count), c.missing_share_cur, 1e-15))
        if c.kind == "numeric" {
            #expect(close(profile.mean, c.mean_ref, 1e-12))
            #expect(close(profile.std, c.std_ref, 1e-12))
            guard case .numeric(let values) = curColumn else { return }
            let current = sortedPresent(values, buffers: SortBuffers())
            if c.wasserstein == nil {
                #expect(profile.sample.values.isEmpty || current.isEmpty)
            } else {
                let w = wasserstein(sortedA: profile.sample.values, sortedB: current)
                #expect(close(w, c.wasserstein))
                #expect(close(w / max(profile.std ?? 0, 0.001), c.wasserstein_normed))
            }
            // Through the detector too: the normed Wasserstein it reports is the fixture's.
            var policy = DriftPolicy()
            policy.numericMethod = .wasserstein
            let result = DriftDetector.column(profile, curColumn, policy: policy)
            if c.wasserstein_normed != nil { #expect(close(result.statistic, c.wasserstein_normed)) }
        } else {
            #expect(close(lInfinity(profile.counts, counts), c.linf))
            let chi = chiSquaredContingency(Array(profile.counts.dropLast()), Array(counts.dropLast()))
            #expect(close(chi?.statistic, c.chi2_statistic))
            #expect(close(chi?.pValue, c.chi2_pvalue))
            #expect(chi?.dof == c.chi2_dof)
        }
    }

    @Test("Evidently's check values are reproduced: normed Wasserstein 0.207466, categorical JS 0.047044")
    func evidentlyCheckValues() throws {
        let cases = try DriftStatsFixture.load().cases
        let numeric = try #require(cases.first { $0.name == "normal_vs_shifted_normal" })
        #expect(abs(numeric.wasserstein_normed! - 0.207466) < 5e-7)
        let categorical = try #require(cases.first { $0.name == "categorical_five_levels" })
        #expect(abs(categorical.js_distance! - 0.047044) < 5e-7)
        #expect(abs(categorical.psi - 0.017739) < 5e-7)
    }

    @Test("the chi-squared survival function matches known values, including far tails")
    func chiSquaredTail() {
        // scipy.stats.chi2.sf(x, k)
        #expect(close(chiSquaredSF(3.841458820694124, dof: 1), 0.04999999999999989, 1e-12))
        #expect(close(chiSquaredSF(10, dof: 4), 0.04042768199451279, 1e-12))
        #expect(close(chiSquaredSF(500, dof: 3), 4.771672031912771e-108, 1e-9))
        #expect(chiSquaredSF(0, dof: 2) == 1)
    }
}
