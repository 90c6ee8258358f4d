/// Finds the line of a key path in TOML text.
///
/// TOMLKit gives line numbers only for syntax errors, so the lines of keys are found by reading the
/// text: table headers (`[a.b]`, `[[a.b]]` with a counter per array) set the current path, and each
/// `key = value` line records `path.key`. Good enough for the job files people write; a key that
/// cannot be placed (inside a multi-line inline table, say) falls back to its nearest parent's line.
struct TOMLLineIndex {
    private var lines: [String: Int] = [:]

    init(_ text: String) {
        var prefix = ""
        var arrayCounts: [String: Int] = [:]
        var inMultiline: String? = nil
        // "\r\n" is one Character, so CRLF lines must be split on it explicitly.
        let rawLines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (number, raw) in rawLines.enumerated() {
            let lineNo = number + 1
            var line = Substring(raw).trimmingCharacters
            if let delimiter = inMultiline {
                if line.contains(delimiter) { inMultiline = nil }
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[[") {
                line = line.dropFirst(2)
                let name = Self.keyPath(String(line.prefix { $0 != "]" }))
                let index = arrayCounts[name, default: 0]
                arrayCounts[name] = index + 1
                prefix = "\(name)[\(index)]"
                lines[prefix] = lineNo
                lines[name] = lines[name] ?? lineNo
                continue
            }
            if line.hasPrefix("[") {
                let name = Self.keyPath(String(line.dropFirst().prefix { $0 != "]" }))
                prefix = Self.resolve(name, arrayCounts)
                lines[prefix] = lineNo
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = Self.keyPath(String(line[..<eq]))
            let full = prefix.isEmpty ? key : prefix + "." + key
            lines[full] = lineNo
            let value = line[line.index(after: eq)...].trimmingCharacters
            for delimiter in ["\"\"\"", "'''"] where value.hasPrefix(delimiter) {
                if !value.dropFirst(3).contains(delimiter) { inMultiline = delimiter }
            }
        }
    }

    /// The line of `path`, or of its nearest parent that has one.
    func line(of path: String) -> Int? {
        var p = Substring(path)
        while !p.isEmpty {
            if let l = lines[String(p)] { return l }
            if p.hasSuffix("]"), let open = p.lastIndex(of: "[") {
                p = p[..<open]
            } else if let dot = p.lastIndex(of: ".") {
                p = p[..<dot]
            } else {
                return nil
            }
        }
        return nil
    }

    /// `a . "b c"` → `a.b c`.
    private static func keyPath(_ raw: String) -> String {
        raw.split(separator: ".").map { part in
            var p = Substring(part).trimmingCharacters
            if p.count >= 2, let f = p.first, f == "\"" || f == "'", p.last == f { p = p.dropFirst().dropLast() }
            return String(p)
        }.joined(separator: ".")
    }

    /// A table header inside an array of tables refers to the array's latest element.
    private static func resolve(_ name: String, _ arrays: [String: Int]) -> String {
        var result = ""
        for part in name.split(separator: ".") {
            result += result.isEmpty ? String(part) : "." + part
            if let n = arrays[result] { result += "[\(n - 1)]" }
        }
        return result
    }
}

extension Substring {
    var trimmingCharacters: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }
}
