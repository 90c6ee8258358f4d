import Crypto
import Foundation

/// Standard Webhooks v1 signatures: HMAC-SHA256 over `{id}.{timestamp}.{body}` with the secret's
/// bytes (the base64 after `whsec_`), sent as `v1,<base64>`; several secrets (during a rotation)
/// give several signatures, space-separated.
package enum StandardWebhooks {
    /// A secret's key bytes; throws for a secret that is not `whsec_` + base64 of at least 24 bytes.
    /// The message never contains the secret.
    package static func key(_ secret: String) throws -> SymmetricKey {
        let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("whsec_"), let bytes = Data(base64Encoded: String(trimmed.dropFirst(6))) else {
            throw SigningError("a webhook secret must be \"whsec_\" followed by base64")
        }
        guard bytes.count >= 24 else { throw SigningError("a webhook secret must hold at least 24 bytes (it holds \(bytes.count))") }
        return SymmetricKey(data: bytes)
    }

    /// `v1,<base64>` for each key, space-separated (the `webhook-signature` header).
    package static func signature(id: String, timestamp: Int, body: [UInt8], keys: [SymmetricKey]) -> String {
        var content = Array("\(id).\(timestamp).".utf8)
        content += body
        return keys.map { key in
            "v1," + Data(HMAC<SHA256>.authenticationCode(for: content, using: key)).base64EncodedString()
        }.joined(separator: " ")
    }
}

package struct SigningError: Error, CustomStringConvertible, Equatable {
    package var description: String
    init(_ d: String) { description = d }
}
