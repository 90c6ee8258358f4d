/// Writes tables as RFC 4180 CSV (LF line ends): numbers in their shortest exact form, missing
/// values as empty fields, text quoted when it holds a comma, a quote or a line break. What
/// ``CSVReader`` reads back as the same table.
package enum CSVWriter {
    /// The CSV text of `columns` of `table` (default: all), header first.
    package static func encode(_ table: DataTable, columns: [String]? = nil) -> [UInt8] {
        let names = columns ?? table.names
        let picked = names.map { table.column($0)! }
        var out = [UInt8]()
        out.reserveCapacity(table.rowCount * names.count * 8)
        func append(_ s: String) { out.append(contentsOf: s.utf8) }
        func field(_ s: String) {
            if s.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }) {
                append("\"" + s.replacingAllQuotes() + "\"")
            } else {
                append(s)
            }
        }
        for (i, name) in names.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            field(name)
        }
        out.append(10)
        for r in 0..<table.rowCount {
            for (i, column) in picked.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                switch column {
                case .numeric(let v):
                    if !v[r].isNaN { append(formatNumber(v[r])) }
                case .categorical(let codes, let levels):
                    if codes[r] >= 0 { field(levels[Int(codes[r])]) }
                }
            }
            out.append(10)
        }
        return out
    }
}

extension String {
    func replacingAllQuotes() -> String {
        var out = ""
        for ch in self {
            out.append(ch)
            if ch == "\"" { out.append("\"") }
        }
        return out
    }
}
