import Tabular

/// The compact statistics of one reference column that a drift check needs: bin edges or
/// categories and the counts per bin. Stored with each model version, so later checks need none of
/// the original data.
///
/// Binning (documented in docs/cycle.md):
/// - numeric: edges are the reference quantiles at k/B, k = 1…B−1 (numpy's "linear" method),
///   duplicates removed; bins are (−∞, e₁], (e₁, e₂], …, (e_last, +∞), so every reference value has a
///   bin and values outside the reference range fall in the outer bins; then a "missing" bin.
/// - categorical: the sorted reference categories, then an "unseen" bin for categories the
///   reference never had, then a "missing" bin.
public struct ColumnProfile: Sendable, Codable, Equatable {
    public var name: String
    public var kind: ColumnKind
    /// Inner bin edges (numeric columns).
    public var edges: [Double]
    /// Sorted categories (categorical columns).
    public var categories: [String]
    /// Counts per bin, then (categorical) the unseen bin, then the missing bin.
    public var counts: [Int]

    public var total: Int { counts.reduce(0, +) }
    public var missing: Int { counts.last ?? 0 }

    /// The profile of a reference column.
    public init(name: String, column: Column, bins: Int) {
        self.name = name
        self.kind = column.kind
        switch column {
        case .numeric(let values):
            let sorted = values.filter { !$0.isNaN }.sorted()
            var edges: [Double] = []
            if !sorted.isEmpty {
                for k in 1..<bins {
                    let e = quantile(sorted, Double(k) / Double(bins))
                    if edges.last != e { edges.append(e) }
                }
            }
            self.edges = edges
            self.categories = []
        case .categorical(let codes, let levels):
            var seen = [Bool](repeating: false, count: levels.count)
            for c in codes where c >= 0 { seen[Int(c)] = true }
            self.edges = []
            self.categories = levels.indices.filter { seen[$0] }.map { levels[$0] }.sorted()
        }
        self.counts = []
        self.counts = binCounts(column)
    }

    /// Counts of `column`'s values in this profile's bins (the same layout as ``counts``).
    public func binCounts(_ column: Column) -> [Int] {
        switch column {
        case .numeric(let values):
            var counts = [Int](repeating: 0, count: edges.count + 2)
            for x in values {
                if x.isNaN {
                    counts[edges.count + 1] += 1
                } else {
                    counts[lowerBound(edges, x)] += 1
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

/// The number of edges strictly below `x` (numpy's `searchsorted(side="left")`).
func lowerBound(_ edges: [Double], _ x: Double) -> Int {
    var lo = 0, hi = edges.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if edges[mid] < x { lo = mid + 1 } else { hi = mid }
    }
    return lo
}
