import Foundation
import Testing

@testable import Tabular

// MARK: - Helpers

/// Parses `bytes` as `t.csv`; every column not listed in `kinds` is skipped.
private func parse(
    _ bytes: [UInt8], required: [String] = [], missing: Set<String> = CSVOptions.defaultMissingTokens,
    kinds: [String: ColumnKind]
) throws -> DataTable {
    try CSVReader.parse(
        bytes, file: "t.csv", options: CSVOptions(required: required, missingTokens: missing, kind: { kinds[$0] }))
}

private func parse(
    _ text: String, required: [String] = [], missing: Set<String> = CSVOptions.defaultMissingTokens,
    kinds: [String: ColumnKind]
) throws -> DataTable {
    try parse(Array(text.utf8), required: required, missing: missing, kinds: kinds)
}

/// Every column numeric.
private func parseNumeric(_ text: String) throws -> DataTable {
    try CSVReader.parse(Array(text.utf8), file: "t.csv", options: CSVOptions(kind: { _ in .numeric }))
}

/// The error thrown when parsing `text` (every column numeric unless `kinds` says otherwise).
private func parseError(_ text: String, required: [String] = [], kinds: [String: ColumnKind]? = nil) -> DataError? {
    parseError(Array(text.utf8), required: required, kinds: kinds)
}

private func parseError(_ bytes: [UInt8], required: [String] = [], kinds: [String: ColumnKind]? = nil) -> DataError? {
    let options = CSVOptions(required: required, kind: { name in kinds.map { $0[name] } ?? .numeric })
    do {
        _ = try CSVReader.parse(bytes, file: "t.csv", options: options)
        return nil
    } catch let error as DataError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

private func numbers(_ table: DataTable, _ name: String) -> [Double]? {
    guard case .numeric(let v)? = table.column(name) else { return nil }
    return v
}

private func categories(_ table: DataTable, _ name: String) -> (codes: [Int32], levels: [String])? {
    guard case .categorical(let codes, let levels)? = table.column(name) else { return nil }
    return (codes, levels)
}

/// The values of a categorical column as strings (`nil` = missing).
private func values(_ table: DataTable, _ name: String) -> [String?]? {
    guard let column = table.column(name) else { return nil }
    return (0..<column.count).map { column.string(at: $0) }
}

/// A fresh temporary directory, removed after `body`.
private func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tabular-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

// MARK: - Quoting

@Suite("CSV quoting")
struct CSVQuotingTests {
    @Test("a quoted field may contain commas")
    func quotedComma() throws {
        let table = try parse("name,x\n\"Smith, John\",1\nplain,2\n", kinds: ["name": .categorical, "x": .numeric])
        #expect(values(table, "name") == ["Smith, John", "plain"])
        #expect(numbers(table, "x") == [1, 2])
    }

    @Test("a doubled quote inside a quoted field reads as one quote")
    func doubledQuote() throws {
        let table = try parse("q\n\"say \"\"hi\"\"\"\n\"\"\"\"\n", kinds: ["q": .categorical])
        #expect(values(table, "q") == ["say \"hi\"", "\""])
    }

    @Test("a doubled quote is unescaped even when it follows a character that joins the next grapheme")
    func doubledQuoteAfterPrependCharacter() throws {
        // U+0600 (a prepended concatenation mark) forms one grapheme with the quote after it.
        let table = try parse("q\n\"\u{600}\"\"x\"\n\"a\"\"\u{301}\"\n", kinds: ["q": .categorical])
        #expect(values(table, "q")?.map { $0.map { Array($0.unicodeScalars) } } == [["\u{600}", "\"", "x"], ["a", "\"", "\u{301}"]])
    }

    @Test("a quoted field may contain a newline, kept in the value")
    func quotedNewline() throws {
        let table = try parse("note,x\n\"first\nsecond\",1\n\"a\r\nb\",2\n", kinds: ["note": .categorical, "x": .numeric])
        #expect(values(table, "note") == ["first\nsecond", "a\r\nb"])
        #expect(numbers(table, "x") == [1, 2])
        #expect(table.rowCount == 2)
    }

    @Test("the line of an error after a quoted newline counts the embedded newline")
    func lineAfterEmbeddedNewline() throws {
        let error = parseError("note,x\n\"two\nlines\",1\nok,oops\n", kinds: ["note": .categorical, "x": .numeric])
        #expect(error?.code == .badNumber)
        #expect(error?.line == 4)
        #expect(error?.description == #"t.csv: line 4, column "x": "oops" is not a number"#)
    }

    @Test("an empty quoted field in a numeric column is missing")
    func emptyQuotedNumeric() throws {
        let table = try parseNumeric("a,b\n\"\",1\n")
        #expect(numbers(table, "a")?.first?.isNaN == true)
        #expect(numbers(table, "b") == [1])
    }

    @Test("a quoted number in a numeric column is parsed")
    func quotedNumber() throws {
        let table = try parseNumeric("a\n\"2.5\"\n\"-3\"\n")
        #expect(numbers(table, "a") == [2.5, -3])
    }

    @Test("a quoted header name may contain a comma and doubled quotes")
    func quotedHeader() throws {
        let table = try parse("\"a,b\",\"say \"\"x\"\"\"\n1,2\n", kinds: ["a,b": .numeric, "say \"x\"": .numeric])
        #expect(table.names == ["a,b", "say \"x\""])
        #expect(numbers(table, "say \"x\"") == [2])
    }
}

// MARK: - Line structure

@Suite("CSV lines")
struct CSVLineTests {
    @Test("CRLF line endings read the same as LF")
    func crlfEqualsLF() throws {
        let kinds: [String: ColumnKind] = ["a": .numeric, "b": .categorical]
        let lf = try parse("a,b\n1,x\n2,y\n", kinds: kinds)
        let crlf = try parse("a,b\r\n1,x\r\n2,y\r\n", kinds: kinds)
        #expect(crlf == lf)
        #expect(numbers(crlf, "a") == [1, 2])
        #expect(values(crlf, "b") == ["x", "y"])
    }

    @Test("line numbers in errors count CRLF line endings once")
    func crlfLineNumbers() throws {
        let error = parseError("a\r\n1\r\n2\r\nbad\r\n")
        #expect(error?.description == #"t.csv: line 4, column "a": "bad" is not a number"#)
    }

    @Test("a UTF-8 byte order mark before the header is skipped")
    func byteOrderMark() throws {
        let table = try parse([0xEF, 0xBB, 0xBF] + Array("id,x\n1,2\n".utf8), required: ["id"], kinds: ["id": .numeric, "x": .numeric])
        #expect(table.names == ["id", "x"])
        #expect(numbers(table, "id") == [1])
    }

    @Test("the last row is read when the file has no trailing newline")
    func noTrailingNewline() throws {
        let table = try parseNumeric("a,b\n1,2\n3,4")
        #expect(table.rowCount == 2)
        #expect(numbers(table, "b") == [2, 4])
    }

    @Test("a trailing newline does not add an empty row")
    func trailingNewline() throws {
        let table = try parseNumeric("a,b\n1,2\n3,4\n")
        #expect(table.rowCount == 2)
        #expect(numbers(table, "a") == [1, 3])
    }

    @Test("blank lines (LF and CRLF) anywhere are skipped")
    func blankLinesSkipped() throws {
        let table = try parseNumeric("\n\na,b\n\n1,2\r\n\r\n\n3,4\n\n")
        #expect(table.names == ["a", "b"])
        #expect(numbers(table, "a") == [1, 3])
        #expect(numbers(table, "b") == [2, 4])
    }

    @Test("skipped blank lines still count in error line numbers")
    func blankLinesCounted() throws {
        let error = parseError("a\n\n1\n\n\nx\n")
        #expect(error?.line == 6)
        #expect(error?.description == #"t.csv: line 6, column "a": "x" is not a number"#)
    }

    @Test("a header-only file gives a table with its columns and 0 rows")
    func headerOnly() throws {
        for text in ["a,b\n", "a,b", "a,b\r\n\r\n"] {
            let table = try parse(text, kinds: ["a": .numeric, "b": .categorical])
            #expect(table.rowCount == 0)
            #expect(table.names == ["a", "b"])
            #expect(table.column("b") == .categorical(codes: [], levels: []))
        }
    }

    @Test("header names are trimmed of spaces")
    func headerTrimmed() throws {
        let table = try parseNumeric(" a , b\n1,2\n")
        #expect(table.names == ["a", "b"])
    }
}

// MARK: - Missing values

@Suite("CSV missing values")
struct CSVMissingTests {
    @Test("empty, NA, NaN, N/A and null are NaN in a numeric column, never zero")
    func numericMissing() throws {
        let table = try parseNumeric("x,y\n,1\nNA,2\nNaN,3\nN/A,4\nnull,5\nnan,6\nNULL,7\n  ,8\n NA ,9\n0,10\n")
        let x = try #require(numbers(table, "x"))
        #expect(x.count == 10)
        #expect(x.prefix(9).allSatisfy { $0.isNaN })
        #expect(x[9] == 0)
        #expect(table.column("x")?.missingCount == 9)
    }

    @Test("empty, NA, NaN, N/A and null are code -1 in a categorical column, never a level")
    func categoricalMissing() throws {
        let table = try parse("c\nred\n\"\"\nNA\nNaN\nN/A\nnull\nblue\n", kinds: ["c": .categorical])
        let c = try #require(categories(table, "c"))
        #expect(c.codes == [0, -1, -1, -1, -1, -1, 1])
        #expect(c.levels == ["red", "blue"])
        #expect(table.column("c")?.missingCount == 5)
    }

    @Test("an empty last field of a row is missing")
    func emptyLastField() throws {
        let table = try parse("a,c\n1,\n", kinds: ["a": .numeric, "c": .categorical])
        #expect(categories(table, "c")?.codes == [-1])
        let table2 = try parseNumeric("a,b\n1,\n")
        #expect(numbers(table2, "b")?.first?.isNaN == true)
    }

    @Test("the missing tokens can be replaced")
    func customMissingTokens() throws {
        let table = try parse("x,c\n?,?\n", missing: ["?"], kinds: ["x": .numeric, "c": .categorical])
        #expect(numbers(table, "x")?.first?.isNaN == true)
        #expect(categories(table, "c")?.codes == [-1])
        #expect(throws: DataError.self) { try parse("x\nNA\n", missing: ["?"], kinds: ["x": .numeric]) }
    }

    @Test("spaces around a number are ignored")
    func numberTrimmed() throws {
        let table = try parseNumeric("x\n 1.5 \n\t-2\t\n")
        #expect(numbers(table, "x") == [1.5, -2])
    }
}

// MARK: - Malformed input

@Suite("CSV malformed input")
struct CSVMalformedTests {
    @Test("a row with too few fields is a ragged row on its line")
    func tooFewFields() {
        let error = parseError("a,b,c\n1,2,3\n4,5\n")
        #expect(error?.code == .raggedRow)
        #expect(error?.description == "t.csv: line 3: row has 2 fields, the header has 3")
    }

    @Test("a row with one field where the header has two is a ragged row")
    func oneField() {
        let error = parseError("a,b\n1\n")
        #expect(error?.code == .raggedRow)
        #expect(error?.description == "t.csv: line 2: row has 1 field, the header has 2")
    }

    @Test("a row with too many fields is a ragged row on its line")
    func tooManyFields() {
        let error = parseError("a,b\n1,2\n3,4,5\n")
        #expect(error?.code == .raggedRow)
        #expect(error?.description == "t.csv: line 3: row has more than the header's 2 fields")
    }

    @Test("a trailing comma is an extra field")
    func trailingComma() {
        let error = parseError("a,b\n1,2,\n")
        #expect(error?.code == .raggedRow)
        #expect(error?.line == 2)
    }

    @Test("text in a numeric column is a bad number naming line and column")
    func unparsableNumber() {
        let error = parseError("id,tenure\n1,2\n2,abc\n", kinds: ["id": .numeric, "tenure": .numeric])
        #expect(error?.code == .badNumber)
        #expect(error?.line == 3)
        #expect(error?.column == "tenure")
        #expect(error?.description == #"t.csv: line 3, column "tenure": "abc" is not a number"#)
    }

    @Test("inf, infinity and nan-like text that is not a missing token are rejected as numbers")
    func infRejected() {
        for token in ["inf", "-inf", "Infinity"] {
            let error = parseError("x\n\(token)\n")
            #expect(error?.code == .badNumber)
            #expect(error?.description == "t.csv: line 2, column \"x\": \"\(token)\" is not a number")
        }
    }

    @Test("hexadecimal 0x10 is rejected as a number")
    func hexRejected() {
        let error = parseError("x\n1\n0x10\n")
        #expect(error?.code == .badNumber)
        #expect(error?.description == #"t.csv: line 3, column "x": "0x10" is not a number"#)
    }

    @Test("a number too large for a double is rejected")
    func overflowRejected() {
        let error = parseError("x\n1e400\n")
        #expect(error?.code == .badNumber)
        #expect(error?.description == #"t.csv: line 2, column "x": "1e400" is too large for a number"#)
    }

    @Test("a missing required column names the column on the header line")
    func missingRequiredColumn() {
        let error = parseError("a,b\n1,2\n", required: ["a", "label"])
        #expect(error?.code == .missingColumn)
        #expect(error?.description == #"t.csv: line 1, column "label": required column is missing from the header"#)
    }

    @Test("a missing required column is reported on the header's line after leading blank lines")
    func missingRequiredColumnAfterBlankLines() {
        let error = parseError("\n\na,b\n1,2\n", required: ["label"])
        #expect(error?.code == .missingColumn)
        #expect(error?.line == 3)
    }

    @Test("an empty file has no header")
    func emptyFile() {
        for bytes: [UInt8] in [[], [0xEF, 0xBB, 0xBF], Array("\n\r\n\n".utf8)] {
            let error = parseError(bytes)
            #expect(error?.code == .empty)
            #expect(error?.description == "t.csv: empty file: no header row")
        }
    }

    @Test("a header name that appears twice is a bad header")
    func duplicateHeader() {
        let error = parseError("a,b,a\n1,2,3\n")
        #expect(error?.code == .badHeader)
        #expect(error?.description == #"t.csv: line 1: column "a" appears twice"#)
    }

    @Test("header names that differ only by surrounding spaces are duplicates")
    func duplicateHeaderAfterTrimming() {
        let error = parseError("a, a\n1,2\n")
        #expect(error?.code == .badHeader)
        #expect(error?.description == #"t.csv: line 1: column "a" appears twice"#)
    }

    @Test("an empty header name is a bad header naming its position")
    func emptyHeader() {
        let error = parseError("a,,b\n1,2,3\n")
        #expect(error?.code == .badHeader)
        #expect(error?.description == "t.csv: line 1: column 2 has no name")
        #expect(parseError("a,  \n1,2\n")?.description == "t.csv: line 1: column 2 has no name")
    }

    @Test("a quote that is never closed is reported on the line where the field starts")
    func unterminatedQuote() {
        let error = parseError("a,b\n1,2\n3,\"4\n5,6\n")
        #expect(error?.code == .badQuote)
        #expect(error?.description == #"t.csv: line 3, column "b": quoted field is never closed"#)
    }

    @Test("a quote inside an unquoted field is a bad quote")
    func quoteInUnquoted() {
        let error = parseError("a,b\n1,2\n3,4\"5\n", kinds: ["a": .numeric, "b": .categorical])
        #expect(error?.code == .badQuote)
        #expect(error?.description == #"t.csv: line 3, column "b": quote inside an unquoted field"#)
    }

    @Test("a character after a closing quote is a bad quote")
    func characterAfterClosingQuote() {
        let error = parseError("a,b\n\"x\"y,2\n", kinds: ["a": .categorical, "b": .numeric])
        #expect(error?.code == .badQuote)
        #expect(error?.description == #"t.csv: line 2, column "a": unexpected character after a closing quote"#)
    }

    @Test("a bad quote after a multi-line quoted field is reported on the row's first line")
    func badQuoteInMultilineRow() {
        let error = parseError("a,b\n\"x\ny\",\"z\"!\n", kinds: ["a": .categorical, "b": .categorical])
        #expect(error?.code == .badQuote)
        #expect(error?.description == #"t.csv: line 2, column "b": unexpected character after a closing quote"#)
    }

    @Test("a bad quote in the header is reported on line 1")
    func badQuoteInHeader() {
        let error = parseError("a,b\"c\n1,2\n")
        #expect(error?.code == .badQuote)
        #expect(error?.line == 1)
    }

    @Test("invalid UTF-8 in a categorical value is a bad encoding naming line and column")
    func invalidUTF8Categorical() {
        let bytes = Array("id,city\n1,Paris\n2,".utf8) + [0xC3, 0x28] + Array("\n".utf8)
        let error = parseError(bytes, kinds: ["id": .numeric, "city": .categorical])
        #expect(error?.code == .badEncoding)
        #expect(error?.description == #"t.csv: line 3, column "city": value is not valid UTF-8"#)
    }

    @Test("invalid UTF-8 in the header is a bad encoding")
    func invalidUTF8Header() {
        let error = parseError(Array("a,".utf8) + [0xFF] + Array("\n1,2\n".utf8))
        #expect(error?.code == .badEncoding)
        #expect(error?.description == "t.csv: line 1: header is not valid UTF-8")
    }

    @Test("a file that does not exist is unreadable")
    func nonexistentFile() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/missing.csv"
            let error = #expect(throws: DataError.self) {
                try CSVReader.read(file: path, options: CSVOptions(kind: { _ in .numeric }))
            }
            #expect(error?.code == .unreadable)
            #expect(error?.description == "\(path): cannot open: No such file or directory")
        }
    }

    @Test("a directory is unreadable as a CSV file")
    func directoryIsUnreadable() throws {
        try withTemporaryDirectory { dir in
            let error = #expect(throws: DataError.self) {
                try CSVReader.read(file: dir, options: CSVOptions(kind: { _ in .numeric }))
            }
            #expect(error?.code == .unreadable)
            #expect(error?.description == "\(dir): not a regular file")
        }
    }
}

// MARK: - Files, columns and tables

@Suite("CSV files and tables")
struct CSVTableTests {
    @Test("read(file:) parses a file on disk and names it in errors")
    func readFile() throws {
        try withTemporaryDirectory { dir in
            let good = dir + "/good.csv", bad = dir + "/bad.csv"
            try Data("a,b\n1,x\n2,y\n".utf8).write(to: URL(fileURLWithPath: good))
            try Data("a\n1\nzz\n".utf8).write(to: URL(fileURLWithPath: bad))
            let options = CSVOptions(kind: { $0 == "a" ? .numeric : .categorical })
            let table = try CSVReader.read(file: good, options: options)
            #expect(numbers(table, "a") == [1, 2])
            #expect(values(table, "b") == ["x", "y"])
            let error = #expect(throws: DataError.self) { try CSVReader.read(file: bad, options: options) }
            #expect(error?.description == "\(bad): line 3, column \"a\": \"zz\" is not a number")
        }
    }

    @Test("header(file:) returns the trimmed column names without reading rows")
    func headerOfFile() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/h.csv"
            try Data([0xEF, 0xBB, 0xBF] + Array("id,\"a,b\", c \nnot,even,\"parsed\n".utf8)).write(to: URL(fileURLWithPath: path))
            #expect(try CSVReader.header(file: path) == ["id", "a,b", "c"])
        }
    }

    @Test("columns mapped to nil are skipped without being parsed")
    func skippedColumnsNotParsed() throws {
        let bytes = Array("id,junk,x\n1,abc,2\n2,".utf8) + [0xFF, 0xFE] + Array(",3\n3,0x10,4\n".utf8)
        let table = try parse(bytes, kinds: ["id": .numeric, "x": .numeric])
        #expect(table.names == ["id", "x"])
        #expect(table.column("junk") == nil)
        #expect(numbers(table, "x") == [2, 3, 4])
        #expect(table.rowCount == 3)
    }

    @Test("loaded columns keep the file's column order")
    func columnOrder() throws {
        let table = try parse("c,b,a\n1,x,2\n", kinds: ["a": .numeric, "b": .categorical, "c": .numeric])
        #expect(table.names == ["c", "b", "a"])
        #expect(table.columns.map(\.kind) == [.numeric, .categorical, .numeric])
    }

    @Test("categorical levels are in order of first appearance")
    func levelsInOrderOfAppearance() throws {
        let table = try parse("c\nz\na\nz\nm\na\n", kinds: ["c": .categorical])
        let c = try #require(categories(table, "c"))
        #expect(c.levels == ["z", "a", "m"])
        #expect(c.codes == [0, 1, 0, 2, 1])
    }

    @Test("categorical values are case- and space-sensitive")
    func categoricalExact() throws {
        let table = try parse("c\nA\na\n a\n", kinds: ["c": .categorical])
        #expect(categories(table, "c")?.levels == ["A", "a", " a"])
    }

    @Test("a numeric-looking label in a categorical column is a level, not a number")
    func numericCategorical() throws {
        let table = try parse("y\n1\n0\n1\n", kinds: ["y": .categorical])
        #expect(categories(table, "y")?.levels == ["1", "0"])
        #expect(categories(table, "y")?.codes == [0, 1, 0])
    }

    @Test("appending concatenates numeric columns and merges categorical levels, remapping codes")
    func appendingMergesLevels() throws {
        let kinds: [String: ColumnKind] = ["x": .numeric, "c": .categorical]
        let first = try parse("x,c\n1,a\n2,b\n3,NA\n", kinds: kinds)
        let second = try parse("c,x\nc,4\na,5\n,6\nb,7\n", kinds: kinds)
        let merged = first.appending(second)
        #expect(merged.names == ["x", "c"])
        #expect(merged.rowCount == 7)
        #expect(numbers(merged, "x") == [1, 2, 3, 4, 5, 6, 7])
        let c = try #require(categories(merged, "c"))
        #expect(c.levels == ["a", "b", "c"])
        #expect(c.codes == [0, 1, -1, 2, 0, -1, 1])
        #expect(values(merged, "c") == ["a", "b", nil, "c", "a", nil, "b"])
    }

    @Test("appending an empty table leaves the table unchanged")
    func appendingEmpty() throws {
        let table = try parse("x,c\n1,a\n", kinds: ["x": .numeric, "c": .categorical])
        #expect(table.appending(table.emptyCopy) == table)
        #expect(table.emptyCopy.appending(table) == table)
    }

    @Test("selecting returns the named columns in the requested order")
    func selectingOrder() throws {
        let table = try parse("a,b,c\n1,x,3\n", kinds: ["a": .numeric, "b": .categorical, "c": .numeric])
        let selected = try #require(table.selecting(["c", "a"]))
        #expect(selected.names == ["c", "a"])
        #expect(numbers(selected, "c") == [3])
        #expect(numbers(selected, "a") == [1])
        #expect(selected.rowCount == 1)
    }

    @Test("selecting a column that does not exist returns nil")
    func selectingMissing() throws {
        let table = try parseNumeric("a,b\n1,2\n")
        #expect(table.selecting(["a", "nope"]) == nil)
    }

    @Test("rows(_:) picks rows in the given order")
    func rowsInOrder() throws {
        let table = try parse("x,c\n1,a\n2,b\n3,c\n", kinds: ["x": .numeric, "c": .categorical])
        let picked = table.rows([2, 0])
        #expect(numbers(picked, "x") == [3, 1])
        #expect(values(picked, "c") == ["c", "a"])
    }

    @Test("the row count is kept when every column is skipped")
    func rowCountWithoutColumns() throws {
        let table = try parse("a,b\n1,2\n3,4\n5,6\n", kinds: [:])
        #expect(table.names.isEmpty)
        #expect(table.rowCount == 3)
    }
}

@Suite("CSV: large files and type fallback")
struct CSVLargeFileTests {
    /// A file large enough to be parsed in parallel chunks, with quoted newlines and commas.
    func bigCSV(rows: Int) -> String {
        var lines = ["id,x,note"]
        for i in 0..<rows {
            let note = i % 7 == 0 ? "\"multi\nline, \"\"quoted\"\"\"" : "n\(i % 13)"
            lines.append("\(i),\(Double(i) / 4),\(note)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("a file parsed in parallel chunks equals the same rows parsed one by one")
    func parallelChunksAgree() throws {
        let text = bigCSV(rows: 300_000)
        #expect(text.utf8.count > 4 << 20, "large enough to be cut into chunks")
        let options = CSVOptions { $0 == "note" ? .categorical : .numeric }
        let table = try CSVReader.parse(Array(text.utf8), file: "big.csv", options: options)
        #expect(table.rowCount == 300_000)
        guard case .numeric(let x)? = table.column("x"), case .categorical(let codes, let levels)? = table.column("note") else {
            Issue.record("wrong kinds")
            return
        }
        #expect(x.enumerated().allSatisfy { $0.element == Double($0.offset) / 4 })
        for i in [0, 1, 7, 149_999, 150_000, 299_999] {
            let expected = i % 7 == 0 ? "multi\nline, \"quoted\"" : "n\(i % 13)"
            #expect(levels[Int(codes[i])] == expected, "row \(i)")
        }
    }

    @Test("an error in a later chunk reports its true line number")
    func errorLineInLaterChunk() throws {
        var text = bigCSV(rows: 300_000)
        text += "300000,oops,n1\n"
        // Every 7th row spans two lines, so the last row starts at line 1 + 300000 + 42858 + 1.
        let expectedLine = 1 + 300_000 + (300_000 + 6) / 7 + 1
        let options = CSVOptions { $0 == "note" ? .categorical : .numeric }
        #expect(throws: DataError(.badNumber, file: "big.csv", line: expectedLine, column: "x", "\"oops\" is not a number")) {
            try CSVReader.parse(Array(text.utf8), file: "big.csv", options: options)
        }
    }

    @Test("chunks join as one file: blank lines between them, lone CR and CRLF ends, levels first seen late, text only in the last chunk")
    func chunksJoin() throws {
        // Rows of about 40 bytes; every ending; blank lines so chunks hold fewer rows than line ends.
        var rows: [String] = []
        for i in 0..<200_000 {
            let late = i > 180_000 ? "a later category \(i % 3)" : "a category \(i % 5)"
            let y = i == 199_000 ? "text" : String(Double(i % 1000) / 8)
            rows.append("\(i),\(y),\(late),\(i % 11 == 0 ? "" : "-\(i % 97).125")")
        }
        let endings = ["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"]
        var text = "id,y,c,z\n"
        for (i, row) in rows.enumerated() { text += row + endings[(i / 1000) % endings.count] }
        let bytes = Array(text.utf8)
        #expect(bytes.count > 4 << 20, "large enough to be cut into chunks")
        var options = CSVOptions { $0 == "c" ? .categorical : .numeric }
        options.textFallback = true
        let whole = try CSVReader.parse(bytes, file: "t.csv", options: options)
        // The same rows read in pieces too small to be chunked, joined by DataTable.appending.
        let pieces = stride(from: 0, to: rows.count, by: 20_000).map { start in
            "id,y,c,z\n" + rows[start..<min(start + 20_000, rows.count)].joined(separator: "\n") + "\n"
        }
        let parts = try pieces.map { try CSVReader.parse(Array($0.utf8), file: "t.csv", options: options) }
        let joined = parts.dropFirst().reduce(parts[0]) { $0.appending($1) }
        #expect(whole.rowCount == 200_000)
        #expect(ParseIdentityTests.digest(whole) == ParseIdentityTests.digest(joined))
        #expect(whole.column("y")?.kind == .categorical, "the text in the last chunk makes all of y text")
    }

    @Test("a file of 300 columns (parsed into buffers, then copied) reads every value")
    func wideFile() throws {
        let header = (0..<300).map { "c\($0)" }.joined(separator: ",")
        let rows = (0..<50).map { r in (0..<300).map { c in c == 7 ? "k\(r % 3)" : "\(r * 1000 + c)" }.joined(separator: ",") }
        let table = try CSVReader.parse(
            Array((header + "\n" + rows.joined(separator: "\n")).utf8), file: "wide.csv",
            options: CSVOptions { $0 == "c7" ? .categorical : .numeric })
        #expect(table.rowCount == 50)
        #expect(table.column("c299") == .numeric((0..<50).map { Double($0 * 1000 + 299) }))
        #expect(table.column("c7") == .categorical(codes: (0..<50).map { Int32($0 % 3) }, levels: ["k0", "k1", "k2"]))
    }

    @Test("a large file that shrinks while it is read fails with a message, not a crash (SIGBUS)")
    func fileShrinksWhileMapped() throws {
        let path = NSTemporaryDirectory() + "shrinks-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = "x\n" + String(repeating: "1.5\n", count: 2_000_000)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: DataError(.unreadable, file: path, "the file changed while it was read: it is shorter than the \(text.utf8.count) bytes it had")) {
            try CSVReader.withBytes(of: path) { bytes -> Int in
                // Another process truncates the file while it is mapped; every page after the first
                // then reads as zeros.
                #expect(truncate(path, 4096) == 0)
                var sum = 0
                for k in stride(from: 0, to: bytes.count, by: 4096) { sum &+= Int(bytes[k]) }
                return sum
            }
        }
        // The same file, whole, reads as usual (mapped: it is over 4 MB).
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let table = try CSVReader.read(file: path, options: CSVOptions { _ in .numeric })
        #expect(table.rowCount == 2_000_000)
    }

    @Test("rows left out in later chunks are named by their true lines")
    func skippedLinesInLaterChunks() throws {
        var text = "a,b\n"
        var expected: [Int] = []
        for i in 0..<400_000 {
            if i % 100_000 == 99_999 {
                text += "\(i),bad\n"
                expected.append(i + 2)
            } else {
                text += "\(i),\(i % 7)\n"
            }
        }
        var options = CSVOptions { _ in .numeric }
        options.skipBadRows = true
        var skipped: [SkippedRow] = []
        let table = try CSVReader.parse(Array(text.utf8), file: "t.csv", options: options, skipped: &skipped)
        #expect(table.rowCount == 400_000 - 4)
        #expect(skipped.map(\.line) == expected)
        #expect(skipped.map(\.text) == expected.map { "\($0 - 2),bad" })
    }

    @Test("with textFallback a numeric column holding text becomes categorical, keeping earlier values as text")
    func textFallback() throws {
        var options = CSVOptions { _ in .numeric }
        options.textFallback = true
        let table = try CSVReader.parse(Array("a,b\n1,2\n1.5,x\n,3\n".utf8), file: "t.csv", options: options)
        guard case .numeric(let a)? = table.column("a") else {
            Issue.record("column a should stay numeric")
            return
        }
        #expect(a[0] == 1 && a[1] == 1.5 && a[2].isNaN)
        #expect(table.column("b") == .categorical(codes: [0, 1, 2], levels: ["2", "x", "3"]))
    }
}
