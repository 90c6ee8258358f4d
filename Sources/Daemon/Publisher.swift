import Foundation
import Registry

/// Puts model artifacts where they are served: verified by checksum, written all-or-nothing.
public enum Publisher {
    /// Reads the artifact at `artifactPath`, checks its SHA-256 against `sha256`, and returns its bytes.
    public static func verifiedArtifact(_ artifactPath: String, sha256: String, version: Int) throws -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try Files.read(artifactPath)
        } catch {
            throw FileError(artifactPath, "artifact of v\(version) is missing or unreadable")
        }
        let actual = Files.sha256(bytes)
        guard actual == sha256 else {
            throw FileError(
                artifactPath,
                "artifact of v\(version) is corrupted: SHA-256 \(actual.prefix(12))… does not match the recorded \(sha256.prefix(12))…")
        }
        return bytes
    }

    /// Publishes a verified artifact to `deployPath` atomically.
    public static func publish(_ version: VersionRecord, to deployPath: String) throws {
        let bytes = try verifiedArtifact(version.artifactPath, sha256: version.artifactSHA256, version: version.version)
        try Files.writeAtomically(bytes, to: deployPath)
    }
}
