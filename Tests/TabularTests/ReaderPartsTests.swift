import Foundation
import Testing

@testable import Tabular

/// The CSV reader's parts that work on raw bytes: the line-end count that sizes the chunks, the
/// interner that maps a categorical field's bytes to its code, and the number loops.
@Suite("CSV reader parts")
struct ReaderPartsTests {
    /// Line ends counted one byte at a time: LF, or CR not followed by LF.
    static func referenceLineEnds(_ b: [UInt8]) -> (Int, Bool) {
        var count = 0
        for (k, c) in b.enumerated() {
            if c == UInt8(ascii: "\n") || (c == UInt8(ascii: "\r") && (k + 1 == b.count || b[k + 1] != UInt8(ascii: "\n"))) {
                count += 1
            }
        }
        return (count, b.contains(UInt8(ascii: "\"")))
    }

    @Test("line ends and quotes are counted as one byte at a time would, across 64-byte blocks and at any offset")
    func lineEnds() {
        var rng = SplitMix64(seed: 18)
        let alphabet: [UInt8] = Array("\r\n\"a,1".utf8)
        for trial in 0..<3000 {
            let length = Int(rng.next() % 300)
            // Mostly plain bytes; some trials dense in CR and LF, to put CRLF pairs across block edges.
            let dense = trial % 3 == 0
            var bytes = (0..<length).map { _ in
                dense ? alphabet[Int(rng.next() % UInt64(alphabet.count))] : (rng.next() % 10 == 0 ? alphabet[Int(rng.next() % 3)] : UInt8(ascii: "x"))
            }
            if trial % 5 == 0, length > 65 {
                bytes[63] = UInt8(ascii: "\r")
                bytes[64] = UInt8(ascii: "\n")
            }
            let start = length == 0 ? 0 : Int(rng.next() % UInt64(length))
            let (count, quoted) = bytes.withUnsafeBufferPointer { CSVReader.lineEnds($0, start, length) }
            let (expectedCount, expectedQuoted) = Self.referenceLineEnds(Array(bytes[start...]))
            #expect(count == expectedCount, "trial \(trial)")
            #expect(quoted == expectedQuoted, "trial \(trial)")
        }
    }

    @Test("a CR at the end of a chunk is a line end; CRLF across a block edge is one")
    func lineEndEdges() {
        let cr = Array(repeating: UInt8(ascii: "x"), count: 63) + [UInt8(ascii: "\r")]
        #expect(cr.withUnsafeBufferPointer { CSVReader.lineEnds($0, 0, $0.count) }.count == 1)
        let crlf = cr + [UInt8(ascii: "\n")] + Array(repeating: UInt8(ascii: "y"), count: 70)
        #expect(crlf.withUnsafeBufferPointer { CSVReader.lineEnds($0, 0, $0.count) }.count == 1)
        #expect([UInt8]().withUnsafeBufferPointer { CSVReader.lineEnds($0, 0, 0) } == (0, false))
    }

    @Test("the interner finds every key it stored, by length and bytes past the first 8, and no other")
    func interner() {
        var interner = ByteInterner()
        // Keys that share lengths and 8-byte prefixes, the empty key, and long ones.
        var keys: [[UInt8]] = [[]]
        for k in 0..<300 { keys.append(Array("region-\(k)".utf8)) }
        for k in 0..<40 { keys.append(Array(String(repeating: "z", count: k + 1).utf8)) }
        keys.append(Array("abcdefgh".utf8))
        keys.append(Array("abcdefgh\0".utf8))
        for (code, key) in keys.enumerated() {
            key.withUnsafeBufferPointer { buffer in
                #expect(interner.find(buffer) == nil, "\(key) before it is stored")
                interner.insert(buffer, code: Int32(code))
            }
        }
        for (code, key) in keys.enumerated() {
            #expect(key.withUnsafeBufferPointer { interner.find($0) } == Int32(code), "\(String(decoding: key, as: UTF8.self))")
        }
        for absent in ["region-300", "region-1000", "abcdefg", "abcdefgh\u{1}", "region-01"] {
            #expect(Array(absent.utf8).withUnsafeBufferPointer { interner.find($0) } == nil, "\(absent)")
        }
    }

    @Test("the interner reads a plain field in place: its code and end, and nil for a quote, a long or unknown key, or the buffer's last bytes")
    func internerInPlace() {
        var interner = ByteInterner()
        let keys = ["", "a", "premium", "abcdefgh", "region-01", "fifteen-bytes!!", "sixteen-bytes!!!"]
        for (code, key) in keys.enumerated() {
            Array(key.utf8).withUnsafeBufferPointer { interner.insert($0, code: Int32(code)) }
        }
        let padding = String(repeating: "x", count: 16)
        func find(_ text: String) -> (code: Int32, end: Int)? {
            Array(text.utf8).withUnsafeBufferPointer { interner.find(plainFieldIn: $0.baseAddress!, $0.count, at: 0) }
        }
        for (code, key) in keys.enumerated() where key.utf8.count <= 15 {
            for delimiter in [",", "\n", "\r\n"] {
                let found = find(key + delimiter + padding)
                #expect(found?.code == Int32(code) && found?.end == key.utf8.count, "\(key) before \(delimiter.debugDescription)")
            }
        }
        #expect(find("sixteen-bytes!!!," + padding) == nil, "a key of 16 bytes is read the general way")
        #expect(find("premium\"," + padding) == nil, "a quote in the field")
        #expect(find("\"premium\"," + padding) == nil, "a quoted field")
        #expect(find("premiun," + padding) == nil, "a key not stored")
        #expect(find("regio," + padding) == nil)
        #expect(find("premium,") == nil, "fewer than 16 bytes left")
    }

    /// One numeric field as the file may write it, and the value it must read as (NaN: missing).
    static func numberField(_ rng: inout SplitMix64) -> (text: String, value: Double) {
        func digits(_ count: Int) -> String { String((0..<count).map { _ in Character(String(rng.next() % 10)) }) }
        let sign = ["", "", "-", "+"][Int(rng.next() % 4)]
        let text: String
        switch rng.next() % 16 {
        case 0: return ("", .nan)
        case 1: return (["NA", " ", "null"][Int(rng.next() % 3)], .nan)
        case 2: text = sign + digits(Int(rng.next() % 19) + 1)  // integers up to 19 digits
        case 3: text = sign + digits(Int(rng.next() % 9)) + "." + digits(Int(rng.next() % 12))  // ".", "12.", ".5"
        case 4: text = sign + digits(Int(rng.next() % 4) + 1) + "." + digits(Int(rng.next() % 4)) + "e" + String(Int(rng.next() % 40) - 20)
        case 5: text = " " + sign + digits(3) + "." + digits(2) + " "  // spaces around
        case 6: text = "\"" + sign + digits(2) + "." + digits(3) + "\""  // quoted
        default:
            // The common case: a few digits, a point, several decimals, 5 to 17 bytes.
            text = sign + digits(Int(rng.next() % 8) + 1) + "." + digits(Int(rng.next() % 9) + 1)
        }
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        if body.hasPrefix("\"") { body = body.dropFirst().dropLast() }
        guard let value = parseDouble(String(body)) else { return (text, .nan) }  // ".", "-.": not numbers
        return (text, value)
    }

    @Test("the number loops read every field as the general parser does: signs, points, 1 to 19 digits, exponents, spaces, quotes, missing values, at any column and at the buffer's end")
    func numberLoops() throws {
        var rng = SplitMix64(seed: 18)
        for trial in 0..<40 {
            // Numeric columns in runs, broken by a categorical column or a skipped one; in the last
            // trials, runs longer than the C loop's batch of 64 fields.
            let kinds: [ColumnKind?] = (0..<(trial >= 38 ? 150 : Int(rng.next() % 12 + 1))).map { _ in
                switch rng.next() % (trial >= 38 ? 100 : 6) { case 0: .categorical
                case 1: nil
                default: .numeric }
            }
            let names = kinds.indices.map { "c\($0)" }
            var text = names.joined(separator: ",") + "\n"
            var expected: [[Double]] = Array(repeating: [], count: kinds.count)
            var rows = 0
            while rows < 300 {
                var fields: [String] = []
                var values: [Double] = []
                for kind in kinds {
                    if kind == .numeric {
                        var field = Self.numberField(&rng)
                        while field.value.isNaN, !field.text.isEmpty, field.text.trimmingCharacters(in: .whitespaces) != "NA",
                            field.text != "null", !field.text.trimmingCharacters(in: .whitespaces).isEmpty
                        {
                            field = Self.numberField(&rng)  // "." and the like are errors, not missing values
                        }
                        fields.append(field.text)
                        values.append(field.value)
                    } else {
                        fields.append(["basic", "premium", "\"a, b\"", ""][Int(rng.next() % 4)])
                        values.append(0)
                    }
                }
                let line = fields.joined(separator: ",")
                if line.isEmpty { continue }  // a blank line is not a row
                text += line + (rng.next() % 4 == 0 ? "\r\n" : "\n")
                for (k, v) in values.enumerated() { expected[k].append(v) }
                rows += 1
            }
            if trial % 2 == 0 { text.removeLast() }  // the last row without a line end
            var options = CSVOptions { name in kinds[Int(name.dropFirst())!] }
            options.missingTokens = ["", "NA", "null"]
            let table = try CSVReader.parse(Array(text.utf8), file: "t.csv", options: options)
            #expect(table.rowCount == rows)
            for (k, kind) in kinds.enumerated() where kind == .numeric {
                guard case .numeric(let got) = table.column(names[k]) else {
                    Issue.record("column \(names[k]) is not numeric")
                    continue
                }
                for r in 0..<rows where got[r].bitPattern != expected[k][r].bitPattern && !(got[r].isNaN && expected[k][r].isNaN) {
                    Issue.record("trial \(trial), row \(r + 1), column \(names[k]): read \(got[r]), expected \(expected[k][r])")
                }
            }
        }
    }

    @Test("the number loops leave a missing label to the general path, which reports its row")
    func missingLabel() throws {
        let row = "1.25,-3.5,0.001,42"
        var text = "a,b,c,y\n"
        for k in 0..<50 { text += (k == 37 ? "1.25,-3.5,0.001," : row) + "\n" }
        var options = CSVOptions { _ in .numeric }
        options.skipBadRows = true
        options.notMissing = ["y"]
        var skipped: [SkippedRow] = []
        let table = try CSVReader.parse(Array(text.utf8), file: "t.csv", options: options, skipped: &skipped)
        #expect(table.rowCount == 49)
        #expect(skipped.map(\.line) == [39])
        #expect(table.column("y") == .numeric(Array(repeating: 42, count: 49)))
    }
}
