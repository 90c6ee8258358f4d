import Foundation
import Testing

@testable import Tabular

/// `CSVOptions.skipBadRows`: a row with a bad value is left out and reported, the others read as
/// they would be without it.
@Suite("Reading with bad rows left out")
struct SkipBadRowsTests {
    func read(_ text: String, notMissing: Set<String> = []) throws -> (DataTable, [SkippedRow]) {
        var options = CSVOptions { name in name == "plan" || name == "y" ? .categorical : .numeric }
        options.skipBadRows = true
        options.notMissing = notMissing
        var skipped: [SkippedRow] = []
        let table = try CSVReader.parse(Array(text.utf8), file: "t.csv", options: options, skipped: &skipped)
        return (table, skipped)
    }

    @Test("a non-number, a wrong number of fields and a missing label are left out with their line, column and text")
    func skipped() throws {
        let text = "x,plan,y\n1.5,basic,yes\nabc,pro,no\n2.5,team\n3.5,basic,\n4.5,pro,no,extra\n5.5,pro,yes\n"
        let (table, skipped) = try read(text, notMissing: ["y"])
        #expect(table.rowCount == 2)
        #expect(table.column("x") == .numeric([1.5, 5.5]))
        #expect(skipped.map(\.line) == [3, 4, 5, 6])
        #expect(skipped[0].column == "x" && skipped[0].text == "abc,pro,no")
        #expect(skipped[0].description == "line 3, column \"x\": \"abc\" is not a number")
        #expect(skipped[1].reason == "row has 2 fields, the header has 3" && skipped[1].text == "2.5,team")
        #expect(skipped[2].column == "y" && skipped[2].reason == "value is missing")
        #expect(skipped[3].text == "4.5,pro,no,extra")
    }

    @Test("a category first seen in a row that is left out is not a level of the column")
    func levelsOfSkippedRows() throws {
        let (table, skipped) = try read("x,plan,y\n1,basic,yes\nbad,team,no\n2,pro,no\n")
        #expect(skipped.count == 1)
        #expect(table.column("plan") == .categorical(codes: [0, 1], levels: ["basic", "pro"]))
    }

    @Test("without bad rows the table is the strict reader's, in parallel chunks too")
    func sameAsStrict() throws {
        var text = "x,plan,y\n"
        for i in 0..<200_000 { text += "\(Double(i) / 7),\(["basic", "pro"][i % 2]),\(i % 3 == 0 ? "yes" : "no")\n" }
        let strict = try CSVReader.parse(Array(text.utf8), file: "t.csv", options: CSVOptions { $0 == "x" ? .numeric : .categorical })
        let lines = text.split(separator: "\n").map(String.init)
        var broken = lines
        broken.insert("oops,basic,yes", at: 150_000)  // in a later chunk of a file over 4 MB
        let (table, skipped) = try read(broken.joined(separator: "\n") + "\n")
        #expect(skipped.map(\.line) == [150_001])
        #expect(table == strict)
    }

    @Test("a quote never closed still fails the file: the rows after it cannot be told apart")
    func unclosedQuote() {
        #expect(throws: DataError.self) { try read("x,plan,y\n1,\"basic,yes\n2,pro,no\n") }
    }
}
