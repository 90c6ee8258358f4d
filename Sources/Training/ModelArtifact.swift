import Crypto
import Foundation

/// The model file format: versioned, documented in docs/artifact.md, readable from any language.
///
/// ```
/// bytes 0–7    "UPDMODEL"
/// bytes 8–11   format version, UInt32 little-endian (3; 2 and 1 are still read)
/// bytes 12–15  header length H, UInt32 little-endian
/// bytes 16…    header: UTF-8 JSON (keys sorted), H bytes, then zero padding to a multiple of 8
/// then         the arrays listed in header.arrays, in order, as little-endian float64
/// last 32      SHA-256 of every byte before it (format 3), checked by every reader
/// ```
/// The same model always encodes to the same bytes, so its SHA-256 identifies it.
package enum ModelArtifact {
    package static let magic: [UInt8] = Array("UPDMODEL".utf8)
    /// Version 3 is version 2 (any built-in model, as its layers) with a SHA-256 of the file's
    /// content at its end, so a damaged file is refused rather than scored; versions 2 and 1 (binary
    /// logistic regression only) are still read.
    package static let formatVersion: UInt32 = 3

    struct ArrayInfo: Codable {
        var name: String
        var count: Int
    }

    struct LayerShape: Codable {
        var inputs: Int
        var outputs: Int
    }

    struct Header: Codable {
        var model: String
        var task: String
        var target: Target
        var preprocessing: Preprocessor
        var inputs: [String]
        var layers: [LayerShape]
        var arrays: [ArrayInfo]
        var metadata: [String: String]
    }

    /// Format 1's header: a binary logistic regression.
    struct HeaderV1: Codable {
        var model: String
        var task: String
        var label: LabelEncoding
        var preprocessing: Preprocessor
        var inputs: [String]
        var arrays: [ArrayInfo]
        var metadata: [String: String]
    }

    /// Encodes `model`; `metadata` (job, version, training details) is stored in the header.
    package static func encode(_ model: Model, metadata: [String: String] = [:]) throws -> [UInt8] {
        var arrays: [ArrayInfo] = []
        var values: [Double] = []
        for (i, layer) in model.layers.enumerated() {
            arrays.append(ArrayInfo(name: "layer\(i).weights", count: layer.weights.count))
            arrays.append(ArrayInfo(name: "layer\(i).bias", count: layer.bias.count))
            values += layer.weights + layer.bias
        }
        let header = Header(
            model: model.kind.rawValue, task: model.target.task.rawValue, target: model.target,
            preprocessing: model.preprocessor, inputs: model.preprocessor.inputNames,
            layers: model.layers.map { LayerShape(inputs: $0.inputs, outputs: $0.outputs) }, arrays: arrays,
            metadata: metadata)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = Array(try encoder.encode(header))
        var out = magic
        appendLE(formatVersion, to: &out)
        appendLE(UInt32(json.count), to: &out)
        out += json
        while out.count % 8 != 0 { out.append(0) }
        out.reserveCapacity(out.count + 8 * values.count + 32)
        for v in values { appendLE(v.bitPattern, to: &out) }
        out += Array(SHA256.hash(data: out))
        return out
    }

    /// Decodes an artifact (format 3, 2 or 1); throws ``TrainingError`` naming what is wrong with it.
    package static func decode(_ file: [UInt8]) throws -> Model {
        let bytes = try verified(file)
        let (version, json, dataStart) = try container(bytes)
        if version == 1 {
            let header: HeaderV1 = try decodeHeader(json)
            guard header.model == "logistic_regression" else { throw TrainingError("unknown model kind \"\(header.model)\"") }
            let arrays = try readArrays(bytes, header.arrays, from: dataStart)
            guard let coefficients = arrays["coefficients"], let intercept = arrays["intercept"]?.first,
                coefficients.count == header.preprocessing.width
            else { throw TrainingError("model file's arrays do not match its preprocessing") }
            return Model(LogisticModel(
                preprocessor: header.preprocessing, labels: header.label, coefficients: coefficients, intercept: intercept))
        }
        let header: Header = try decodeHeader(json)
        guard let kind = ModelKind(rawValue: header.model) else { throw TrainingError("unknown model kind \"\(header.model)\"") }
        let arrays = try readArrays(bytes, header.arrays, from: dataStart)
        var layers: [DenseLayer] = []
        var width = header.preprocessing.width
        for (i, shape) in header.layers.enumerated() {
            guard shape.inputs == width, shape.outputs > 0, let w = arrays["layer\(i).weights"], let b = arrays["layer\(i).bias"],
                w.count == shape.inputs * shape.outputs, b.count == shape.outputs
            else { throw TrainingError("model file's layer \(i) does not match its shape") }
            layers.append(DenseLayer(inputs: shape.inputs, outputs: shape.outputs, weights: w, bias: b))
            width = shape.outputs
        }
        guard !layers.isEmpty else { throw TrainingError("model file has no layers") }
        return Model(kind: kind, preprocessor: header.preprocessing, target: header.target, layers: layers)
    }

    /// The metadata stored in an artifact's header.
    package static func metadata(_ file: [UInt8]) throws -> [String: String] {
        let (version, json, _) = try container(try verified(file))
        return version == 1 ? (try decodeHeader(json) as HeaderV1).metadata : (try decodeHeader(json) as Header).metadata
    }

    /// A format-3 file's content without its checksum, once the checksum matches; a format 1 or 2
    /// file as it is.
    static func verified(_ bytes: [UInt8]) throws -> [UInt8] {
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else { throw TrainingError("not an updater model file") }
        guard readLE(UInt32.self, bytes, 8) == 3 else { return bytes }
        guard bytes.count >= 16 + 32 else { throw TrainingError("model file is truncated (checksum)") }
        let content = Array(bytes[0..<(bytes.count - 32)])
        guard Array(SHA256.hash(data: content)) == Array(bytes[(bytes.count - 32)...]) else {
            throw TrainingError("model file is damaged: its content does not match the SHA-256 it carries")
        }
        return content
    }

    /// The format version, the header's bytes and where the arrays start.
    static func container(_ bytes: [UInt8]) throws -> (UInt32, ArraySlice<UInt8>, Int) {
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else { throw TrainingError("not an updater model file") }
        let version = readLE(UInt32.self, bytes, 8)
        guard (1...3).contains(version) else {
            throw TrainingError("model file format \(version) is not supported (this updater reads formats 1 to 3)")
        }
        let length = Int(readLE(UInt32.self, bytes, 12))
        guard 16 + length <= bytes.count else { throw TrainingError("model file is truncated (header)") }
        return (version, bytes[16..<(16 + length)], (16 + length + 7) / 8 * 8)
    }

    static func decodeHeader<T: Decodable>(_ json: ArraySlice<UInt8>) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(json))
        } catch {
            throw TrainingError("model file header is malformed: \(error)")
        }
    }

    static func readArrays(_ bytes: [UInt8], _ infos: [ArrayInfo], from start: Int) throws -> [String: [Double]] {
        var offset = start
        var arrays: [String: [Double]] = [:]
        for info in infos {
            guard info.count >= 0, info.count <= (bytes.count - offset) / 8 else {
                throw TrainingError("model file is truncated (array \(info.name))")
            }
            arrays[info.name] = (0..<info.count).map { Double(bitPattern: readLE(UInt64.self, bytes, offset + 8 * $0)) }
            offset += 8 * info.count
        }
        guard offset == bytes.count else { throw TrainingError("model file has \(bytes.count - offset) trailing bytes") }
        return arrays
    }
}

private func appendLE<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
    var le = v.littleEndian
    withUnsafeBytes(of: &le) { out += $0 }
}

private func readLE<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], _ offset: Int) -> T {
    var v: T = 0
    for k in 0..<MemoryLayout<T>.size { v |= T(bytes[offset + k]) << (8 * k) }
    return v
}
