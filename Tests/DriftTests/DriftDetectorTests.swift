import Foundation
import Tabular
import Testing

@testable import Drift

@Suite("The drift verdict")
struct DriftDetectorTests {
    func normal(_ n: Int, shift: Double, seed: UInt64) -> [Double] {
        var state = seed
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        return (0..<n).map { _ in (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) + shift }
    }

    var policy: DriftPolicy {
        var p = DriftPolicy()
        p.numericMethod = .psi
        return p
    }

    func reference(_ n: Int = 5000) -> [ColumnProfile] {
        ["a", "b", "c"].enumerated().map { i, name in
            ColumnProfile(name: name, column: .numeric(normal(n, shift: 0, seed: UInt64(i + 1))), bins: 10)
        }
    }

    func table(_ shifts: [Double], n: Int = 3000) -> DataTable {
        DataTable(names: ["a", "b", "c"], columns: shifts.enumerated().map { .numeric(normal(n, shift: $1, seed: UInt64(10 + $0))) })
    }

    func report(_ ref: [ColumnProfile], _ cur: DataTable, _ policy: DriftPolicy, concept: PerformanceDrift? = nil) -> DriftReport {
        let c = DriftDetector.compare(reference: ref, current: cur, policy: policy)
        return DriftReport(columns: c.columns, schemaChanges: c.schemaChanges, performance: concept, policy: policy)
    }

    @Test("the same distribution is no drift")
    func noDrift() {
        let r = report(reference(), table([0, 0, 0]), policy)
        #expect(r.severity == .none)
        #expect(r.driftedColumns.isEmpty)
    }

    @Test("one column moderately shifted is moderate drift")
    func moderate() {
        let r = report(reference(), table([0.45, 0, 0]), policy)
        #expect(r.driftedColumns.map(\.column) == ["a"])
        #expect(r.severity == .moderate)
    }

    @Test("a drifted column far beyond severe_psi is severe drift")
    func severeByPSI() {
        #expect(report(reference(), table([2, 0, 0]), policy).severity == .severe)
    }

    @Test("severity says which rule made it severe, with the numbers, or why it is only moderate")
    func severityReasons() {
        let severe = report(reference(), table([2, 0, 0]), policy)
        #expect(severe.severityReasons?.count == 1)
        #expect(severe.severityReasons?.first?.hasPrefix("a's PSI ") == true && severe.severityReasons?.first?.hasSuffix(" ≥ severe_psi 0.25") == true)
        let moderate = report(reference(), table([0.45, 0, 0]), policy)
        #expect(moderate.severityReasons?.first?.hasPrefix("1 of 3 columns drifted, weighted share 0.3333 < severe_share 0.5; largest PSI ") == true)
        let share = report(reference(), table([0.45, 0.45, 0]), policy)
        #expect(share.severity == .severe)
        #expect(share.severityReasons == ["2 of 3 columns drifted, weighted share 0.6667 ≥ severe_share 0.5"])
    }

    /// Three stable numeric columns and a categorical one over x, y, z, whose current batch has
    /// `newShare` of its rows in a category the reference never had.
    func newCategory(_ newShare: Double) -> DriftReport {
        let ref = ColumnProfile(name: "k", column: .categorical(codes: (0..<3000).map { Int32($0 % 3) }, levels: ["x", "y", "z"]), bins: 10)
        let fresh = Int(3000 * newShare)
        let codes = (0..<3000).map { Int32($0 < fresh ? 3 : $0 % 3) }
        let stable = table([0, 0, 0])
        let t = DataTable(names: stable.names + ["k"], columns: stable.columns + [.categorical(codes: codes, levels: ["x", "y", "z", "new"])])
        let c = DriftDetector.compare(reference: reference() + [ref], current: t, policy: DriftPolicy())
        return DriftReport(columns: c.columns, schemaChanges: c.schemaChanges, policy: DriftPolicy())
    }

    @Test("a new category is judged by its share (severe_unseen_share 5 %), not by the smoothed PSI of its empty reference bin")
    func newCategoryShare() throws {
        let small = newCategory(0.03)
        let column = try #require(small.columns.first { $0.column == "k" })
        #expect(column.drifted, "a category the reference never had is drift")
        #expect(abs((column.unseenShare ?? 0) - 0.03) < 1e-12)
        #expect((column.psi ?? 0) > 0.1, "the smoothed PSI term alone: (0.03 − 1e-4)·ln(300) ≈ 0.17")
        #expect((column.psiWithoutUnseen ?? 1) < 0.01)
        #expect(small.severity == .moderate, "\(small.severityReasons ?? [])")
        let large = newCategory(0.08)
        #expect(large.severity == .severe)
        #expect(large.severityReasons == ["8.0% of k's values are in categories the reference never had (≥ severe_unseen_share 5.0%)"])
    }

    @Test("a column over severe_psi that did not drift by its own threshold does not make drift severe")
    func severeNeedsDriftedColumn() {
        var p = policy
        p.columns["a"] = .init(threshold: 50)
        let r = report(reference(), table([2, 0, 0]), p)
        #expect(r.severity == .none)
    }

    @Test("a missing column is a schema change and severe; the other columns are still checked")
    func schemaChange() {
        let t = DataTable(names: ["a", "b"], columns: [.numeric(normal(100, shift: 0, seed: 5)), .numeric(normal(100, shift: 0, seed: 6))])
        let r = report(reference(), t, policy)
        #expect(r.severity == .severe)
        #expect(r.schemaChanges == ["column \"c\": column is missing from the current data"])
        #expect(r.columns.filter { $0.status == .ok }.count == 2)
    }

    @Test("a numeric column that now holds text is a schema change of that column alone")
    func kindChanged() {
        var t = table([0, 0, 0])
        t = DataTable(names: t.names, columns: [t.columns[0], t.columns[1], .categorical(codes: (0..<3000).map { Int32($0 % 2) }, levels: ["x", "y"])])
        let r = report(reference(), t, policy)
        let c = r.columns.first { $0.column == "c" }
        #expect(c?.status == .kindChanged)
        #expect(c?.message == "was numeric, now text")
        #expect(r.columns.first { $0.column == "a" }?.status == .ok)
    }

    @Test("a significant drop of accuracy is concept drift even without feature drift")
    func conceptDrift() {
        let big = DriftDetector.accuracyDrop(reference: 0.8, referenceRows: 1000, current: 0.6, currentRows: 1000, minDrop: 0.02, alpha: 0.01)
        #expect(big.drifted)
        #expect(report(reference(), table([0, 0, 0]), policy, concept: big).severity == .severe)
        let noise = DriftDetector.accuracyDrop(reference: 0.8, referenceRows: 50, current: 0.76, currentRows: 50, minDrop: 0.02, alpha: 0.01)
        #expect(!noise.drifted, "a 4-point fall on 50 rows is not significant")
        #expect(noise.pValue > 0.01)
    }

    @Test("the accuracy-drop p-value is the one-sided two-proportion z-test")
    func accuracyZTest() {
        // 0.8 on 1000 rows vs 0.75 on 800 rows: pooled p = 0.7778, se = 0.01972, z = -2.5355.
        let d = DriftDetector.accuracyDrop(reference: 0.8, referenceRows: 1000, current: 0.75, currentRows: 800, minDrop: 0, alpha: 1)
        #expect(abs(d.pValue - 0.005614943326458332) < 1e-12)
    }

    @Test("a category never seen in the reference is counted in its own bucket and reported")
    func unseenCategory() {
        let ref = ColumnProfile(name: "k", column: .categorical(codes: [0, 1, 0, 1], levels: ["x", "y"]), bins: 10)
        let t = DataTable(names: ["k"], columns: [.categorical(codes: [0, 1, 2, 2], levels: ["x", "y", "z"])])
        let r = report([ref], t, policy)
        #expect(ref.binCounts(t.columns[0]) == [1, 1, 2, 0])
        #expect(r.columns[0].message?.contains("2 values in categories the reference never had") == true)
    }

    @Test("all-missing and constant columns get their own status and the others carry on")
    func isolatedColumns() {
        let ref = [
            ColumnProfile(name: "empty", column: .numeric([.nan, .nan]), bins: 10),
            ColumnProfile(name: "const", column: .numeric([3, 3, 3, 3]), bins: 10),
            ColumnProfile(name: "ok", column: .numeric([1, 2, 3, 4]), bins: 10),
        ]
        let cur = DataTable(names: ["empty", "const", "ok"], columns: [.numeric([1, 2]), .numeric([.nan, .nan]), .numeric([1, 2])])
        let r = report(ref, cur, DriftPolicy())
        let byName = Dictionary(uniqueKeysWithValues: r.columns.map { ($0.column, $0) })
        #expect(byName["empty"]?.status == .referenceAllMissing)
        #expect(byName["empty"]?.drifted == true, "missing share went from 100% to 0%")
        #expect(byName["const"]?.status == .currentAllMissing)
        #expect(byName["ok"]?.status == .ok)
        #expect(byName["ok"]?.method == .chi2, "4 distinct values are too few for KS")
    }

    @Test("methods are chosen by column type and reference size, as Evidently does")
    func automaticMethods() {
        let small = ColumnProfile(name: "x", column: .numeric(normal(1000, shift: 0, seed: 1)), bins: 10)
        let large = ColumnProfile(name: "x", column: .numeric(normal(1001, shift: 0, seed: 1)), bins: 10)
        let fewValues = ColumnProfile(name: "x", column: .numeric((0..<5000).map { Double($0 % 5) }), bins: 10)
        let cat = ColumnProfile(name: "k", column: .categorical(codes: [0, 1], levels: ["a", "b"]), bins: 10)
        #expect(DriftMethod.automatic(for: small) == .ks)
        #expect(DriftMethod.automatic(for: large) == .wasserstein)
        #expect(DriftMethod.automatic(for: fewValues) == .js)
        #expect(DriftMethod.automatic(for: cat) == .chi2)
    }

    @Test("Bonferroni and Benjamini–Hochberg change which p-value tests count as drift")
    func multipleTesting() {
        func column(_ name: String, _ p: Double) -> ColumnDrift {
            ColumnDrift(column: name, kind: "numeric", status: .ok, method: .ks, statistic: 0, pValue: p, threshold: 0.05, drifted: p <= 0.05, weight: 1)
        }
        let ps = [0.001, 0.012, 0.03, 0.04, 0.2]
        var none = DriftPolicy()
        var cols = ps.enumerated().map { column("c\($0)", $1) }
        DriftDetector.applyCorrection(&cols, policy: none)
        #expect(cols.filter(\.drifted).count == 4)
        none.correction = .bonferroni
        cols = ps.enumerated().map { column("c\($0)", $1) }
        DriftDetector.applyCorrection(&cols, policy: none)
        #expect(cols.filter(\.drifted).map(\.column) == ["c0"])
        #expect(cols[0].threshold == 0.01)
        none.correction = .benjaminiHochberg
        cols = ps.enumerated().map { column("c\($0)", $1) }
        DriftDetector.applyCorrection(&cols, policy: none)
        // BH at 0.05 with m = 5: 0.001 ≤ 0.01, 0.012 ≤ 0.02, 0.03 ≤ 0.03, 0.04 ≤ 0.04 → the first four.
        #expect(cols.filter(\.drifted).map(\.column) == ["c0", "c1", "c2", "c3"])
    }

    @Test("the weighted share of drifted columns uses the per-column weights")
    func weightedShare() {
        var p = policy
        p.columns["a"] = .init(weight: 3)
        let r = report(reference(), table([2, 0, 0]), p)
        #expect(abs(r.driftedShare - 0.6) < 1e-12)
    }

    @Test("a reference sample is bounded, sorted and reproducible")
    func referenceSample() {
        let values = normal(50_000, shift: 0, seed: 3)
        let a = ColumnProfile(name: "x", column: .numeric(values), bins: 10, sampleSize: 1000, seed: 9)
        let b = ColumnProfile(name: "x", column: .numeric(values), bins: 10, sampleSize: 1000, seed: 9)
        #expect(a.sample.values.count == 1000)
        #expect(a.sample.values == a.sample.values.sorted())
        #expect(a == b)
        let json = try! JSONEncoder().encode(a)
        #expect(try! JSONDecoder().decode(ColumnProfile.self, from: json) == a)
    }
}

@Suite("Sorting columns")
struct SortingTests {
    @Test("the radix sort agrees with the standard sort, with negatives, zeros, infinities and missing values")
    func radixSortAgrees() {
        var state: UInt64 = 42
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
        var values: [Double] = (0..<50_000).map { _ in Double(Int64(bitPattern: next()) >> 20) / 1e6 }
        values += [0, -0.0, .infinity, -.infinity, .nan, .nan, 1e-310, -1e-310, .greatestFiniteMagnitude]
        values += (0..<5000).map { _ in Double(next() % 7) }  // ties
        let expected = values.filter { !$0.isNaN }.sorted()
        let sorted = sortedPresent(values, buffers: SortBuffers())
        #expect(sorted.count == expected.count)
        #expect(zip(sorted, expected).allSatisfy { $0 == $1 })
    }

    @Test("arrays lent again to later sorts, larger and smaller, leave each sort's result as a fresh sort's")
    func reusedBuffersSortAlike() {
        var state: UInt64 = 7
        func column(_ n: Int) -> [Double] {
            (0..<n).map { i in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return i % 13 == 0 ? .nan : Double(Int64(bitPattern: state) >> 11) / 1e9
            }
        }
        let buffers = SortBuffers()
        // Each result goes back before the next sort, as the drift computations do; the sizes make
        // the lent arrays shrink, grow within their capacity, be too small (a fresh one instead),
        // and hold values of an earlier column.
        for n in [30_000, 9_000, 60_000, 60_000, 5_000, 20_000] {
            let values = column(n)
            let sorted = sortedPresent(values, buffers: buffers)
            #expect(sorted == values.filter { !$0.isNaN }.sorted(), "\(n) values")
            buffers.give(sorted)
        }
    }

    @Test("the reference sample's indexes are Floyd's algorithm's, as a set and a sort of it choose them")
    func sampleIndexesAreFloyds() {
        /// Floyd's algorithm as it was written first: a Set of the draws, then sorted.
        func reference(_ n: Int, _ k: Int, seed: UInt64) -> [Int] {
            guard k < n else { return Array(0..<n) }
            var g = SplitMix64(seed: seed)
            var chosen = Set<Int>()
            for j in (n - k)..<n {
                let t = Int(g.next() % UInt64(j + 1))
                if !chosen.insert(t).inserted { chosen.insert(j) }
            }
            return chosen.sorted()
        }
        for (n, k) in [(0, 0), (1, 0), (5, 5), (5, 9), (64, 63), (65, 64), (100, 1), (1000, 999), (100_000, 10_000), (10_000, 9_999)] {
            for seed: UInt64 in [0, 1, 18, .max] {
                let got = sampleIndexes(n, k, seed: seed)
                #expect(got == reference(n, k, seed: seed), "n \(n), k \(k), seed \(seed)")
                #expect(got.count == min(n, k))
            }
        }
    }
}

@Suite("Drift verdict details")
struct DriftVerdictDetailTests {
    @Test("a drifted column of weight 0 is reported but does not move the verdict")
    func weightZero() {
        var p = DriftPolicy()
        p.numericMethod = .psi
        p.columns["a"] = .init(weight: 0)
        let ref = [ColumnProfile(name: "a", column: .numeric((0..<2000).map { Double($0 % 100) }), bins: 10)]
        let cur = DataTable(names: ["a"], columns: [.numeric((0..<2000).map { Double($0 % 100) + 50 })])
        let c = DriftDetector.compare(reference: ref, current: cur, policy: p)
        let r = DriftReport(columns: c.columns, policy: p)
        #expect(r.columns[0].drifted)
        #expect(r.severity == .none)
    }

    @Test("a column that drifted only through its missing share is summarised by its missing share")
    func missingShareSummary() {
        var p = DriftPolicy()
        p.numericMethod = .wasserstein  // compares present values only
        let values = (0..<2000).map { Double($0 % 100) }
        let ref = [ColumnProfile(name: "a", column: .numeric(values), bins: 10)]
        let cur = DataTable(names: ["a"], columns: [.numeric(values.enumerated().map { $0.offset % 4 == 0 ? .nan : $0.element })])
        let c = DriftDetector.compare(reference: ref, current: cur, policy: p)
        let r = DriftReport(columns: c.columns, policy: p)
        #expect(r.summary.contains("a missing 0.0%→25.0%"), "\(r.summary)")
    }
}
