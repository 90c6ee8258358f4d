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

    let policy = DriftPolicy(threshold: { _ in 0.1 }, severePSI: 0.25, severeShare: 0.5, maxAccuracyDrop: 0.05)

    func reference() -> [ColumnProfile] {
        [
            ColumnProfile(name: "a", column: .numeric(normal(5000, shift: 0, seed: 1)), bins: 10),
            ColumnProfile(name: "b", column: .numeric(normal(5000, shift: 0, seed: 2)), bins: 10),
            ColumnProfile(name: "c", column: .numeric(normal(5000, shift: 0, seed: 3)), bins: 10),
        ]
    }

    func table(_ shifts: [Double]) -> DataTable {
        DataTable(names: ["a", "b", "c"], columns: shifts.enumerated().map { .numeric(normal(3000, shift: $1, seed: UInt64(10 + $0))) })
    }

    @Test("the same distribution is no drift")
    func noDrift() {
        let r = DriftDetector.check(reference: reference(), current: table([0, 0, 0]), policy: policy)
        #expect(r.severity == .none)
        #expect(r.driftedColumns.isEmpty)
    }

    @Test("one column moderately shifted is moderate drift")
    func moderate() {
        let r = DriftDetector.check(reference: reference(), current: table([0.45, 0, 0]), policy: policy)
        #expect(r.driftedColumns.map(\.column) == ["a"])
        #expect(r.severity == .moderate)
    }

    @Test("a column shifted far is severe drift")
    func severeByPSI() {
        let r = DriftDetector.check(reference: reference(), current: table([2, 0, 0]), policy: policy)
        #expect(r.severity == .severe)
    }

    @Test("a missing column is a schema change and severe; the other columns are still checked")
    func schemaChange() {
        let t = DataTable(names: ["a", "b"], columns: [.numeric(normal(100, shift: 0, seed: 5)), .numeric(normal(100, shift: 0, seed: 6))])
        let r = DriftDetector.check(reference: reference(), current: t, policy: policy)
        #expect(r.severity == .severe)
        #expect(r.schemaChanges.count == 1)
        #expect(r.columns.count == 2)
    }

    @Test("a drop of production accuracy beyond the limit is concept drift even without feature drift")
    func conceptDrift() {
        let r = DriftDetector.check(
            reference: reference(), current: table([0, 0, 0]), policy: policy, accuracyNow: 0.6, accuracyAtPromotion: 0.8)
        #expect(r.conceptDrift)
        #expect(r.severity == .severe)
        let small = DriftDetector.check(
            reference: reference(), current: table([0, 0, 0]), policy: policy, accuracyNow: 0.78, accuracyAtPromotion: 0.8)
        #expect(!small.conceptDrift)
    }

    @Test("a category never seen in the reference is counted in its own bucket and reported")
    func unseenCategory() {
        let ref = ColumnProfile(name: "k", column: .categorical(codes: [0, 1, 0, 1], levels: ["x", "y"]), bins: 10)
        let t = DataTable(names: ["k"], columns: [.categorical(codes: [0, 1, 2, 2], levels: ["x", "y", "z"])])
        let r = DriftDetector.check(reference: [ref], current: t, policy: policy)
        #expect(ref.binCounts(t.columns[0]) == [1, 1, 2, 0])
        #expect(r.columns[0].message?.contains("2 values in categories the reference never had") == true)
    }
}
