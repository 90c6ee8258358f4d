import Foundation

/// An array of doubles that encodes compactly in JSON: base64 of little-endian float64 values,
/// so a 10,000-value reference sample costs about 107 kB instead of about 200 kB of decimals.
package struct PackedDoubles: Sendable, Equatable, Codable {
    package var values: [Double]

    package init(_ values: [Double]) { self.values = values }

    package init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let data = Data(base64Encoded: text), data.count % 8 == 0 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not base64 float64 values"))
        }
        values = data.withUnsafeBytes { raw in
            (0..<data.count / 8).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
        }
    }

    package func encode(to encoder: Encoder) throws {
        var data = Data(capacity: values.count * 8)
        for v in values {
            var le = v.bitPattern.littleEndian
            withUnsafeBytes(of: &le) { data.append(contentsOf: $0) }
        }
        var c = encoder.singleValueContainer()
        try c.encode(data.base64EncodedString())
    }
}
