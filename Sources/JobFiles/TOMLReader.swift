import TOMLKit

/// Collects the problems of one job file while it is read.
final class ProblemLog {
    let file: String
    let lines: TOMLLineIndex
    private(set) var problems: [JobFileProblem] = []

    init(file: String, text: String) {
        self.file = file
        self.lines = TOMLLineIndex(text)
    }

    func add(_ path: String, _ message: String) {
        problems.append(JobFileProblem(file: file, keyPath: path, line: lines.line(of: path), message: message))
    }
}

/// A strict reader over one TOML table: typed getters that record a problem (naming the key path)
/// instead of failing, and `finish()` that reports every key nobody asked for.
///
/// Never stored beyond one decode: TOMLKit's tables are not thread-safe.
struct TOMLReader {
    let table: TOMLTable
    let path: String
    let log: ProblemLog
    private let used: Box

    private final class Box { var keys: Set<String> = [] }

    init(_ table: TOMLTable, path: String, log: ProblemLog) {
        self.table = table
        self.path = path
        self.log = log
        self.used = Box()
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The raw value of `key`, marking it as known.
    func value(_ key: String) -> TOMLValueConvertible? {
        used.keys.insert(key)
        return table[key]
    }

    func missing(_ key: String) {
        log.add(keyPath(key), "required key is missing")
    }

    func wrong(_ key: String, _ expected: String, _ got: TOMLValueConvertible) {
        log.add(keyPath(key), "expected \(expected), got \(Self.show(got))")
    }

    func string(_ key: String, required: Bool = false) -> String? {
        guard let v = value(key) else {
            if required { missing(key) }
            return nil
        }
        guard v.type == .string, let s = v.string else {
            wrong(key, "a string", v)
            return nil
        }
        return s
    }

    func bool(_ key: String) -> Bool? {
        guard let v = value(key) else { return nil }
        guard v.type == .bool, let b = v.bool else {
            wrong(key, "true or false", v)
            return nil
        }
        return b
    }

    /// A number (integer or float) within `range`.
    func double(_ key: String, in range: ClosedRange<Double>, required: Bool = false, what: String? = nil) -> Double? {
        guard let v = value(key) else {
            if required { missing(key) }
            return nil
        }
        let expected = what ?? "a number between \(fmt(range.lowerBound)) and \(fmt(range.upperBound))"
        guard let x = Self.number(v), range.contains(x) else {
            wrong(key, expected, v)
            return nil
        }
        return x
    }

    func int(_ key: String, in range: ClosedRange<Int>, required: Bool = false) -> Int? {
        guard let v = value(key) else {
            if required { missing(key) }
            return nil
        }
        guard v.type == .int, let x = v.int, range.contains(x) else {
            let upper = range.upperBound == Int.max ? "" : " and \(range.upperBound)"
            wrong(key, upper.isEmpty ? "a whole number of at least \(range.lowerBound)" : "a whole number between \(range.lowerBound)\(upper)", v)
            return nil
        }
        return x
    }

    func stringArray(_ key: String) -> [String]? {
        guard let v = value(key) else { return nil }
        guard v.type == .array, let a = v.array else {
            wrong(key, "an array of strings", v)
            return nil
        }
        var out: [String] = []
        for (i, e) in a.enumerated() {
            guard e.type == .string, let s = e.string else {
                log.add("\(keyPath(key))[\(i)]", "expected a string, got \(Self.show(e))")
                return nil
            }
            out.append(s)
        }
        return out
    }

    /// A duration in seconds; zero (`"0s"`) only when `allowZero`.
    func duration(_ key: String, required: Bool = false, allowZero: Bool = false) -> Double? {
        guard let v = value(key) else {
            if required { missing(key) }
            return nil
        }
        if allowZero, v.type == .string, let s = v.string, parseDuration(s, allowZero: true) == 0 { return 0 }
        guard v.type == .string, let s = v.string, let seconds = parseDuration(s) else {
            wrong(key, "a duration such as \"30s\", \"15m\", \"1h30m\" or \"1d\"\(allowZero ? " (or \"0s\")" : "")", v)
            return nil
        }
        return seconds
    }

    func table(_ key: String) -> TOMLReader? {
        guard let v = value(key) else { return nil }
        guard v.type == .table, let t = v.table else {
            wrong(key, "a table", v)
            return nil
        }
        return TOMLReader(t, path: keyPath(key), log: log)
    }

    func tables(_ key: String) -> [TOMLReader]? {
        guard let v = value(key) else { return nil }
        guard v.type == .array, let a = v.array else {
            wrong(key, "an array of tables ([[\(keyPath(key))]])", v)
            return nil
        }
        var out: [TOMLReader] = []
        for (i, e) in a.enumerated() {
            guard e.type == .table, let t = e.table else {
                log.add("\(keyPath(key))[\(i)]", "expected a table, got \(Self.show(e))")
                continue
            }
            out.append(TOMLReader(t, path: "\(keyPath(key))[\(i)]", log: log))
        }
        return out
    }

    /// Every key in this table, in file order as TOMLKit gives it.
    var keys: [String] { table.keys }

    /// Records every key that no getter asked for as unknown.
    func finish(known hint: [String] = []) {
        for key in table.keys where !used.keys.contains(key) {
            let choices = hint.isEmpty ? used.keys.sorted() : hint
            log.add(keyPath(key), "unknown key (known keys here: \(choices.joined(separator: ", ")))")
        }
    }

    static func number(_ v: TOMLValueConvertible) -> Double? {
        switch v.type {
        case .int: v.int.map(Double.init)
        case .double: v.double
        default: nil
        }
    }

    static func show(_ v: TOMLValueConvertible) -> String {
        switch v.type {
        case .string: "\"\(v.string ?? "")\""
        case .int: v.int.map(String.init) ?? "an integer"
        case .double: v.double.map { fmt($0) } ?? "a number"
        case .bool: v.bool.map(String.init) ?? "a boolean"
        case .table: "a table"
        case .array: "an array"
        case .date, .time, .dateTime: "a date or time"
        }
    }
}

func fmt(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
}

/// Parses `"90s"`, `"15m"`, `"1h30m"`, `"2d"`, `"500ms"` into seconds; `nil` if malformed, or zero
/// unless `allowZero`.
package func parseDuration(_ text: String, allowZero: Bool = false) -> Double? {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604_800)]
    var rest = Substring(text.trimmingCharacters(in: " "))
    guard !rest.isEmpty else { return nil }
    var total = 0.0
    while !rest.isEmpty {
        let digits = rest.prefix { $0.isNumber || $0 == "." }
        guard !digits.isEmpty, let value = Double(digits) else { return nil }
        rest = rest.dropFirst(digits.count)
        guard let unit = units.first(where: { rest.hasPrefix($0.0) && !(($0.0 == "m") && rest.hasPrefix("ms")) })
        else { return nil }
        rest = rest.dropFirst(unit.0.count)
        total += value * unit.1
    }
    return total > 0 || allowZero ? total : nil
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        String(Substring(self).drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
