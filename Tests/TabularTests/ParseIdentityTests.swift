import Foundation
import Testing

@testable import Tabular

/// The CSV reader's output, bit for bit, must not change when its speed does (issue 18): every
/// committed CSV file and a generated multi-chunk file are parsed and digested, and the digests
/// are the ones the reader of before the rewrite produced (recorded with
/// `UPDATER_PRINT_PARSE_DIGESTS=1 swift test --filter ParseIdentity`).
@Suite("CSV reader output is unchanged")
struct ParseIdentityTests {
    /// FNV-1a over every column's name, kind, value bits, codes and levels.
    static func digest(_ table: DataTable) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<T: FixedWidthInteger>(_ v: T) {
            withUnsafeBytes(of: v.littleEndian) { for b in $0 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 } }
        }
        func mix(_ s: String) {
            for b in s.utf8 { mix(b) }
            mix(UInt8(0))
        }
        mix(table.rowCount)
        for (name, column) in zip(table.names, table.columns) {
            mix(name)
            switch column {
            case .numeric(let values):
                mix(UInt8(1))
                for v in values { mix(v.bitPattern) }
            case .categorical(let codes, let levels):
                mix(UInt8(2))
                for c in codes { mix(c) }
                for l in levels { mix(l) }
            }
        }
        return String(h, radix: 16)
    }

    static var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    /// Every column read as a number, turning to text where a value is not one.
    static func parse(_ bytes: [UInt8], file: String) throws -> DataTable {
        var options = CSVOptions { _ in .numeric }
        options.textFallback = true
        return try CSVReader.parse(bytes, file: file, options: options)
    }

    /// A file of about 6 MB (checked below) (so it is parsed in parallel chunks): numbers with up to 17 digits and
    /// exponents, missing values, categories, quoted fields with commas and newlines, CRLF rows.
    static func generated() -> [UInt8] {
        var rng = SplitMix64(seed: 18)
        var out = "a,b,c,\"d, quoted\",e,f\r\n"
        for row in 0..<80_000 {
            let a = String(format: "%.6f", Double(Int.random(in: -10_000_000...10_000_000, using: &rng)) / 1e5)
            let b = Int.random(in: 0..<20, using: &rng) == 0 ? "" : String(Int.random(in: -999...999, using: &rng))
            let c = ["red", "green", "\"blue, dark\"", "NA", "\"multi\nline\""][Int.random(in: 0..<5, using: &rng)]
            let d = "\(Double(Int.random(in: 1...99_999, using: &rng)))e\(Int.random(in: -30...30, using: &rng))"
            let e = String(Double.random(in: -1e6...1e6, using: &rng))  // 17 significant digits
            let f = row % 7 == 0 ? "\"\(row)\"" : " \(row) "
            out += [a, b, c, d, e, f].joined(separator: ",") + (row % 3 == 0 ? "\r\n" : "\n")
        }
        return Array(out.utf8)
    }

    static let expected: [String: String] = [
        "Fuzz/corpus/csv/seed-bom-crlf-quotes.csv": "281bc81b92f7cbe",
        "Fuzz/corpus/csv/seed-newline-in-quotes.csv": "23fea2f74335bfdc",
        "Fuzz/corpus/csv/seed-ragged-missing.csv": "error: Fuzz/corpus/csv/seed-ragged-missing.csv: line 2: row has 2 fields, the header has 3",
        "Fuzz/corpus/csv/seed-simple.csv": "ac1bbb0d187b42d0",
        "Jobs/churn/data/batch-01-initial.csv": "4356a3ddd0f9fae",
        "Jobs/churn/data/batch-02-shifted.csv": "52621cd1f1c73a6a",
        "Jobs/churn/data/batch-03-relabelled.csv": "a4818f44dd7ba79d",
        "generated": "7b0b7554ef9f6b8b",
        "scripts/fixtures/data/softmax_stall.csv": "1be233d81722673f",
    ]

    @Test("every committed CSV file and a generated multi-chunk file parse to the same bits as before")
    func sameBits() throws {
        let generated = Self.generated()
        #expect(generated.count > 4 << 20, "big enough to be cut into chunks")
        var files: [(String, [UInt8])] = [("generated", generated)]
        let listed = try FileManager.default.subpathsOfDirectory(atPath: Self.root.path)
            .filter { $0.hasSuffix(".csv") && !$0.hasPrefix(".build") && !$0.contains("/.build") }
            .filter { path in ["Fuzz/corpus/csv/", "Jobs/churn/data/", "scripts/fixtures/data/"].contains { path.hasPrefix($0) } }
            .sorted()
        for path in listed {
            files.append((path, Array(try Data(contentsOf: Self.root.appendingPathComponent(path)))))
        }
        var digests: [String: String] = [:]
        for (name, bytes) in files {
            do {
                digests[name] = Self.digest(try Self.parse(bytes, file: name))
            } catch {
                digests[name] = "error: \(error)"
            }
        }
        if ProcessInfo.processInfo.environment["UPDATER_PRINT_PARSE_DIGESTS"] != nil {
            for (k, v) in digests.sorted(by: { $0.key < $1.key }) { print("        \"\(k)\": \"\(v)\",") }
        }
        #expect(digests.count >= 6)
        for (name, digest) in digests {
            #expect(digest == Self.expected[name], "\(name)")
        }
    }
}
