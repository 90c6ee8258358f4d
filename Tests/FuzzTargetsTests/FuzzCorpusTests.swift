import Foundation
import Testing

@testable import FuzzTargets

/// Every input the fuzzers kept (`Fuzz/corpus/TARGET/`, seeds and what `make fuzz` found, crashes
/// included once fixed) goes through its reader again: a crash fails the test run.
@Suite("The fuzzing corpus")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")

    @Test("every corpus input is read without a crash", arguments: ["csv", "jobfile", "webhooks", "artifact"])
    func replay(target: String) throws {
        let dir = Self.corpus.appendingPathComponent(target)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files.count >= 3, "the \(target) corpus holds its seeds")
        let read = try #require(FuzzTargets.all[target])
        for name in files { read(Array(try Data(contentsOf: dir.appendingPathComponent(name)))) }
    }
}
