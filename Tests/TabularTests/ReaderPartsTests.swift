import Testing

@testable import Tabular

/// The CSV reader's parts that work on raw bytes: the line-end count that sizes the chunks, and
/// the interner that maps a categorical field's bytes to its code.
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
}
