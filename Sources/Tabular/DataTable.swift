/// A table of named columns of equal length, loaded column-wise.
package struct DataTable: Sendable, Equatable {
    package private(set) var names: [String]
    package private(set) var columns: [Column]
    package let rowCount: Int

    package init(names: [String], columns: [Column], rowCount: Int? = nil) {
        precondition(names.count == columns.count, "one name per column")
        let n = columns.first?.count ?? rowCount ?? 0
        precondition(columns.allSatisfy { $0.count == n }, "columns of equal length")
        self.names = names
        self.columns = columns
        self.rowCount = n
    }

    package func index(of name: String) -> Int? { names.firstIndex(of: name) }

    package func column(_ name: String) -> Column? { index(of: name).map { columns[$0] } }

    /// The rows at `indexes`, in that order.
    package func rows(_ indexes: [Int]) -> DataTable {
        DataTable(names: names, columns: columns.map { $0.rows(indexes) })
    }

    /// Rows of `self` followed by rows of `other`; columns are matched by name. A column only one
    /// side has is missing (NaN, or code −1) on the other side's rows; categorical levels are merged.
    package func appending(_ other: DataTable) -> DataTable {
        var merged: [Column] = []
        var allNames = names
        for name in other.names where index(of: name) == nil { allNames.append(name) }
        for name in allNames {
            let mine = column(name), theirs = other.column(name)
            let a = mine ?? (theirs!.kind == .numeric ? .numeric(.init(repeating: .nan, count: rowCount)) : .categorical(codes: .init(repeating: -1, count: rowCount), levels: []))
            let o = theirs ?? (mine!.kind == .numeric ? .numeric(.init(repeating: .nan, count: other.rowCount)) : .categorical(codes: .init(repeating: -1, count: other.rowCount), levels: []))
            switch (a, o) {
            case (.numeric(let a), .numeric(let b)):
                merged.append(.numeric(a + b))
            case (.categorical, .categorical):
                merged.append(a.appending(o))
            case (.numeric(let a), .categorical):
                // One part of a file turned to text (CSVOptions.textFallback): all of it is text.
                merged.append(Column.numeric(a).asText.appending(o))
            case (.categorical, .numeric(let b)):
                merged.append(a.appending(Column.numeric(b).asText))
            }
        }
        return DataTable(names: allNames, columns: merged, rowCount: rowCount + other.rowCount)
    }
}

extension DataTable {
    /// The named columns, in that order; `nil` if one is missing.
    package func selecting(_ wanted: [String]) -> DataTable? {
        var cols: [Column] = []
        for name in wanted {
            guard let c = column(name) else { return nil }
            cols.append(c)
        }
        return DataTable(names: wanted, columns: cols)
    }

    /// An empty table with the same columns.
    package var emptyCopy: DataTable { rows([]) }
}

extension Column {
    /// Numbers as text (their shortest form), missing kept missing.
    var asText: Column {
        guard case .numeric(let values) = self else { return self }
        var index: [String: Int32] = [:]
        var levels: [String] = []
        let codes: [Int32] = values.map { x in
            if x.isNaN { return -1 }
            let t = formatNumber(x)
            if let c = index[t] { return c }
            levels.append(t)
            index[t] = Int32(levels.count - 1)
            return Int32(levels.count - 1)
        }
        return .categorical(codes: codes, levels: levels)
    }

    /// Two categorical columns one after the other, levels merged in order of first appearance.
    func appending(_ other: Column) -> Column {
        guard case .categorical(let ca, let la) = self, case .categorical(let cb, let lb) = other else {
            preconditionFailure("categorical columns only")
        }
        var levels = la
        var index = Dictionary(uniqueKeysWithValues: la.enumerated().map { ($1, Int32($0)) })
        let remap: [Int32] = lb.map { level in
            if let i = index[level] { return i }
            levels.append(level)
            index[level] = Int32(levels.count - 1)
            return Int32(levels.count - 1)
        }
        return .categorical(codes: ca + cb.map { $0 < 0 ? -1 : remap[Int($0)] }, levels: levels)
    }
}
