import Crypto
import Foundation
import Tabular
import Testing

@testable import Training

@Suite("The model artifact format")
struct ModelArtifactTests {
    func model() -> Model {
        Model(LogisticModel(
            preprocessor: Preprocessor(
                numeric: [.init(name: "x", mean: 1.5, scale: 2, missingIndicator: true)],
                categorical: [.init(name: "k", levels: ["a", "b"])]),
            labels: LabelEncoding(column: "y", negative: "no", positive: "yes"),
            coefficients: [0.25, -1, 2, 3, 0], intercept: -0.5))
    }

    @Test("an artifact decodes to the model it was made from")
    func roundTrip() throws {
        let bytes = try ModelArtifact.encode(model(), metadata: ["job": "j"])
        #expect(try ModelArtifact.decode(bytes) == model())
        #expect(try ModelArtifact.metadata(bytes)["job"] == "j")
    }

    @Test("the layout is magic, version, header length, JSON header, 8-byte aligned float64 arrays, the SHA-256 of all before")
    func layout() throws {
        let bytes = try ModelArtifact.encode(model())
        #expect(Array(bytes[0..<8]) == Array("UPDMODEL".utf8))
        #expect(bytes[8] == 3 && bytes[9] == 0 && bytes[10] == 0 && bytes[11] == 0)
        let h = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
        let start = (16 + h + 7) / 8 * 8
        #expect(bytes.count == start + 8 * 6 + 32)
        #expect(Array(bytes.suffix(32)) == Array(SHA256.hash(data: Array(bytes.dropLast(32)))))
        let first = bytes[start..<start + 8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        #expect(Double(bitPattern: first) == 0.25)
    }

    @Test("any single flipped bit of a file is refused, never scored")
    func flippedBits() throws {
        let bytes = try ModelArtifact.encode(model())
        for position in stride(from: 0, to: bytes.count * 8, by: 7) {
            var damaged = bytes
            damaged[position / 8] ^= UInt8(1 << (position % 8))
            #expect(throws: TrainingError.self, "bit \(position)") { try ModelArtifact.decode(damaged) }
        }
    }

    @Test("truncated, foreign and future-format files are refused with a reason")
    func badFiles() throws {
        let bytes = try ModelArtifact.encode(model())
        #expect(throws: TrainingError("model file is damaged: its content does not match the SHA-256 it carries")) {
            try ModelArtifact.decode(Array(bytes.dropLast(4)))
        }
        // A format-2 file (no checksum) that is cut short says where.
        var two = Array(bytes.dropLast(32))
        two[8] = 2
        #expect(throws: TrainingError("model file is truncated (array layer0.bias)")) { try ModelArtifact.decode(Array(two.dropLast(4))) }
        #expect(try ModelArtifact.decode(two) == model(), "format 2 is still read")
        #expect(throws: TrainingError("not an updater model file")) { try ModelArtifact.decode(Array("hello world, not a model".utf8)) }
        var future = bytes
        future[8] = 9
        #expect(throws: TrainingError("model file format 9 is not supported (this updater reads formats 1 to 3)")) {
            try ModelArtifact.decode(future)
        }
    }
}

@Suite("Model files of every kind")
struct GeneralModelArtifactTests {
    @Test("a format-1 file (binary logistic regression) still reads, as the same model")
    func readsFormatOne() throws {
        // Format 1: the header names "coefficients" and "intercept" arrays and a "label" encoding.
        let header = #"{"arrays":[{"count":2,"name":"coefficients"},{"count":1,"name":"intercept"}],"inputs":["x","z"],"label":{"column":"y","negative":"no","positive":"yes"},"metadata":{},"model":"logistic_regression","preprocessing":{"categorical":[],"numeric":[{"mean":0,"missing_indicator":false,"name":"x","scale":1},{"mean":1,"missing_indicator":false,"name":"z","scale":2}]},"task":"binary"}"#
        var bytes = Array("UPDMODEL".utf8) + [1, 0, 0, 0]
        let json = Array(header.utf8)
        bytes += withUnsafeBytes(of: UInt32(json.count).littleEndian) { Array($0) }
        bytes += json
        while bytes.count % 8 != 0 { bytes.append(0) }
        for v in [0.5, -0.25, 0.125] { bytes += withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        let model = try ModelArtifact.decode(bytes)
        #expect(model.kind == .logisticRegression)
        #expect(model.layers == [DenseLayer(inputs: 2, outputs: 1, weights: [0.5, -0.25], bias: [0.125])])
        #expect(model.binaryLabels == LabelEncoding(column: "y", negative: "no", positive: "yes"))
    }

    @Test("softmax, ridge and multi-layer models round-trip through the file")
    func roundTripAllKinds() throws {
        let pre = Preprocessor(numeric: [.init(name: "x", mean: 0, scale: 1, missingIndicator: false)], categorical: [])
        let models = [
            Model(kind: .softmaxRegression, preprocessor: pre, target: Target(column: "y", task: .multiclass, classes: ["a", "b", "c"]),
                  layers: [DenseLayer(inputs: 1, outputs: 3, weights: [1, 2, 3], bias: [0.1, 0.2, -0.3])]),
            Model(kind: .ridge, preprocessor: pre, target: Target(column: "y", task: .regression, classes: []),
                  layers: [DenseLayer(inputs: 1, outputs: 1, weights: [2], bias: [1])]),
            Model(kind: .mlp, preprocessor: pre, target: Target(column: "y", task: .regression, classes: []),
                  layers: [DenseLayer(inputs: 1, outputs: 2, weights: [1, -1], bias: [0, 0]),
                           DenseLayer(inputs: 2, outputs: 1, weights: [1, 1], bias: [0.5])]),
        ]
        for m in models {
            #expect(try ModelArtifact.decode(ModelArtifact.encode(m)) == m)
        }
        // The two-layer regression model is |x| + 0.5: ReLU(x) + ReLU(−x) + 0.5.
        let t = DataTable(names: ["x"], columns: [.numeric([-2, 3])])
        #expect(try models[2].predict(t) == .values([2.5, 3.5]))
    }
}
