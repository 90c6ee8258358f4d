import Foundation
import Tabular
import Testing

@testable import Training

@Suite("The model artifact format")
struct ModelArtifactTests {
    func model() -> LogisticModel {
        LogisticModel(
            preprocessor: Preprocessor(
                numeric: [.init(name: "x", mean: 1.5, scale: 2, missingIndicator: true)],
                categorical: [.init(name: "k", levels: ["a", "b"])]),
            labels: LabelEncoding(column: "y", negative: "no", positive: "yes"),
            coefficients: [0.25, -1, 2, 3, 0], intercept: -0.5)
    }

    @Test("an artifact decodes to the model it was made from")
    func roundTrip() throws {
        let bytes = try ModelArtifact.encode(model(), metadata: ["job": "j"])
        #expect(try ModelArtifact.decode(bytes) == model())
        #expect(try ModelArtifact.metadata(bytes)["job"] == "j")
    }

    @Test("the layout is magic, version, header length, JSON header, 8-byte aligned float64 arrays")
    func layout() throws {
        let bytes = try ModelArtifact.encode(model())
        #expect(Array(bytes[0..<8]) == Array("UPDMODEL".utf8))
        #expect(bytes[8] == 1 && bytes[9] == 0 && bytes[10] == 0 && bytes[11] == 0)
        let h = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
        let start = (16 + h + 7) / 8 * 8
        #expect(bytes.count == start + 8 * 6)
        let first = bytes[start..<start + 8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        #expect(Double(bitPattern: first) == 0.25)
    }

    @Test("truncated, foreign and future-format files are refused with a reason")
    func badFiles() throws {
        let bytes = try ModelArtifact.encode(model())
        #expect(throws: TrainingError("model file is truncated (array coefficients)")) {
            try ModelArtifact.decode(Array(bytes.dropLast(20)))
        }
        #expect(throws: TrainingError("not an updater model file")) { try ModelArtifact.decode(Array("hello world, not a model".utf8)) }
        var future = bytes
        future[8] = 9
        #expect(throws: TrainingError("model file format 9 is not supported (this updater reads format 1)")) {
            try ModelArtifact.decode(future)
        }
    }
}
