#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// What to load from a CSV file and how.
package struct CSVOptions: Sendable {
    /// The kind of each column to load; columns that map to `nil` are skipped without being parsed.
    package var kind: @Sendable (String) -> ColumnKind?
    /// Columns that must be present in the header.
    package var required: [String]
    /// Field values that mean "missing" (compared after trimming spaces for numeric columns).
    package var missingTokens: Set<String>
    /// When true, a numeric column that holds a value that is not a number becomes a categorical
    /// column (its earlier numbers kept as text) instead of failing the file: for inferring column
    /// types, and for reporting "numbers became text" as a schema change of that column alone.
    package var textFallback = false
    /// When true, a data row with a bad value (a number that is not one, text that is not UTF-8, a
    /// wrong number of fields) is left out and reported (``CSVReader/readSkippingBadRows(file:options:)``)
    /// instead of failing the file. A quote never closed still fails it: the rows after it cannot be
    /// told apart.
    package var skipBadRows = false
    /// With ``skipBadRows``: columns whose missing value makes a bad row (the label).
    package var notMissing: Set<String> = []

    package static let defaultMissingTokens: Set<String> = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"]

    package init(
        required: [String] = [], missingTokens: Set<String> = CSVOptions.defaultMissingTokens,
        kind: @escaping @Sendable (String) -> ColumnKind?
    ) {
        self.kind = kind
        self.required = required
        self.missingTokens = missingTokens
    }
}

/// Reads CSV per RFC 4180 into a column-wise ``DataTable``.
///
/// - A header row names the columns; names must be unique and non-empty.
/// - Fields may be quoted with `"`; a quoted field may contain commas, newlines and `""` for a quote.
/// - Lines end with LF or CRLF; a UTF-8 byte order mark is skipped; blank lines are skipped.
/// - Missing values (see ``CSVOptions/missingTokens``) become `NaN` or code `-1`, never zero.
/// - Every malformed input throws a ``DataError`` naming the file, line and column.
package enum CSVReader {
    /// Reads and parses the file at `path`.
    package static func read(file path: String, options: CSVOptions) throws -> DataTable {
        try parse(readBytes(path), file: path, options: options)
    }

    /// Reads the file at `path` with ``CSVOptions/skipBadRows``: the table of the good rows, and the
    /// rows left out, in file order.
    package static func readSkippingBadRows(file path: String, options: CSVOptions) throws -> (DataTable, [SkippedRow]) {
        var options = options
        options.skipBadRows = true
        var skipped: [SkippedRow] = []
        let table = try parse(readBytes(path), file: path, options: options, skipped: &skipped)
        return (table, skipped)
    }

    /// The header of the file at `path`.
    package static func header(file path: String) throws -> [String] {
        let bytes = try readBytes(path)
        return try bytes.withUnsafeBufferPointer { buf in
            var parser = Parser(buf, file: path)
            return try parser.header()
        }
    }

    /// Parses CSV `bytes`; `file` names the source in error messages. Files over a few megabytes are
    /// cut at row boundaries into one chunk per core and parsed in parallel; the result, and the
    /// first error by line, are the same as a sequential parse.
    package static func parse(_ bytes: [UInt8], file: String, options: CSVOptions) throws -> DataTable {
        var skipped: [SkippedRow] = []
        return try parse(bytes, file: file, options: options, skipped: &skipped)
    }

    static func parse(_ bytes: [UInt8], file: String, options: CSVOptions, skipped: inout [SkippedRow]) throws -> DataTable {
        try bytes.withUnsafeBufferPointer { buf in
            var parser = Parser(buf, file: file)
            let names = try parser.checkedHeader(options)
            let chunks = rowChunks(buf, from: parser.i, line: parser.line, parts: buf.count < (4 << 20) ? 1 : ProcessInfo.processInfo.activeProcessorCount)
            let base = UnsafeSendableBuffer(buf)
            let parts: [Result<(DataTable, [SkippedRow]), Error>] = parallelMap(chunks) { chunk in
                Result {
                    var p = Parser(UnsafeBufferPointer(rebasing: base.buffer[0..<chunk.end]), file: file)
                    p.i = chunk.start
                    p.line = chunk.line
                    var left: [SkippedRow] = []
                    return (try p.rows(names, options, skipped: &left), left)
                }
            }
            let results = try parts.map { try $0.get() }
            skipped = results.flatMap(\.1)
            let table = results.dropFirst().reduce(results[0].0) { $0.appending($1.0) }
            return skipped.isEmpty ? table : table.withoutUnusedLevels
        }
    }

    /// Row-aligned chunks of the data region: each cut is at a line end outside quotes (an even
    /// number of `"` before it, since escaped quotes come in pairs), with the line number it starts on.
    static func rowChunks(_ b: UnsafeBufferPointer<UInt8>, from start: Int, line: Int, parts: Int) -> [(start: Int, end: Int, line: Int)] {
        guard parts > 1 else { return [(start, b.count, line)] }
        var chunks: [(start: Int, end: Int, line: Int)] = []
        var chunkStart = start, chunkLine = line
        var i = start, quotes = 0, lines = line
        for k in 1..<parts {
            let target = start + (b.count - start) * k / parts
            while i < b.count {
                let c = b[i]
                i += 1
                if c == quote { quotes += 1 } else if c == lf {
                    lines += 1
                    if i >= target && quotes % 2 == 0 { break }
                }
            }
            if i >= b.count { break }
            chunks.append((chunkStart, i, chunkLine))
            chunkStart = i
            chunkLine = lines
        }
        chunks.append((chunkStart, b.count, chunkLine))
        return chunks
    }

    /// The whole file as bytes.
    package static func readBytes(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DataError(.unreadable, file: path, "cannot open: \(errnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw DataError(.unreadable, file: path, "cannot stat: \(errnoText())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw DataError(.unreadable, file: path, "not a regular file") }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < out.count {
            let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DataError(.unreadable, file: path, "cannot read: \(errnoText())")
            }
            if n == 0 { break }
            done += n
        }
        if done < out.count { out.removeLast(out.count - done) }
        return out
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }

private let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")

/// A field's bytes in the file buffer.
private struct Field {
    var start: Int
    var end: Int
    var quoted: Bool
    var escapedQuotes: Bool
}

private struct Parser {
    let b: UnsafeBufferPointer<UInt8>
    let file: String
    var i = 0
    var line = 1
    /// The line of the header row (after any leading blank lines).
    var headerLine = 1

    init(_ b: UnsafeBufferPointer<UInt8>, file: String) {
        self.b = b
        self.file = file
        if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { i = 3 }
    }

    mutating func header() throws -> [String] {
        skipBlankLines()
        guard i < b.count else { throw DataError(.empty, file: file, "empty file: no header row") }
        var names: [String] = []
        var seen = Set<String>()
        headerLine = line
        var more = true
        while more {
            let f = try nextField()
            guard let name = unescaped(f) else {
                throw DataError(.badEncoding, file: file, line: headerLine, "header is not valid UTF-8")
            }
            let trimmed = name.trimmingSpaces
            if trimmed.isEmpty {
                throw DataError(.badHeader, file: file, line: headerLine, "column \(names.count + 1) has no name")
            }
            if !seen.insert(trimmed).inserted {
                throw DataError(.badHeader, file: file, line: headerLine, "column \"\(trimmed)\" appears twice")
            }
            names.append(trimmed)
            more = endField()
        }
        return names
    }

    /// Reads the header and checks the required columns.
    mutating func checkedHeader(_ options: CSVOptions) throws -> [String] {
        let names = try header()
        for r in options.required where !names.contains(r) {
            throw DataError(.missingColumn, file: file, line: headerLine, column: r, "required column is missing from the header")
        }
        return names
    }

    /// Reads data rows from `i` to the end of the buffer.
    mutating func rows(_ names: [String], _ options: CSVOptions, skipped: inout [SkippedRow]) throws -> DataTable {
        // Per file column: where its values go (-1 = skipped).
        var numericSlot = [Int](repeating: -1, count: names.count)
        var categoricalSlot = [Int](repeating: -1, count: names.count)
        var loaded: [(name: String, kind: ColumnKind, slot: Int)] = []
        var loadedIndex = [Int](repeating: -1, count: names.count)
        var numeric: [[Double]] = []
        var codes: [[Int32]] = []
        var levels: [[String]] = []
        var lookup: [[String: Int32]] = []
        var interners: [ByteInterner] = []
        for (c, name) in names.enumerated() {
            switch options.kind(name) {
            case .numeric?:
                loadedIndex[c] = loaded.count
                numericSlot[c] = numeric.count
                loaded.append((name, .numeric, numeric.count))
                numeric.append([])
            case .categorical?:
                loadedIndex[c] = loaded.count
                categoricalSlot[c] = codes.count
                loaded.append((name, .categorical, codes.count))
                codes.append([])
                levels.append([])
                lookup.append([:])
                interners.append(ByteInterner())
            case nil:
                continue
            }
        }
        let mustHave = names.map { options.skipBadRows && options.notMissing.contains($0) }
        let missing = options.missingTokens
        let maxMissingLength = missing.map(\.utf8.count).max() ?? 0

        var rowCount = 0
        while true {
            skipBlankLines()
            if i >= b.count { break }
            let rowLine = line
            let rowStart = i
            var c = 0
            var more = true
            do {
                while more {
                    let f: Field
                    do {
                        f = try nextField()
                    } catch var e as DataError where c < names.count {
                        // Quote errors: name the column and the row's first line, like every other row error.
                        e.line = rowLine
                        e.column = names[c]
                        throw e
                    }
                    if c >= names.count {
                        throw DataError(
                            .raggedRow, file: file, line: rowLine,
                            "row has more than the header's \(names.count) fields")
                    }
                    if numericSlot[c] >= 0 {
                        do {
                            let value = try number(f, column: names[c], line: rowLine, missing: missing, maxMissing: maxMissingLength)
                            if value.isNaN, mustHave[c] { throw DataError(.badLabel, file: file, line: rowLine, column: names[c], "value is missing") }
                            numeric[numericSlot[c]].append(value)
                        } catch let error as DataError where options.textFallback && error.code == .badNumber {
                            // From here on this column is text: earlier numbers become their text.
                            guard case .categorical(let converted, let names_) = Column.numeric(numeric[numericSlot[c]]).asText
                            else { preconditionFailure("asText is categorical") }
                            numeric[numericSlot[c]] = []
                            let table = Dictionary(uniqueKeysWithValues: names_.enumerated().map { ($1, Int32($0)) })
                            numericSlot[c] = -1
                            categoricalSlot[c] = codes.count
                            loaded[loadedIndex[c]] = (names[c], .categorical, codes.count)
                            codes.append(converted)
                            levels.append(names_)
                            lookup.append(table)
                            interners.append(ByteInterner())
                        }
                    }
                    if categoricalSlot[c] >= 0 {
                        let s = categoricalSlot[c]
                        let raw = UnsafeBufferPointer(rebasing: b[f.start..<f.end])
                        if let code = interners[s].find(raw) {
                            codes[s].append(code)
                            if code < 0, mustHave[c] { throw DataError(.badLabel, file: file, line: rowLine, column: names[c], "value is missing") }
                        } else {
                            // First time these bytes are seen in this column: decode, then remember.
                            guard let text = unescaped(f) else {
                                throw DataError(.badEncoding, file: file, line: rowLine, column: names[c], "value is not valid UTF-8")
                            }
                            let code: Int32
                            if missing.contains(text) {
                                code = -1
                            } else if let known = lookup[s][text] {
                                code = known
                            } else {
                                code = Int32(levels[s].count)
                                lookup[s][text] = code
                                levels[s].append(text)
                            }
                            interners[s].insert(raw, code: code)
                            codes[s].append(code)
                            if code < 0, mustHave[c] { throw DataError(.badLabel, file: file, line: rowLine, column: names[c], "value is missing") }
                        }
                    }
                    c += 1
                    more = endField()
                }
                if c != names.count {
                    more = false
                    throw DataError(
                        .raggedRow, file: file, line: rowLine,
                        "row has \(c) field\(c == 1 ? "" : "s"), the header has \(names.count)")
                }
                rowCount += 1
            } catch let error as DataError where options.skipBadRows && error.code != .badQuote {
                // Leave the row out: undo what its good fields added, and read to its end.
                for s in numeric.indices where numeric[s].count > rowCount { numeric[s].removeLast(numeric[s].count - rowCount) }
                for s in codes.indices where codes[s].count > rowCount { codes[s].removeLast(codes[s].count - rowCount) }
                if more {
                    while endField() { _ = try nextField() }
                }
                var end = i
                while end > rowStart, b[end - 1] == lf || b[end - 1] == cr { end -= 1 }
                skipped.append(SkippedRow(
                    line: rowLine, column: error.column, reason: error.message,
                    text: String(decoding: UnsafeBufferPointer(rebasing: b[rowStart..<end]), as: UTF8.self)))
            }
        }
        let columns: [Column] = loaded.map { col in
            col.kind == .numeric
                ? .numeric(numeric[col.slot]) : .categorical(codes: codes[col.slot], levels: levels[col.slot])
        }
        return DataTable(names: loaded.map(\.name), columns: columns, rowCount: rowCount)
    }

    mutating func skipBlankLines() {
        while i < b.count, b[i] == lf || b[i] == cr {
            if b[i] == lf { line += 1 } else if i + 1 >= b.count || b[i + 1] != lf { line += 1 }
            i += 1
        }
    }

    /// Reads one field starting at `i`, leaving `i` at the delimiter after it.
    mutating func nextField() throws -> Field {
        if i < b.count, b[i] == quote {
            let startLine = line
            i += 1
            let start = i
            var escaped = false
            while true {
                guard i < b.count else {
                    throw DataError(.badQuote, file: file, line: startLine, "quoted field is never closed")
                }
                let ch = b[i]
                if ch == quote {
                    if i + 1 < b.count, b[i + 1] == quote {
                        escaped = true
                        i += 2
                        continue
                    }
                    break
                }
                if ch == lf { line += 1 }
                i += 1
            }
            let end = i
            i += 1
            if i < b.count, b[i] != comma, b[i] != lf, b[i] != cr {
                throw DataError(.badQuote, file: file, line: line, "unexpected character after a closing quote")
            }
            return Field(start: start, end: end, quoted: true, escapedQuotes: escaped)
        }
        let start = i
        while i < b.count {
            let ch = b[i]
            if ch == comma || ch == lf || ch == cr { break }
            if ch == quote {
                throw DataError(.badQuote, file: file, line: line, "quote inside an unquoted field")
            }
            i += 1
        }
        return Field(start: start, end: i, quoted: false, escapedQuotes: false)
    }

    /// Consumes the delimiter after a field; returns true when another field follows on this row.
    mutating func endField() -> Bool {
        guard i < b.count else { return false }
        if b[i] == comma {
            i += 1
            return true
        }
        if b[i] == cr { i += 1 }
        if i < b.count, b[i] == lf { i += 1 }
        line += 1
        return false
    }

    func string(_ f: Field) -> String? {
        String(validating: UnsafeBufferPointer(rebasing: b[f.start..<f.end]), as: UTF8.self)
    }

    /// The field's text with each doubled quote `""` turned into one `"`.
    func unescaped(_ f: Field) -> String? {
        guard f.escapedQuotes else { return string(f) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(f.end - f.start)
        var k = f.start
        while k < f.end {
            bytes.append(b[k])
            k += b[k] == quote ? 2 : 1
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The largest magnitude a number may have: a billion squares of it still add up to a finite
    /// double, so no statistic or gradient of training overflows.
    var maximumMagnitude: Double { 1e100 }

    func number(_ f: Field, column: String, line: Int, missing: Set<String>, maxMissing: Int) throws -> Double {
        var s = f.start, e = f.end
        while s < e, b[s] == 0x20 || b[s] == 0x09 { s += 1 }
        while e > s, b[e - 1] == 0x20 || b[e - 1] == 0x09 { e -= 1 }
        if s == e { return .nan }
        if let x = parseDouble(UnsafeBufferPointer(rebasing: b[s..<e])) {
            if abs(x) < maximumMagnitude { return x }
            throw DataError(
                .badNumber, file: file, line: line, column: column,
                x.isFinite
                    ? "\(quoted(s, e)) is too large: numbers must be below 1e100 in magnitude, so that sums and squares in training cannot overflow"
                    : "\(quoted(s, e)) is too large for a number")
        }
        if e - s <= maxMissing, let text = String(validating: UnsafeBufferPointer(rebasing: b[s..<e]), as: UTF8.self),
            missing.contains(text)
        {
            return .nan
        }
        throw DataError(.badNumber, file: file, line: line, column: column, "\(quoted(s, e)) is not a number")
    }

    func quoted(_ s: Int, _ e: Int) -> String {
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[s..<min(e, s + 40)]), as: UTF8.self)
        return "\"" + text + (e - s > 40 ? "…" : "") + "\""
    }
}

extension String {
    var trimmingSpaces: String {
        var u = Substring(self)
        while let f = u.first, f == " " || f == "\t" { u.removeFirst() }
        while let l = u.last, l == " " || l == "\t" { u.removeLast() }
        return String(u)
    }
}


/// A data row ``CSVOptions/skipBadRows`` left out: its line, the column and why, and its text.
package struct SkippedRow: Sendable, Equatable {
    package var line: Int
    package var column: String?
    package var reason: String
    /// The row as it is in the file (without its line end).
    package var text: String

    /// "line 17, column \"amount\": \"abc\" is not a number".
    package var description: String { "line \(line)\(column.map { ", column \"\($0)\"" } ?? ""): \(reason)" }
}

extension DataTable {
    /// The table with each categorical column's levels no row uses removed (a skipped row may have
    /// brought a level before its bad value was found); codes renumbered, first appearance kept.
    var withoutUnusedLevels: DataTable {
        DataTable(names: names, columns: columns.map { column in
            guard case .categorical(let codes, let levels) = column else { return column }
            var used = [Bool](repeating: false, count: levels.count)
            for c in codes where c >= 0 { used[Int(c)] = true }
            guard used.contains(false) else { return column }
            var map = [Int32](repeating: -1, count: levels.count)
            var kept: [String] = []
            for (k, level) in levels.enumerated() where used[k] {
                map[k] = Int32(kept.count)
                kept.append(level)
            }
            return .categorical(codes: codes.map { $0 < 0 ? $0 : map[Int($0)] }, levels: kept)
        }, rowCount: rowCount)
    }
}
