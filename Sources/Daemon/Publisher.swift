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

    /// Checks a directory artifact (an external trainer's model) against its recorded digest.
    public static func verifyDirectory(_ path: String, digest: String, version: Int) throws {
        guard Files.isDirectory(path) else { throw FileError(path, "artifact of v\(version) is missing") }
        let actual = try Files.directoryDigest(path)
        guard actual == digest else {
            throw FileError(
                path, "artifact of v\(version) is corrupted: digest \(actual.prefix(12))… does not match the recorded \(digest.prefix(12))…")
        }
    }

    /// Publishes a verified artifact to `deployPath` atomically. A file artifact replaces the file
    /// (temporary file, fsync, rename). A directory artifact is copied beside the deploy path
    /// (`.NAME.versions/vN-DIGEST`) and `deployPath` becomes a symbolic link to it, swapped by one
    /// rename, so readers see the old directory or the new one, never a mix.
    public static func publish(_ version: VersionRecord, to deployPath: String) throws {
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
            guard rename(link, deployPath) == 0 else {
                let e = errnoText()
                unlink(link)
                throw FileError(deployPath, "cannot replace with a link to v\(version.version): \(e) (a directory that is not a link cannot be replaced)")
            }
            Files.syncDirectory(dir)
            return
        }
        let bytes = try verifiedArtifact(version.artifactPath, sha256: version.artifactSHA256, version: version.version)
        try Files.writeAtomically(bytes, to: deployPath)
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
