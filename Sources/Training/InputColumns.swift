import Dispatch
import Tabular

/// The design matrix of a table as its ``Preprocessor`` defines it, read from the table's own
/// columns instead of stored: a numeric input is standardised as it is read, an indicator is 1 where
/// its column is missing, a categorical feature's one-hot input is found from its code.
///
/// Logistic regression trains on it and needs no second copy of the data: a stored design matrix
/// was as large as the columns it came from (1.6 GB for 10M rows × 20 numbers), and writing it,
/// fresh memory page by page, took longer at 10M rows than all the solver's passes over it.
/// ``Preprocessor/transform(_:)`` stores it, row-major, for what needs the rows themselves
/// (prediction, the other trainers).
package struct InputColumns: Sendable {
    struct Numeric: Sendable {
        var values: [Double]
        var mean: Double
        /// An input is `(x − mean) / scale` (0 where missing), as every reader of a model file computes
        /// it. ``InputColumns/multiply(_:rows:adding:)`` and its transpose, which read each input at
        /// every step of a training, multiply by `inverseScale` instead (a division costs as much as
        /// the rest of a step): the same to within a rounding.
        var scale: Double
        var inverseScale: Double
        /// This feature's input.
        var input: Int
        /// The input of its missing-value indicator, if it has one.
        var indicator: Int?
    }

    struct Categorical: Sendable {
        var codes: [Int32]
        /// Each of the table's levels' input: its one-hot input, or the unseen bucket's.
        var inputOfLevel: [Int]
        /// The input of a missing value (the unseen bucket).
        var missing: Int
    }

    var numeric: [Numeric]
    var categorical: [Categorical]
    package let width: Int
    package let rowCount: Int

    /// The input of value `x` of numeric feature `f`, as the products compute it.
    @inline(__always)
    static func standardised(_ x: Double, _ f: Numeric) -> Double { x.isNaN ? 0 : (x - f.mean) * f.inverseScale }

    @inline(__always)
    static func standardised(_ x: SIMD4<Double>, _ f: Numeric) -> SIMD4<Double> {
        ((x - f.mean) * f.inverseScale).replacing(with: 0, where: x .!= x)
    }

    /// Numeric features four at a time, then one at a time; `body` gets each group's features and the
    /// start of their values at row `from`. Four columns read side by side keep more of memory's
    /// bandwidth busy than one after another (half the time of the products on a million rows).
    private func forEachNumericGroup(
        from row: Int, _ body: (ArraySlice<Numeric>, [UnsafePointer<Double>]) -> Void
    ) {
        var k = 0
        while k < numeric.count {
            let group = numeric[k..<min(numeric.count, k + 4)]
            func pointers(_ rest: ArraySlice<Numeric>, _ found: [UnsafePointer<Double>]) {
                guard let f = rest.first else { return body(group, found) }
                f.values.withUnsafeBufferPointer { pointers(rest.dropFirst(), found + [$0.baseAddress! + row]) }
            }
            pointers(group, [])
            k += group.count
        }
    }

    /// For each row `rows.lowerBound + i` and categorical feature, `body(i, its one-hot input)`.
    @inline(__always)
    private func forEachCategoricalInput(rows: Range<Int>, _ body: (Int, Int) -> Void) {
        for c in categorical {
            c.codes.withUnsafeBufferPointer { codes in
                c.inputOfLevel.withUnsafeBufferPointer { inputOf in
                    let codes = codes.baseAddress! + rows.lowerBound
                    for i in 0..<rows.count {
                        let code = codes[i]
                        body(i, code < 0 ? c.missing : inputOf[Int(code)])
                    }
                }
            }
        }
    }

    /// `z[i] += Σ_j x[rows.lowerBound + i, j] · w[j]` for each row of `rows`: the rows' dot products
    /// with `w` (of `width` weights), added to `z`.
    package func multiply(_ w: UnsafePointer<Double>, rows: Range<Int>, adding z: UnsafeMutablePointer<Double>) {
        let m = rows.count
        forEachNumericGroup(from: rows.lowerBound) { group, x in
            let f = Array(group)
            var i = 0
            if f.count == 4 {
                let w0 = w[f[0].input], w1 = w[f[1].input], w2 = w[f[2].input], w3 = w[f[3].input]
                while i + 4 <= m {
                    let zi = UnsafeMutableRawPointer(z + i)
                    var sum = zi.loadUnaligned(as: SIMD4<Double>.self)
                    sum += w0 * Self.standardised(UnsafeRawPointer(x[0] + i).loadUnaligned(as: SIMD4<Double>.self), f[0])
                    sum += w1 * Self.standardised(UnsafeRawPointer(x[1] + i).loadUnaligned(as: SIMD4<Double>.self), f[1])
                    sum += w2 * Self.standardised(UnsafeRawPointer(x[2] + i).loadUnaligned(as: SIMD4<Double>.self), f[2])
                    sum += w3 * Self.standardised(UnsafeRawPointer(x[3] + i).loadUnaligned(as: SIMD4<Double>.self), f[3])
                    zi.storeBytes(of: sum, as: SIMD4<Double>.self)
                    i += 4
                }
            }
            while i < m {
                for (k, f) in f.enumerated() { z[i] += w[f.input] * Self.standardised(x[k][i], f) }
                i += 1
            }
            for (k, f) in f.enumerated() {
                guard let indicator = f.indicator else { continue }
                let weight = w[indicator]
                for i in 0..<m where x[k][i].isNaN { z[i] += weight }
            }
        }
        forEachCategoricalInput(rows: rows) { i, input in z[i] += w[input] }
    }

    /// `g[j] += Σ_i x[rows.lowerBound + i, j] · v[i]` for every input j: the rows' inputs weighted by
    /// `v` (one value per row of `rows`), added to `g` (of `width` values).
    package func multiplyTransposed(_ v: UnsafePointer<Double>, rows: Range<Int>, adding g: UnsafeMutablePointer<Double>) {
        let m = rows.count
        forEachNumericGroup(from: rows.lowerBound) { group, x in
            let f = Array(group)
            var sums = [Double](repeating: 0, count: f.count)
            var i = 0
            if f.count == 4 {
                var s0 = SIMD4<Double>(repeating: 0), s1 = s0, s2 = s0, s3 = s0
                while i + 4 <= m {
                    let vi = UnsafeRawPointer(v + i).loadUnaligned(as: SIMD4<Double>.self)
                    s0 += vi * Self.standardised(UnsafeRawPointer(x[0] + i).loadUnaligned(as: SIMD4<Double>.self), f[0])
                    s1 += vi * Self.standardised(UnsafeRawPointer(x[1] + i).loadUnaligned(as: SIMD4<Double>.self), f[1])
                    s2 += vi * Self.standardised(UnsafeRawPointer(x[2] + i).loadUnaligned(as: SIMD4<Double>.self), f[2])
                    s3 += vi * Self.standardised(UnsafeRawPointer(x[3] + i).loadUnaligned(as: SIMD4<Double>.self), f[3])
                    i += 4
                }
                for (k, s) in [s0, s1, s2, s3].enumerated() { sums[k] = (s[0] + s[1]) + (s[2] + s[3]) }
            }
            while i < m {
                for (k, f) in f.enumerated() { sums[k] += v[i] * Self.standardised(x[k][i], f) }
                i += 1
            }
            for (k, f) in f.enumerated() {
                g[f.input] += sums[k]
                guard let indicator = f.indicator else { continue }
                var missing = 0.0
                for i in 0..<m where x[k][i].isNaN { missing += v[i] }
                g[indicator] += missing
            }
        }
        forEachCategoricalInput(rows: rows) { i, input in g[input] += v[i] }
    }

    /// The design matrix, row-major (`rowCount × width`).
    package func matrix() -> [Double] {
        let width = self.width, n = rowCount
        // Filled a block of rows at a time (the block stays in cache while each feature writes its
        // column of it), blocks in parallel.
        return [Double](unsafeUninitializedCapacity: n * width) { buffer, count in
            count = n * width
            guard n > 0, width > 0 else { return }
            let base = DisjointWrites(buffer.baseAddress!)
            let blockRows = 2048
            DispatchQueue.concurrentPerform(iterations: (n + blockRows - 1) / blockRows) { b in
                let lower = b * blockRows, upper = min(n, lower + blockRows)
                let x = base.pointer + lower * width
                x.initialize(repeating: 0, count: (upper - lower) * width)
                for f in numeric {
                    for r in lower..<upper {
                        let v = f.values[r]
                        if v.isNaN {
                            if let indicator = f.indicator { x[(r - lower) * width + indicator] = 1 }
                        } else {
                            x[(r - lower) * width + f.input] = (v - f.mean) / f.scale
                        }
                    }
                }
                for c in categorical {
                    for r in lower..<upper {
                        let code = c.codes[r]
                        x[(r - lower) * width + (code < 0 ? c.missing : c.inputOfLevel[Int(code)])] = 1
                    }
                }
            }
        }
    }
}

extension Preprocessor {
    /// The design matrix of `table` as ``InputColumns``: its columns, looked up and checked once.
    package func inputs(_ table: DataTable) throws -> InputColumns {
        var next = numeric.count
        let numbers: [InputColumns.Numeric] = try numeric.enumerated().map { k, f in
            guard case .numeric(let values)? = table.column(f.name) else {
                throw TrainingError("numeric feature \"\(f.name)\" is missing or not numeric")
            }
            var indicator: Int?
            if f.missingIndicator {
                indicator = next
                next += 1
            }
            return .init(values: values, mean: f.mean, scale: f.scale, inverseScale: 1 / f.scale, input: k, indicator: indicator)
        }
        let categories: [InputColumns.Categorical] = try categorical.map { f in
            guard case .categorical(let codes, let levels)? = table.column(f.name) else {
                throw TrainingError("categorical feature \"\(f.name)\" is missing or not categorical")
            }
            let offset = next
            next += f.levels.count + 1
            // A level the preprocessor does not know goes to the unseen bucket, as a missing value does.
            let index = Dictionary(f.levels.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            let other = offset + f.levels.count
            return .init(codes: codes, inputOfLevel: levels.map { index[$0].map { offset + $0 } ?? other }, missing: other)
        }
        return InputColumns(numeric: numbers, categorical: categories, width: next, rowCount: table.rowCount)
    }
}
