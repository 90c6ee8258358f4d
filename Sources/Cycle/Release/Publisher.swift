import Foundation
import Support
import Registry

/// Puts model artifacts where they are served: verified by checksum, written all-or-nothing.
package enum Publisher {
    /// Reads the artifact at `artifactPath`, checks its SHA-256 against `sha256`, and returns its bytes.
    package static func verifiedArtifact(_ artifactPath: String, sha256: String, version: Int) throws -> [UInt8] {
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

    /// Checks a directory artifact (an external trainer's model) against its recorded digest.
    package static func verifyDirectory(_ path: String, digest: String, version: Int) throws {
        guard Files.isDirectory(path) else { throw FileError(path, "artifact of v\(version) is missing") }
        let actual = try Files.directoryDigest(path)
        guard actual == digest else {
            throw FileError(
                path, "artifact of v\(version) is corrupted: digest \(actual.prefix(12))… does not match the recorded \(digest.prefix(12))…")
        }
    }

    /// A publication made ready beside the deploy path (the artifact verified and written, or
    /// copied), so that putting it in place is one rename: done inside the registry's write
    /// transaction that moves production, it holds the write lock for a rename, not for the copy
    /// of a large model.
    package struct Staged: Sendable {
        /// A temporary file, or a temporary symbolic link to the published directory copy.
        let temp: String
        let deployPath: String
        let version: Int

        /// Renames it over the deploy path (readers see the old model or the new one, never a mix).
        package func commit() throws {
            try Files.renameIntoPlace(temp, deployPath, what: "v\(version)")
        }

        /// Removes it if it was not committed.
        package func discard() { unlink(temp) }
    }

    /// Verifies the artifact and makes its publication ready. A file artifact is written to a
    /// temporary file beside the deploy path (fsynced). A directory artifact is copied beside the
    /// deploy path (`.NAME.versions/vN-DIGEST`) and a temporary symbolic link made to it.
    package static func stage(_ version: VersionRecord, to deployPath: String) throws -> Staged {
        if Files.isDirectory(version.artifactPath) {
            try verifyDirectory(version.artifactPath, digest: version.artifactSHA256, version: version.version)
            let dir = Files.directory(of: deployPath), name = Files.baseName(deployPath)
            let copy = "\(dir)/.\(name).versions/v\(version.version)-\(version.artifactSHA256.prefix(12))"
            // A copy left by an earlier publication is reused only if it is still intact.
            if Files.isDirectory(copy), (try? Files.directoryDigest(copy)) != version.artifactSHA256 {
                try FileManager.default.removeItem(atPath: copy)
            }
            if !Files.isDirectory(copy) {
                try Files.makeDirectories(Files.directory(of: copy))
                let partial = copy + ".partial-\(getpid())"
                try? FileManager.default.removeItem(atPath: partial)
                try Files.copyDirectory(version.artifactPath, to: partial)
                guard rename(partial, copy) == 0 else { throw FileError(copy, "cannot put in place: \(errnoText())") }
            }
            let link = "\(dir)/.\(name).link-\(getpid())"
            unlink(link)
            guard symlink(copy, link) == 0 else { throw FileError(link, "cannot create a symbolic link: \(errnoText())") }
            return Staged(temp: link, deployPath: deployPath, version: version.version)
        }
        let bytes = try verifiedArtifact(version.artifactPath, sha256: version.artifactSHA256, version: version.version)
        return Staged(temp: try Files.writeTemporary(bytes, beside: deployPath), deployPath: deployPath, version: version.version)
    }

    /// Whether `deployPath` already serves `version` (the same bytes, or a link to its published copy).
    static func isServing(_ version: VersionRecord, at deployPath: String) -> Bool {
        if Files.isDirectory(version.artifactPath) {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: deployPath) else { return false }
            return Files.baseName(target) == "v\(version.version)-\(version.artifactSHA256.prefix(12))"
                && (try? Files.directoryDigest(target)) == version.artifactSHA256
        }
        return (try? Files.sha256(of: deployPath)) == version.artifactSHA256
    }
}
