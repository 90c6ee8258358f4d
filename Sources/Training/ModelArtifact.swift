import Foundation

/// The model file format: versioned, documented in docs/artifact.md, readable from any language.
///
/// ```
/// bytes 0–7    "UPDMODEL"
/// bytes 8–11   format version, UInt32 little-endian (1)
/// bytes 12–15  header length H, UInt32 little-endian
/// bytes 16…    header: UTF-8 JSON (keys sorted), H bytes, then zero padding to a multiple of 8
/// then         the arrays listed in header.arrays, in order, as little-endian float64
/// ```
/// The same model always encodes to the same bytes, so its SHA-256 identifies it.
public enum ModelArtifact {
    public static let magic: [UInt8] = Array("UPDMODEL".utf8)
    public static let formatVersion: UInt32 = 1

    struct Header: Codable {
        struct ArrayInfo: Codable {
            var name: String
            var count: Int
        }
        var model: String
        var task: String
        var label: LabelEncoding
        var preprocessing: Preprocessor
        var inputs: [String]
        var arrays: [ArrayInfo]
        var metadata: [String: String]
    }

    /// Encodes `model`; `metadata` (job, version, training details) is stored in the header.
    public static func encode(_ model: LogisticModel, metadata: [String: String] = [:]) throws -> [UInt8] {
        let header = Header(
            model: "logistic_regression", task: "binary", label: model.labels, preprocessing: model.preprocessor,
            inputs: model.preprocessor.inputNames,
            arrays: [.init(name: "coefficients", count: model.coefficients.count), .init(name: "intercept", count: 1)],
            metadata: metadata)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = Array(try encoder.encode(header))
        var out = magic
        appendLE(formatVersion, to: &out)
        appendLE(UInt32(json.count), to: &out)
        out += json
        while out.count % 8 != 0 { out.append(0) }
        for v in model.coefficients + [model.intercept] { appendLE(v.bitPattern, to: &out) }
        return out
    }

    /// Decodes an artifact; throws ``TrainingError`` naming what is wrong with it.
    public static func decode(_ bytes: [UInt8]) throws -> LogisticModel {
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else { throw TrainingError("not an updater model file") }
        let version = readLE(UInt32.self, bytes, 8)
        guard version == formatVersion else {
            throw TrainingError("model file format \(version) is not supported (this updater reads format \(formatVersion))")
        }
        let length = Int(readLE(UInt32.self, bytes, 12))
        guard 16 + length <= bytes.count else { throw TrainingError("model file is truncated (header)") }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[16..<(16 + length)]))
        } catch {
            throw TrainingError("model file header is malformed: \(error)")
        }
        guard header.model == "logistic_regression" else { throw TrainingError("unknown model kind \"\(header.model)\"") }
        var offset = (16 + length + 7) / 8 * 8
        var arrays: [String: [Double]] = [:]
        for info in header.arrays {
            guard info.count >= 0, offset + 8 * info.count <= bytes.count else {
                throw TrainingError("model file is truncated (array \(info.name))")
            }
            arrays[info.name] = (0..<info.count).map { Double(bitPattern: readLE(UInt64.self, bytes, offset + 8 * $0)) }
            offset += 8 * info.count
        }
        guard offset == bytes.count else { throw TrainingError("model file has \(bytes.count - offset) trailing bytes") }
        guard let coefficients = arrays["coefficients"], let intercept = arrays["intercept"]?.first,
            coefficients.count == header.preprocessing.width
        else { throw TrainingError("model file's arrays do not match its preprocessing") }
        return LogisticModel(
            preprocessor: header.preprocessing, labels: header.label, coefficients: coefficients, intercept: intercept)
    }

    /// The metadata stored in an artifact's header.
    public static func metadata(_ bytes: [UInt8]) throws -> [String: String] {
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else { throw TrainingError("not an updater model file") }
        let length = Int(readLE(UInt32.self, bytes, 12))
        guard 16 + length <= bytes.count else { throw TrainingError("model file is truncated (header)") }
        return try JSONDecoder().decode(Header.self, from: Data(bytes[16..<(16 + length)])).metadata
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
