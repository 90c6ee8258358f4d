/// How a column's values are read.
package enum ColumnKind: String, Sendable, Codable {
    /// Numbers; missing values are `Double.nan`.
    case numeric
    /// Labels; stored as codes into `levels`, missing values are `-1`.
    case categorical
}

/// One column of a ``DataTable``, stored contiguously.
package enum Column: Sendable, Equatable {
    /// Numeric values; a missing value is `Double.nan`.
    case numeric([Double])
    /// Categorical values as indexes into `levels` (in order of first appearance); `-1` is missing.
    case categorical(codes: [Int32], levels: [String])

    package var kind: ColumnKind {
        switch self {
        case .numeric: .numeric
        case .categorical: .categorical
        }
    }

    package var count: Int {
        switch self {
        case .numeric(let v): v.count
        case .categorical(let c, _): c.count
        }
    }

    /// The number of missing values.
    package var missingCount: Int {
        switch self {
        case .numeric(let v): v.reduce(0) { $0 + ($1.isNaN ? 1 : 0) }
        case .categorical(let c, _): c.reduce(0) { $0 + ($1 < 0 ? 1 : 0) }
        }
    }

    /// A categorical column of `values` (levels in order of first appearance).
    package static func text(_ values: [String]) -> Column {
        var index: [String: Int32] = [:]
        var levels: [String] = []
        let codes = values.map { v -> Int32 in
            if let c = index[v] { return c }
            index[v] = Int32(levels.count)
            levels.append(v)
            return Int32(levels.count - 1)
        }
        return .categorical(codes: codes, levels: levels)
    }

    /// The value at `row` as a string (`nil` when missing), for messages and label decoding.
    package func string(at row: Int) -> String? {
        switch self {
        case .numeric(let v): v[row].isNaN ? nil : formatNumber(v[row])
        case .categorical(let c, let levels): c[row] < 0 ? nil : levels[Int(c[row])]
        }
    }

    /// The rows at `indexes`, in that order.
    package func rows(_ indexes: [Int]) -> Column {
        switch self {
        case .numeric(let v): return .numeric(indexes.map { v[$0] })
        case .categorical(let c, let levels): return .categorical(codes: indexes.map { c[$0] }, levels: levels)
        }
    }
}

/// Formats a number in its shortest exact form, without a trailing `.0` for integers, so that
/// labels such as `1` read back as written.
package func formatNumber(_ x: Double) -> String {
    if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
    return x.description
}
