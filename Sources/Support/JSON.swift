import Foundation

/// JSON for the registry: sorted keys, and infinities and NaN (an overflowing sum, say) written as
/// strings rather than failing.
package func json<T: Encodable>(_ value: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try e.encode(value), as: UTF8.self)
}

package func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    let d = JSONDecoder()
    d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try d.decode(type, from: Data(text.utf8))
}
