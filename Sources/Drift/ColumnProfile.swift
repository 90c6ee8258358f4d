import Tabular

/// The compact statistics of one reference column that every drift check needs: bin edges or
/// categories with their counts, the missing count, moments, the number of distinct values (up to
/// 6) and a bounded uniform sample for KS and Wasserstein. Stored with each model version, so later
/// checks need none of the original data. Defined exactly in docs/drift.md.
///
/// Bins:
/// - numeric: edges are the reference quantiles at k/B, k = 1…B−1 (numpy's "linear" method),
///   duplicates removed; bins are (−∞, e₁], (e₁, e₂], …, (e_last, +∞), so values outside the
///   reference range fall in the outer bins; then a "missing" bin.
/// - categorical: the sorted reference categories, then an "unseen" bin for categories the
///   reference never had, then a "missing" bin.
package struct ColumnProfile: Sendable, Codable, Equatable {
    package var name: String
    package var kind: ColumnKind
    /// Rows, missing ones included.
    package var rows: Int
    /// Inner bin edges (numeric columns).
    package var edges: [Double]
    /// Sorted categories (categorical columns).
    package var categories: [String]
    /// Counts per bin, then (categorical) the unseen bin, then the missing bin.
    package var counts: [Int]
    /// Mean and population standard deviation of the non-missing values (numeric columns).
    package var mean: Double?
    package var std: Double?
    /// Distinct non-missing values, counted up to `distinctCap`.
    package var distinct: Int
    /// A sorted uniform sample of the non-missing values (numeric columns): all of them when there
    /// are at most `sampleSize`, else `sampleSize` chosen with a fixed seed.
    package var sample: PackedDoubles

    package static let distinctCap = 6

    package var missing: Int { counts.last ?? 0 }
    package var present: Int { rows - missing }

    /// The profile of a reference column.
    package init(
        name: String, column: Column, bins: Int, sampleSize: Int = 10_000, seed: UInt64 = 0,
        sortBuffers: SortBuffers = SortBuffers()
    ) {
        self.name = name
        self.kind = column.kind
        self.rows = column.count
        switch column {
        case .numeric(let values):
            let sorted = sortedPresent(values, buffers: sortBuffers)
            defer { sortBuffers.give(sorted) }
            var edges: [Double] = []
            if !sorted.isEmpty {
                for k in 1..<bins {
                    let e = quantile(sorted, Double(k) / Double(bins))
                    if edges.last != e { edges.append(e) }
                }
            }
            self.edges = edges
            self.categories = []
            var distinct = 0
            var previous = Double.nan
            for x in sorted where x != previous {
                distinct += 1
                previous = x
                if distinct == Self.distinctCap { break }
            }
            self.distinct = distinct
            let m = moments(sorted)
            self.mean = m?.mean
            self.std = m?.std
            if sorted.count <= sampleSize {
                self.sample = PackedDoubles(sorted)
            } else {
                // Uniform positions in the sorted array: a uniform sample that comes out sorted.
                self.sample = PackedDoubles(sampleIndexes(sorted.count, sampleSize, seed: seed).map { sorted[$0] })
            }
            // From the sorted values, as binCounts would count them: bin k holds the values above
            // edge k-1 up to edge k, then the values above the last edge, then the missing ones.
            var counts: [Int] = []
            var below = 0
            for e in edges {
                let upTo = upperBound(sorted, e)
                counts.append(upTo - below)
                below = upTo
            }
            self.counts = counts + [sorted.count - below, values.count - sorted.count]
        case .categorical(let codes, let levels):
            var seen = [Bool](repeating: false, count: levels.count)
            for c in codes where c >= 0 { seen[Int(c)] = true }
            self.edges = []
            self.categories = levels.indices.filter { seen[$0] }.map { levels[$0] }.sorted()
            self.distinct = min(categories.count, Self.distinctCap)
            self.sample = PackedDoubles([])
            self.counts = []
            self.counts = binCounts(column)
        }
    }

    /// Counts of `column`'s values in this profile's bins (the same layout as ``counts``).
    package func binCounts(_ column: Column) -> [Int] {
        switch column {
        case .numeric(let values):
            var counts = [Int](repeating: 0, count: edges.count + 2)
            let missingBin = edges.count + 1
            edges.withUnsafeBufferPointer { e in
                counts.withUnsafeMutableBufferPointer { c in
                    values.withUnsafeBufferPointer { v in
                        if e.count <= 32 {
                            // Few edges: a block of values at a time, each edge compared with the
                            // whole block (a loop the compiler vectorises), then the block counted.
                            let block = 1024
                            let bins = UnsafeMutablePointer<Int32>.allocate(capacity: block)
                            defer { bins.deallocate() }
                            for start in stride(from: 0, to: v.count, by: block) {
                                let count = min(block, v.count - start)
                                let x = v.baseAddress! + start
                                bins.initialize(repeating: 0, count: count)
                                for edge in e {
                                    for i in 0..<count { bins[i] &+= x[i] > edge ? 1 : 0 }
                                }
                                for i in 0..<count { c[x[i].isNaN ? missingBin : Int(bins[i])] &+= 1 }
                            }
                        } else {
                            // The number of edges below x, by binary search.
                            for x in v {
                                var lo = 0, hi = e.count
                                while lo < hi {
                                    let mid = (lo + hi) / 2
                                    if e[mid] < x { lo = mid + 1 } else { hi = mid }
                                }
                                c[x.isNaN ? missingBin : lo] &+= 1
                            }
                        }
                    }
                }
            }
            return counts
        case .categorical(let codes, let levels):
            let index = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, $0) })
            let unseen = categories.count
            let map = levels.map { index[$0] ?? unseen }
            var counts = [Int](repeating: 0, count: categories.count + 2)
            for c in codes {
                counts[c < 0 ? unseen + 1 : map[Int(c)]] += 1
            }
            return counts
        }
    }
}

/// Mean and population standard deviation (two-pass, for accuracy).
func moments(_ values: [Double]) -> (mean: Double, std: Double)? {
    guard !values.isEmpty else { return nil }
    let n = Double(values.count)
    let mean = values.reduce(0, +) / n
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
    return (mean, variance.squareRoot())
}

/// numpy's default ("linear", type 7) quantile of sorted values, including its choice of formula
/// on each side of the midpoint so that results agree bit for bit.
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    let h = Double(sorted.count - 1) * q
    let lo = Int(h.rounded(.down))
    let hi = min(lo + 1, sorted.count - 1)
    let g = h - Double(lo)
    let d = sorted[hi] - sorted[lo]
    return g < 0.5 ? sorted[lo] + d * g : sorted[hi] - d * (1 - g)
}

/// The number of sorted values at most `x` (numpy's `searchsorted(side="right")`).
func upperBound(_ sorted: [Double], _ x: Double) -> Int {
    var lo = 0, hi = sorted.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if sorted[mid] <= x { lo = mid + 1 } else { hi = mid }
    }
    return lo
}

/// `k` distinct indexes from `0..<n`, in increasing order, chosen uniformly with `seed` (SplitMix64).
///
/// Floyd's algorithm: k draws. The chosen indexes are kept as bits of `0..<n` and read back in
/// order: a `Set` and a sort of the k indexes took about 0.5 ms a column for a 10,000-value
/// reference sample, a fixed cost in every drift run that made small files cost more per row.
package func sampleIndexes(_ n: Int, _ k: Int, seed: UInt64) -> [Int] {
    guard k < n else { return Array(0..<n) }
    var g = SplitMix64(seed: seed)
    var chosen = [UInt64](repeating: 0, count: (n + 63) / 64)
    for j in (n - k)..<n {
        var t = Int(g.next() % UInt64(j + 1))
        if chosen[t >> 6] & (1 << UInt64(t & 63)) != 0 { t = j }  // j itself is never chosen yet
        chosen[t >> 6] |= 1 << UInt64(t & 63)
    }
    var indexes: [Int] = []
    indexes.reserveCapacity(k)
    for (w, word) in chosen.enumerated() {
        var bits = word
        while bits != 0 {
            indexes.append(w << 6 | bits.trailingZeroBitCount)
            bits &= bits - 1
        }
    }
    return indexes
}
