import Tabular
import Testing

@testable import Training

@Suite("Training reads the design matrix from the table's columns")
struct InputColumnsTests {
    static let features = ["a", "b", "c", "d", "e", "k"]

    /// Five numeric features (a group of four and one more; two with missing values, so with
    /// indicators) and a categorical one, fitted on `fit`; `score` then brings missing codes and a
    /// level the preprocessor never saw.
    func tables(rows: Int) -> (fit: DataTable, score: DataTable) {
        var rng = SplitMix64(seed: 7)
        func numbers(missingEvery k: Int) -> Column {
            .numeric((0..<rows).map { r in k > 0 && r % k == 3 ? .nan : 1000 + 50 * rng.nextUnit() })
        }
        let fit = DataTable(
            names: Self.features,
            columns: [
                numbers(missingEvery: 0), numbers(missingEvery: 7), numbers(missingEvery: 0), numbers(missingEvery: 0),
                numbers(missingEvery: 9), .categorical(codes: (0..<rows).map { Int32($0 % 3) }, levels: ["x", "y", "z"]),
            ])
        let score = DataTable(
            names: Self.features,
            columns: [
                numbers(missingEvery: 0), numbers(missingEvery: 5), numbers(missingEvery: 0), numbers(missingEvery: 0),
                numbers(missingEvery: 4),
                .categorical(codes: (0..<rows).map { $0 % 11 == 0 ? -1 : Int32($0 % 4) }, levels: ["z", "new", "x", "y"]),
            ])
        return (fit, score)
    }

    @Test("products with weights and with residuals equal those of the stored matrix, on any run of rows")
    func productsMatchTheMatrix() throws {
        let (fit, score) = tables(rows: 1_003)
        let p = try Preprocessor.fit(fit, features: Self.features)
        let inputs = try p.inputs(score)
        let x = try p.transform(score)
        let d = p.width
        #expect(inputs.width == d && d == 5 + 2 + 4)
        var rng = SplitMix64(seed: 11)
        let w = (0..<d).map { _ in rng.nextUnit() - 0.5 }
        let v = (0..<score.rowCount).map { _ in rng.nextUnit() - 0.5 }
        // Runs that start and end off the four-row steps, a run shorter than a step, the whole table.
        for rows in [0..<1_003, 1..<1_002, 5..<8, 500..<501, 256..<768] {
            var z = [Double](repeating: 0.25, count: rows.count)
            w.withUnsafeBufferPointer { w in z.withUnsafeMutableBufferPointer { inputs.multiply(w.baseAddress!, rows: rows, adding: $0.baseAddress!) } }
            for (i, r) in rows.enumerated() {
                let expected = (0..<d).reduce(0.25) { $0 + w[$1] * x[r * d + $1] }
                #expect(abs(z[i] - expected) <= 1e-13 * max(1, abs(expected)), "row \(r)")
            }
            var g = [Double](repeating: 1, count: d)
            let part = Array(v[rows])
            part.withUnsafeBufferPointer { v in g.withUnsafeMutableBufferPointer { inputs.multiplyTransposed(v.baseAddress!, rows: rows, adding: $0.baseAddress!) } }
            for j in 0..<d {
                let expected = rows.reduce(1.0) { $0 + v[$1] * x[$1 * d + j] }
                #expect(abs(g[j] - expected) <= 1e-12 * max(1, abs(expected)), "input \(j) over \(rows)")
            }
        }
    }

    @Test("the stored matrix standardises by division, as docs/artifact.md's reader does")
    func matrixDivides() throws {
        let (fit, score) = tables(rows: 50)
        let p = try Preprocessor.fit(fit, features: Self.features)
        let x = try p.transform(score)
        guard case .numeric(let a)? = score.column("a") else { Issue.record("a is numeric"); return }
        for r in 0..<50 { #expect(x[r * p.width] == (a[r] - p.numeric[0].mean) / p.numeric[0].scale) }
    }
}
