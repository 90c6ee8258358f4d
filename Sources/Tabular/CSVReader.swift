#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSystemShim
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
        var skipped: [SkippedRow] = []
        return try withBytes(of: path) { try parse($0, file: path, options: options, skipped: &skipped) }
    }

    /// Reads the file at `path` with ``CSVOptions/skipBadRows``: the table of the good rows, and the
    /// rows left out, in file order.
    package static func readSkippingBadRows(file path: String, options: CSVOptions) throws -> (DataTable, [SkippedRow]) {
        var options = options
        options.skipBadRows = true
        var skipped: [SkippedRow] = []
        let table = try withBytes(of: path) { try parse($0, file: path, options: options, skipped: &skipped) }
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
    /// cut at row boundaries into chunks parsed in parallel; the result, and the first error by
    /// line, are the same as a sequential parse.
    package static func parse(_ bytes: [UInt8], file: String, options: CSVOptions) throws -> DataTable {
        var skipped: [SkippedRow] = []
        return try parse(bytes, file: file, options: options, skipped: &skipped)
    }

    static func parse(_ bytes: [UInt8], file: String, options: CSVOptions, skipped: inout [SkippedRow]) throws -> DataTable {
        try bytes.withUnsafeBufferPointer { try parse($0, file: file, options: options, skipped: &skipped) }
    }

    static func parse(_ buf: UnsafeBufferPointer<UInt8>, file: String, options: CSVOptions, skipped: inout [SkippedRow]) throws -> DataTable {
        var parser = Parser(buf, file: file)
        let names = try parser.checkedHeader(options)
        let plan = ColumnPlan(names: names, options: options)
        let parts = buf.count - parser.i < (4 << 20) ? 1 : 2 * ProcessInfo.processInfo.activeProcessorCount
        let base = UnsafeSendableBuffer(buf)
        // The most rows each chunk can hold: one per line end, and in the last chunk a row without
        // one (every other chunk ends just after a line end). Each chunk writes its rows into the
        // table's columns at the sum of the bounds before it, so no column is copied after the
        // parse unless blank lines leave gaps to close. The chunks are first cut as if no field
        // were quoted; the same pass that counts their line ends finds any quote, and then they
        // are cut again, outside quotes.
        func cut(quoted: Bool) -> (chunks: [(start: Int, end: Int)], lineEnds: [(count: Int, quoted: Bool)]) {
            let chunks = rowChunks(buf, from: parser.i, parts: parts, quoted: quoted)
            return (chunks, parallelMap(chunks) { chunk in lineEnds(base.buffer, chunk.start, chunk.end) })
        }
        let unquoted = cut(quoted: false)
        let (chunks, scans) = unquoted.chunks.count > 1 && unquoted.lineEnds.contains(where: \.quoted) ? cut(quoted: true) : unquoted
        // (With a row of room more in every chunk, each chunk after the first was moved back a
        // row after the parse: a copy of most of the table.)
        let bounds = scans.indices.map { scans[$0].count + ($0 == scans.count - 1 ? 1 : 0) }
        let offsets = bounds.indices.map { k in bounds[..<k].reduce(0, +) }
        var levels: [[String]] = []
        var texts: [Int: Column] = [:]
        var total = 0
        let (numeric, codes) = try withColumnStorage(
            numeric: plan.numericCount, categorical: plan.categoricalCount, capacity: bounds.reduce(0, +)
        ) { doubles, codes in
            let targets = UnsafeSendableColumns(doubles: doubles, codes: codes)
            // Each chunk counts its lines from 0; its rows' line numbers are known once the chunks
            // before it are parsed (the line the data starts on plus their lines).
            let results: [Result<ParsedChunk, Error>] = parallelMap(Array(chunks.indices)) { k in
                Result {
                    var p = Parser(UnsafeBufferPointer(rebasing: base.buffer[0..<chunks[k].end]), file: file)
                    p.i = chunks[k].start
                    p.line = 0
                    let chunk = ParsedChunk(plan: plan, capacity: bounds[k], targets: targets, offset: offsets[k])
                    try p.rows(names, plan, options, into: chunk)
                    return chunk
                }
            }
            var line = parser.line
            var parsed: [ParsedChunk] = []
            for result in results {
                switch result {
                case .success(let chunk):
                    for row in chunk.skipped {
                        var row = row
                        row.line += line
                        skipped.append(row)
                    }
                    line += chunk.lines
                    parsed.append(chunk)
                case .failure(var error as DataError):
                    error.line = error.line.map { $0 + line }
                    throw error
                case .failure(let error):
                    throw error
                }
            }
            (total, levels, texts) = ParsedChunk.join(parsed, plan: plan, targets: targets)
            return total
        }
        let columns: [Column] = plan.loaded.indices.map { j in
            if let text = texts[j] { return text }
            let (kind, slot) = plan.loaded[j]
            return kind == .numeric ? .numeric(numeric[slot]) : .categorical(codes: codes[slot], levels: levels[slot])
        }
        let table = DataTable(names: plan.loadedNames, columns: columns, rowCount: total)
        return skipped.isEmpty ? table : table.withoutUnusedLevels
    }

    /// Runs `body` on the bytes of the file at `path`. A file of 4 MB or more is mapped rather than
    /// read: no copy from the page cache and no fresh pages to fault in, which were a third of the
    /// time of reading a large CSV (docs/performance.md); its pages are faulted in by the first
    /// pass over them, the line-end count, on every core at once. The mapping is guarded: if the
    /// file shrinks while it is mapped, the missing pages read as zeros instead of killing the
    /// process (SIGBUS), and the read fails with a message saying the file changed.
    static func withBytes<R>(of path: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
        let (fd, size) = try openRegularFile(path)
        defer { close(fd) }
        var guardSlot: Int32 = -1
        if size >= 4 << 20, let mapped = updater_map_guarded(fd, size, &guardSlot) {
            if guardSlot >= 0 {
                let result: Result<R, Error> = Result { try body(UnsafeBufferPointer(start: mapped.assumingMemoryBound(to: UInt8.self), count: size)) }
                let faults = updater_unmap_guarded(mapped, size, guardSlot)
                if faults > 0 {
                    throw DataError(.unreadable, file: path, "the file changed while it was read: it is shorter than the \(size) bytes it had")
                }
                return try result.get()
            }
            _ = updater_unmap_guarded(mapped, size, guardSlot)
        }
        return try readBytes(fd, size, path).withUnsafeBufferPointer { try body($0) }
    }

    /// Line ends (LF, or CR not followed by LF) between `start` and `end`, and whether a `"` is
    /// among those bytes.
    static func lineEnds(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (count: Int, quoted: Bool) {
        guard end > start, let p = b.baseAddress else { return (0, false) }
        var quote: Int32 = 0
        let count = updater_line_ends(p + start, end - start, &quote)
        return (count, quote != 0)
    }

    /// Storage for the table's columns, `capacity` rows each: `body` writes rows into it and
    /// returns how many; each column array ends up with that many.
    ///
    /// An array's storage can only be written inside its initializer, so the arrays are made one
    /// inside the other's initializer, and `body` runs innermost: the parse writes straight into the
    /// arrays the table keeps. Past 256 columns (a deep nesting), the columns are parsed into
    /// buffers and copied once into arrays instead.
    static func withColumnStorage(
        numeric: Int, categorical: Int, capacity: Int,
        _ body: (UnsafeMutablePointer<UnsafeMutablePointer<Double>>, UnsafeMutablePointer<UnsafeMutablePointer<Int32>>) throws -> Int
    ) rethrows -> ([[Double]], [[Int32]]) {
        let doubles = UnsafeMutablePointer<UnsafeMutablePointer<Double>>.allocate(capacity: max(numeric, 1))
        let codes = UnsafeMutablePointer<UnsafeMutablePointer<Int32>>.allocate(capacity: max(categorical, 1))
        defer {
            doubles.deallocate()
            codes.deallocate()
        }
        let room = max(capacity, 1)
        if numeric + categorical > 256 {
            for s in 0..<numeric { doubles[s] = .allocate(capacity: room) }
            for s in 0..<categorical { codes[s] = .allocate(capacity: room) }
            defer {
                for s in 0..<numeric { doubles[s].deallocate() }
                for s in 0..<categorical { codes[s].deallocate() }
            }
            let rows = try body(doubles, codes)
            return (
                (0..<numeric).map { Array(UnsafeBufferPointer(start: doubles[$0], count: rows)) },
                (0..<categorical).map { Array(UnsafeBufferPointer(start: codes[$0], count: rows)) })
        }
        var numericArrays = [[Double]](repeating: [], count: numeric)
        var codeArrays = [[Int32]](repeating: [], count: categorical)
        func nest(_ k: Int) throws -> Int {
            if k == numeric + categorical { return try body(doubles, codes) }
            var rows = 0
            if k < numeric {
                numericArrays[k] = try [Double](unsafeUninitializedCapacity: room) { buffer, count in
                    doubles[k] = buffer.baseAddress!
                    rows = try nest(k + 1)
                    count = rows
                }
            } else {
                codeArrays[k - numeric] = try [Int32](unsafeUninitializedCapacity: room) { buffer, count in
                    codes[k - numeric] = buffer.baseAddress!
                    rows = try nest(k + 1)
                    count = rows
                }
            }
            return rows
        }
        _ = try nest(0)
        return (numericArrays, codeArrays)
    }

    /// Row-aligned chunks of the data region, each cut at a line end outside quotes. Data with no
    /// quote (`quoted` false: most numeric files) is cut at the first line end after each target;
    /// data with quotes is cut where an even number of `"` precede the line end (escaped quotes come
    /// in pairs), which takes a scan of the bytes before the cut.
    static func rowChunks(_ b: UnsafeBufferPointer<UInt8>, from start: Int, parts: Int, quoted: Bool) -> [(start: Int, end: Int)] {
        guard parts > 1, start < b.count else { return [(start, b.count)] }
        var chunks: [(start: Int, end: Int)] = []
        var chunkStart = start
        var i = start, quotes = 0
        for k in 1..<parts {
            let target = start + (b.count - start) * k / parts
            if !quoted, i < target { i = target }
            while i < b.count {
                let c = b[i]
                i += 1
                if c == quote { quotes += 1 } else if c == lf, i >= target, quotes % 2 == 0 { break }
            }
            if i >= b.count { break }
            chunks.append((chunkStart, i))
            chunkStart = i
        }
        chunks.append((chunkStart, b.count))
        return chunks
    }

    /// The whole file as bytes.
    package static func readBytes(_ path: String) throws -> [UInt8] {
        let (fd, size) = try openRegularFile(path)
        defer { close(fd) }
        return try readBytes(fd, size, path)
    }

    /// The file open for reading, and its size; only a regular file (not a directory or a pipe).
    static func openRegularFile(_ path: String) throws -> (fd: Int32, size: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DataError(.unreadable, file: path, "cannot open: \(errnoText())") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let error = DataError(.unreadable, file: path, "cannot stat: \(errnoText())")
            close(fd)
            throw error
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw DataError(.unreadable, file: path, "not a regular file")
        }
        return (fd, Int(st.st_size))
    }

    /// The `size` bytes of the open file `fd`, read into uninitialized memory (zeroing a buffer the
    /// read overwrites costs a pass over it), with one reader per core for large files.
    static func readBytes(_ fd: Int32, _ size: Int, _ path: String) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            guard size > 0 else { return }
            let parts = size < (4 << 20) ? 1 : ProcessInfo.processInfo.activeProcessorCount
            let target = DisjointWrites(buffer.baseAddress!)
            let results: [Result<Int, DataError>] = parallelMap(Array(0..<parts)) { k in
                let start = size * k / parts, end = size * (k + 1) / parts
                var done = start
                while done < end {
                    let n = pread(fd, target.pointer + done, end - done, off_t(done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        return .failure(DataError(.unreadable, file: path, "cannot read: \(errnoText())"))
                    }
                    if n == 0 { break }
                    done += n
                }
                return .success(done - start)
            }
            // A file that shrank while it was read: its first part that came up short ends it.
            count = 0
            for (k, result) in results.enumerated() {
                let read = try result.get()
                count += read
                if read < size * (k + 1) / parts - size * k / parts { break }
            }
        }
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

    /// Reads data rows from `i` to the end of the buffer into a chunk of columns.
    ///
    /// The hot path: a numeric field of plain digits (sign, digits, point, digits) is converted as
    /// it is scanned and written to its column's buffer; anything else (quotes, spaces, exponents,
    /// missing-value words, more than 19 digits, errors) takes the general path of ``nextField()``
    /// and ``number(_:column:line:missing:maxMissing:)``, which gives the same numbers and messages.
    mutating func rows(_ names: [String], _ plan: ColumnPlan, _ options: CSVOptions, into chunk: ParsedChunk) throws {
        let columnCount = names.count
        // Per file column: 2 × numeric slot, 2 × categorical slot + 1, or -1 (skipped). A numeric
        // column that turns to text (CSVOptions.textFallback) gets a categorical slot.
        var route = plan.route
        let mustHave = names.map { options.skipBadRows && options.notMissing.contains($0) }
        let numbers = NumberRunTable(route: route, mustHave: mustHave, columns: chunk.doubles)
        // Per categorical slot (the chunk's own slots of columns turned to text included): the
        // codes of the bytes seen so far.
        var interners = [ByteInterner](repeating: ByteInterner(), count: plan.categoricalCount)
        let missing = options.missingTokens
        let maxMissingLength = missing.map(\.utf8.count).max() ?? 0
        guard let bytes = b.baseAddress else { return }
        let count = b.count
        let doubles = chunk.doubles

        var row = 0
        while true {
            skipBlankLines()
            if i >= b.count { break }
            precondition(row < chunk.capacity, "a chunk has more rows than line ends")
            let rowLine = line
            let rowStart = i
            var c = 0
            var more = true
            do {
                while more {
                    if c >= columnCount {
                        _ = try nextField()
                        throw DataError(
                            .raggedRow, file: file, line: rowLine,
                            "row has more than the header's \(columnCount) fields")
                    }
                    var r = route[c]
                    if r >= 0, r & 1 == 0 {
                        // Plain numbers in a run of numeric columns: 16 bytes at a time where the
                        // processor can, then one by one; anything else takes the general path.
                        var afterField = false
                        i = updater_read_numbers(bytes, count, i, &c, row, numbers.run, &afterField)
                        if !afterField { (i, c, afterField) = readPlainNumbers(bytes, count, at: i, column: c, row: row, numbers.run.pointee) }
                        if afterField {
                            more = endField()
                            continue
                        }
                        r = route[c]
                        let f = try field(c, names, rowLine)
                        do {
                            let value = try number(f, column: names[c], line: rowLine, missing: missing, maxMissing: maxMissingLength)
                            if value.isNaN, mustHave[c] { throw DataError(.badLabel, file: file, line: rowLine, column: names[c], "value is missing") }
                            doubles[r >> 1][row] = value
                        } catch let error as DataError where options.textFallback && error.code == .badNumber {
                            // From here on this column is text: earlier numbers become their text.
                            route[c] = chunk.turnToText(plan.loadedIndex[c], slot: r >> 1, rows: row) * 2 + 1
                            numbers.update(route: route)
                            interners.append(ByteInterner())
                            try category(f, &interners[route[c] >> 1], slot: route[c] >> 1, row: row, column: c, names, rowLine, mustHave: mustHave[c], chunk, missing)
                        }
                    } else if r >= 0 {
                        let s = r >> 1
                        if let (code, end) = interners[s].find(plainFieldIn: bytes, count, at: i), code >= 0 || !mustHave[c] {
                            chunk.codes[s][row] = code
                            i = end
                        } else {
                            let f = try field(c, names, rowLine)
                            try category(f, &interners[s], slot: s, row: row, column: c, names, rowLine, mustHave: mustHave[c], chunk, missing)
                        }
                    } else {
                        _ = try field(c, names, rowLine)
                    }
                    c += 1
                    more = endField()
                }
                if c != columnCount {
                    more = false
                    throw DataError(
                        .raggedRow, file: file, line: rowLine,
                        "row has \(c) field\(c == 1 ? "" : "s"), the header has \(columnCount)")
                }
                row += 1
            } catch let error as DataError where options.skipBadRows && error.code != .badQuote {
                // Leave the row out (the next row overwrites what its good fields wrote) and read
                // to its end.
                if more {
                    while endField() { _ = try nextField() }
                }
                var end = i
                while end > rowStart, b[end - 1] == lf || b[end - 1] == cr { end -= 1 }
                chunk.skipped.append(SkippedRow(
                    line: rowLine, column: error.column, reason: error.message,
                    text: String(decoding: UnsafeBufferPointer(rebasing: b[rowStart..<end]), as: UTF8.self)))
            }
        }
        chunk.rowCount = row
        chunk.lines = line
    }

    /// The next field, with a quote error placed at the row's first line and its column.
    mutating func field(_ c: Int, _ names: [String], _ rowLine: Int) throws -> Field {
        do {
            return try nextField()
        } catch var e as DataError {
            e.line = rowLine
            e.column = names[c]
            throw e
        }
    }

    /// Stores a categorical field's code.
    func category(
        _ f: Field, _ interner: inout ByteInterner, slot s: Int, row: Int, column c: Int, _ names: [String], _ rowLine: Int, mustHave: Bool,
        _ chunk: ParsedChunk, _ missing: Set<String>
    ) throws {
        let raw = UnsafeBufferPointer(rebasing: b[f.start..<f.end])
        let code: Int32
        if let known = interner.find(raw) {
            code = known
        } else {
            // First time these bytes are seen in this column: decode, then remember.
            guard let text = unescaped(f) else {
                throw DataError(.badEncoding, file: file, line: rowLine, column: names[c], "value is not valid UTF-8")
            }
            code = chunk.code(of: text, slot: s, missing: missing)
            interner.insert(raw, code: code)
        }
        chunk.codes[s][row] = code
        if code < 0, mustHave { throw DataError(.badLabel, file: file, line: rowLine, column: names[c], "value is missing") }
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

/// A plain decimal number (`-12`, `3.25`, `.5`, up to 19 digits, no exponent) at `start`, not
/// empty, that ends at a delimiter, and where it ends; nil for anything else. The value is
/// Clinger's exact fast path of ``parseDouble(_:)-(UnsafeBufferPointer<UInt8>)``, bit for bit.
///
/// Runs of up to 7 digits are read 8 bytes at a time (SWAR: no branch per digit, so no
/// mispredicted loop exit per field); longer runs, and the last bytes of the buffer, one by one.
/// All arithmetic wraps: the positions stay within `n`, and the counts are checked before use.
@_transparent
func plainNumber(
    _ p: UnsafePointer<UInt8>, _ n: Int, at start: Int, _ powers: UnsafePointer<Double>, _ scales: UnsafePointer<UInt64>
) -> (Double, Int)? {
    var j = start
    let negative = p[j] == UInt8(ascii: "-")
    if negative || p[j] == UInt8(ascii: "+") { j &+= 1 }
    if j &+ 16 <= n {
        let (whole, k) = eightDigits(p + j)
        if k < 8 {
            // At most 7 + 7 digits: the mantissa is below 2^53 and 10^scale is exact, so only an
            // empty number and the byte after it are left to check.
            var mantissa = whole, digits = k, scale = 0
            j &+= k
            if p[j] == UInt8(ascii: ".") {
                j &+= 1
                let (fraction, f) = eightDigits(p + j)
                if f == 8 { return nil }
                mantissa = mantissa &* scales[f] &+ fraction
                scale = f
                digits &+= f
                j &+= f
            }
            guard digits > 0, p[j] == comma || p[j] == lf || p[j] == cr else { return nil }
            var x = Double(Int64(bitPattern: mantissa))
            if scale > 0 { x /= powers[scale] }
            return (negative ? -x : x, j)
        }
    }
    var mantissa: UInt64 = 0
    var digits = digitRun(p, n, &j, &mantissa)
    var scale = 0
    if j < n, p[j] == UInt8(ascii: ".") {
        j &+= 1
        scale = digitRun(p, n, &j, &mantissa)
        digits &+= scale
    }
    if j < n, p[j] != comma, p[j] != lf, p[j] != cr { return nil }
    guard digits > 0, digits <= 19, mantissa <= 1 << 53, scale <= 22 else { return nil }
    var x = Double(mantissa)
    if scale > 0 { x /= powers[scale] }
    return (negative ? -x : x, j)
}

/// The number loops' view of a chunk's columns (``updater_number_run``), per file column: where
/// a numeric column's rows go, where its run of numeric columns ends, and whether a missing
/// value is an error there.
final class NumberRunTable {
    let run: UnsafeMutablePointer<updater_number_run>
    private let columns: UnsafeMutablePointer<UnsafeMutablePointer<Double>?>
    private let runEnd: UnsafeMutablePointer<Int>
    private let mustHave: UnsafeMutablePointer<Bool>
    private let doubles: UnsafeMutablePointer<UnsafeMutablePointer<Double>>

    /// `route` as in ``Parser/rows``: per file column, 2 × its numeric slot in `doubles`, or odd.
    init(route: [Int], mustHave: [Bool], columns doubles: UnsafeMutablePointer<UnsafeMutablePointer<Double>>) {
        let count = max(route.count, 1)
        self.doubles = doubles
        columns = .allocate(capacity: count)
        runEnd = .allocate(capacity: count)
        self.mustHave = .allocate(capacity: count)
        self.mustHave.initialize(repeating: false, count: count)
        self.mustHave.update(from: mustHave, count: mustHave.count)
        run = .allocate(capacity: 1)
        run.initialize(to: updater_number_run(columns: columns, run_end: runEnd, must_have: self.mustHave))
        columns.initialize(repeating: nil, count: count)
        runEnd.initialize(repeating: 0, count: count)
        update(route: route)
    }

    /// Follows a change of `route` (a numeric column turned to text).
    func update(route: [Int]) {
        var end = route.count
        for c in route.indices.reversed() {
            let r = route[c]
            if r >= 0, r & 1 == 0 {
                columns[c] = doubles[r >> 1]
            } else {
                columns[c] = nil
                end = c
            }
            runEnd[c] = end
        }
    }

    deinit {
        columns.deallocate()
        runEnd.deallocate()
        mustHave.deallocate()
        run.deallocate()
    }
}

/// Reads the plain numbers (``plainNumber(_:_:at:_:_:)``, or empty fields: missing values) of
/// consecutive numeric columns of one row, from column `first` (numeric) at `start`, and writes
/// them to their columns at `row`. Stops at the first field that is neither (or a missing value
/// that must not be), or after a number followed by a line end or the end of the run of numeric
/// columns. Returns where it stopped: the position (the delimiter after the last field read when
/// `afterField`, else the start of the field it did not read) and the column.
///
/// ``updater_read_numbers`` does the same 16 bytes at a time, for all but the last bytes of the
/// buffer and numbers of up to 15 digits; this loop reads what it leaves, and everything on a
/// processor without SSE4.1. A function of its own, with wrapping arithmetic on pointers: inside
/// ``Parser/rows`` the loop kept its bounds and tables on the stack and checked every `+ 1`.
@inline(never)
func readPlainNumbers(
    _ p: UnsafePointer<UInt8>, _ n: Int, at start: Int, column first: Int, row: Int, _ run: updater_number_run
) -> (at: Int, column: Int, afterField: Bool) {
    let powers = exactPowersOfTenTable, scales = integerPowersOfTenTable
    let stop = run.run_end[first]
    var at = start, c = first
    while true {
        guard let column = run.columns[c] else { return (at, c, false) }
        let end: Int
        if at == n || p[at] == comma || p[at] == lf || p[at] == cr {
            if run.must_have[c] { return (at, c, false) }
            column[row] = .nan
            end = at
        } else {
            guard let (x, e) = plainNumber(p, n, at: at, powers, scales) else { return (at, c, false) }
            column[row] = x
            end = e
        }
        c &+= 1
        guard end < n, p[end] == comma, c < stop else { return (end, c, true) }
        at = end &+ 1
    }
}

/// Reads decimal digits from `j` on into `mantissa` (wrapping: the caller limits the count);
/// returns how many.
@_transparent
func digitRun(_ p: UnsafePointer<UInt8>, _ n: Int, _ j: inout Int, _ mantissa: inout UInt64) -> Int {
    let start = j
    while j < n {
        let d = p[j] &- 48
        if d >= 10 { break }
        mantissa = mantissa &* 10 &+ UInt64(d)
        j &+= 1
    }
    return j &- start
}

/// The decimal digits at the start of the 8 bytes at `p`: their value and how many (0...8).
///
/// A byte is a digit when `byte ^ 0x30` is at most 9; adding 0x76 sets its top bit otherwise. A
/// carry out of a byte can only disturb the bytes after it, which lie past the first non-digit.
/// The digits are then shifted to the top (leading zeros below) and combined in three multiplies.
@_transparent
func eightDigits(_ p: UnsafePointer<UInt8>) -> (UInt64, Int) {
    let v = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
    let a = v ^ 0x3030_3030_3030_3030
    let notDigit = ((a &+ 0x7676_7676_7676_7676) | a) & 0x8080_8080_8080_8080
    let k = notDigit == 0 ? 8 : notDigit.trailingZeroBitCount >> 3
    if k == 0 { return (0, 0) }
    var d = a << UInt64(8 * (8 - k))
    d = ((d &* 10) &+ (d >> 8)) & 0x00FF_00FF_00FF_00FF
    d = ((d &* 100) &+ (d >> 16)) & 0x0000_FFFF_0000_FFFF
    d = (d &* 10000) &+ (d >> 32)
    return (d & 0xFFFF_FFFF, k)
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

/// Which file columns are loaded, and where each one's values go.
struct ColumnPlan: Sendable {
    /// Per file column: 2 × its numeric slot, 2 × its categorical slot + 1, or -1 when skipped.
    var route: [Int]
    /// Per file column: its index among the loaded columns, or -1.
    var loadedIndex: [Int]
    var loadedNames: [String] = []
    /// Per loaded column: its kind and slot.
    var loaded: [(kind: ColumnKind, slot: Int)] = []
    var numericCount = 0
    var categoricalCount = 0

    init(names: [String], options: CSVOptions) {
        route = [Int](repeating: -1, count: names.count)
        loadedIndex = [Int](repeating: -1, count: names.count)
        for (c, name) in names.enumerated() {
            guard let kind = options.kind(name) else { continue }
            loadedIndex[c] = loaded.count
            loadedNames.append(name)
            switch kind {
            case .numeric:
                route[c] = numericCount * 2
                loaded.append((.numeric, numericCount))
                numericCount += 1
            case .categorical:
                route[c] = categoricalCount * 2 + 1
                loaded.append((.categorical, categoricalCount))
                categoricalCount += 1
            }
        }
    }
}

/// The table's column storage, shared by the chunks' parsers: each writes only its own rows.
struct UnsafeSendableColumns: @unchecked Sendable {
    let doubles: UnsafeMutablePointer<UnsafeMutablePointer<Double>>
    let codes: UnsafeMutablePointer<UnsafeMutablePointer<Int32>>
}

/// One chunk of rows as it is parsed: where its values go (the table's columns from its offset
/// on), its categories' levels, its bad rows and its line count. A numeric column that turns to
/// text in this chunk keeps its codes in a buffer of the chunk's own.
///
/// It is written by one thread and read after that thread finished.
final class ParsedChunk: @unchecked Sendable {
    /// The most rows the chunk can hold.
    let capacity: Int
    let offset: Int
    var rowCount = 0
    /// Lines the chunk spans (line ends, and blank lines).
    var lines = 0
    var skipped: [SkippedRow] = []
    /// Per loaded column: its kind and slot (a numeric column that turned to text moves to a
    /// categorical slot of this chunk's own, numbered after the table's).
    var loaded: [(kind: ColumnKind, slot: Int)]
    /// Where each numeric slot's rows go.
    let doubles: UnsafeMutablePointer<UnsafeMutablePointer<Double>>
    let numericCount: Int
    /// Where each categorical slot's rows go: the table's, then the chunk's own for columns that
    /// turned to text (room for every numeric column).
    let codes: UnsafeMutablePointer<UnsafeMutablePointer<Int32>>
    let tableCategoricalCount: Int
    private(set) var categoricalCount: Int
    var levels: [[String]]
    var lookup: [[String: Int32]]

    init(plan: ColumnPlan, capacity: Int, targets: UnsafeSendableColumns, offset: Int) {
        self.capacity = capacity
        self.offset = offset
        loaded = plan.loaded
        numericCount = plan.numericCount
        tableCategoricalCount = plan.categoricalCount
        categoricalCount = plan.categoricalCount
        doubles = .allocate(capacity: max(numericCount, 1))
        codes = .allocate(capacity: max(numericCount + categoricalCount, 1))
        for s in 0..<numericCount { doubles[s] = targets.doubles[s] + offset }
        for s in 0..<categoricalCount { codes[s] = targets.codes[s] + offset }
        levels = Array(repeating: [], count: categoricalCount)
        lookup = Array(repeating: [:], count: categoricalCount)
    }

    deinit {
        for s in tableCategoricalCount..<categoricalCount { codes[s].deallocate() }
        doubles.deallocate()
        codes.deallocate()
    }

    /// The code of a category's text in a slot, new levels numbered in order of first appearance;
    /// -1 for a missing value.
    func code(of text: String, slot s: Int, missing: Set<String>) -> Int32 {
        if missing.contains(text) { return -1 }
        if let known = lookup[s][text] { return known }
        let code = Int32(levels[s].count)
        lookup[s][text] = code
        levels[s].append(text)
        return code
    }

    /// Makes loaded column `j` (numeric, in `slot`) a categorical one whose first `rows` codes are
    /// the text of its numbers; returns its categorical slot.
    func turnToText(_ j: Int, slot: Int, rows: Int) -> Int {
        guard case .categorical(let converted, let names) = Column.numeric(Array(UnsafeBufferPointer(start: doubles[slot], count: rows))).asText
        else { preconditionFailure("asText is categorical") }
        let s = categoricalCount
        categoricalCount += 1
        codes[s] = .allocate(capacity: max(capacity, 1))
        converted.withUnsafeBufferPointer { codes[s].update(from: $0.baseAddress!, count: rows) }
        levels.append(names)
        lookup.append(Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, Int32($0)) }))
        loaded[j] = (.categorical, s)
        return s
    }

    /// Loaded column `j` of this chunk alone.
    func column(_ j: Int) -> Column {
        let (kind, s) = loaded[j]
        return kind == .numeric
            ? .numeric(Array(UnsafeBufferPointer(start: doubles[s], count: rowCount)))
            : .categorical(codes: Array(UnsafeBufferPointer(start: codes[s], count: rowCount)), levels: levels[s])
    }

    /// Joins the chunks' rows in the table's storage: closes the gaps blank lines left between
    /// chunks, renumbers each chunk's category codes into the table's levels, and makes text of a
    /// numeric column some chunk turned to text. Returns the row count, each categorical slot's
    /// levels, and the columns (by loaded index) that became text.
    static func join(_ chunks: [ParsedChunk], plan: ColumnPlan, targets: UnsafeSendableColumns)
        -> (rows: Int, levels: [[String]], texts: [Int: Column])
    {
        var texts: [Int: Column] = [:]
        for j in plan.loaded.indices where plan.loaded[j].kind == .numeric && chunks.contains(where: { $0.loaded[j].kind == .categorical }) {
            // A numeric column some chunks turned to text (CSVOptions.textFallback): all of it is text.
            texts[j] = chunks.dropFirst().reduce(chunks[0].column(j).asText) { $0.appending($1.column(j).asText) }
        }
        var at = 0
        for chunk in chunks {
            if chunk.offset != at {
                // Moves left within the same column: memmove, as the ranges may overlap.
                for s in 0..<plan.numericCount { memmove(targets.doubles[s] + at, chunk.doubles[s], chunk.rowCount * 8) }
                for s in 0..<plan.categoricalCount { memmove(targets.codes[s] + at, chunk.codes[s], chunk.rowCount * 4) }
            }
            at += chunk.rowCount
        }
        let levels: [[String]] = parallelMap(Array(0..<plan.categoricalCount)) { s in
            var levels: [String] = []
            var index: [String: Int32] = [:]
            var at = 0
            for chunk in chunks {
                let remap: [Int32] = chunk.levels[s].map { level in
                    if let k = index[level] { return k }
                    index[level] = Int32(levels.count)
                    levels.append(level)
                    return Int32(levels.count - 1)
                }
                if !remap.enumerated().allSatisfy({ $0.offset == Int($0.element) }) {
                    let codes = targets.codes[s] + at
                    for r in 0..<chunk.rowCount where codes[r] >= 0 { codes[r] = remap[Int(codes[r])] }
                }
                at += chunk.rowCount
            }
            return levels
        }
        return (at, levels, texts)
    }
}
