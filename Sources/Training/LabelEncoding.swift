import Tabular

/// How a binary label column's values map to negative and positive.
package struct LabelEncoding: Sendable, Codable, Equatable {
    package var column: String
    package var negative: String
    package var positive: String

    package init(column: String, negative: String, positive: String) {
        self.column = column
        self.negative = negative
        self.positive = positive
    }

    /// Chooses the encoding from the label values present in `table`: exactly two distinct values;
    /// the positive one is `positive` if given, else the greater in sorted order (numeric order
    /// when both are numbers), as scikit-learn's `classes_[1]`.
    package static func infer(from table: DataTable, column: String, positive: String?) throws -> LabelEncoding {
        guard let col = table.column(column) else { throw TrainingError("label column \"\(column)\" is missing") }
        var values = Set<String>()
        if case .numeric(let numbers) = col {
            // Each distinct number's text once, not a String per row (2 % of training a million rows).
            var seen = NumberMemo<Void>()
            for (row, x) in numbers.enumerated() where !x.isNaN && seen[x] == nil {
                seen[x] = ()
                if let v = col.string(at: row) { values.insert(v) }
            }
        } else if case .categorical(let codes, let levels) = col {
            // Each level present once, not a String per row (5 % of training a million rows).
            var seen = [Bool](repeating: false, count: levels.count)
            for c in codes where c >= 0 { seen[Int(c)] = true }
            for (i, level) in levels.enumerated() where seen[i] { values.insert(level) }
        }
        let sorted = values.sorted { a, b in
            if let x = parseDouble(a), let y = parseDouble(b) { return x < y }
            return a < b
        }
        guard sorted.count == 2 else {
            throw TrainingError(
                sorted.count < 2
                    ? "label column \"\(column)\" holds \(sorted.count) distinct value\(sorted.count == 1 ? "" : "s") (\(sorted.joined(separator: ", "))); a binary model needs two"
                    : "label column \"\(column)\" holds \(sorted.count) distinct values (\(sorted.prefix(5).joined(separator: ", "))); a binary model needs exactly two")
        }
        if let positive {
            guard let negative = sorted.first(where: { $0 != positive }), sorted.contains(positive) else {
                throw TrainingError("positive_label \"\(positive)\" is not one of the label values (\(sorted.joined(separator: ", ")))")
            }
            return LabelEncoding(column: column, negative: negative, positive: positive)
        }
        return LabelEncoding(column: column, negative: sorted[0], positive: sorted[1])
    }

    /// The labels of `table` as booleans (true = positive). Throws on a missing label or a value that
    /// is neither class, naming the row (1-based data row).
    package func encode(_ table: DataTable) throws -> [Bool] {
        guard let col = table.column(column) else { throw TrainingError("label column \"\(column)\" is missing") }
        switch col {
        case .numeric(let numbers):
            // Decide once per distinct number (by its bits), then per row by a look-up.
            var decided = NumberMemo<Bool>()
            return try numbers.enumerated().map { row, x in
                if let known = decided[x] { return known }
                let v = try value(col.string(at: row), row: row)
                decided[x] = v
                return v
            }
        case .categorical(let codes, let levels):
            // Decide once per level, then per row by code.
            let decided = levels.map { level -> Bool? in
                level == positive ? true : level == negative ? false : nil
            }
            var out = [Bool](repeating: false, count: table.rowCount)
            for (row, code) in codes.enumerated() {
                guard code >= 0, let v = decided[Int(code)] else {
                    out[row] = try value(code < 0 ? nil : levels[Int(code)], row: row)
                    continue
                }
                out[row] = v
            }
            return out
        }
    }

    private func value(_ v: String?, row: Int) throws -> Bool {
        guard let v else { throw TrainingError("label \"\(column)\" is missing in data row \(row + 1)") }
        if v == positive { return true }
        if v == negative { return false }
        throw TrainingError(
            "label \"\(column)\" has the new value \"\(v)\" in data row \(row + 1) (the model knows \"\(negative)\" and \"\(positive)\")")
    }
}

/// A value per distinct number, by its bits, for the few distinct numbers of a label column: a
/// linear search over those seen, then a dictionary once there are more than a handful.
struct NumberMemo<Value> {
    private var few: [(bits: UInt64, value: Value)] = []
    private var many: [UInt64: Value] = [:]

    subscript(x: Double) -> Value? {
        get {
            let bits = x.bitPattern
            for entry in few where entry.bits == bits { return entry.value }
            return many.isEmpty ? nil : many[bits]
        }
        set {
            guard let newValue else { return }
            if few.count < 8 { few.append((x.bitPattern, newValue)) } else { many[x.bitPattern] = newValue }
        }
    }
}
