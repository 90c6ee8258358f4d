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

    /// A publication made ready beside its files (each artifact verified and written, or copied),
    /// so that putting it in place is a rename per file: done inside the registry's write
    /// transaction that moves production, it holds the write lock for renames, not for the copy
    /// of a large model.
    package struct Staged: Sendable {
        /// Temporary files (or temporary symbolic links to a published directory copy), each with
        /// the path it replaces: the models first, then their metadata.
        let renames: [(temp: String, path: String)]
        let version: Int

        /// Renames each over its path (readers see the old file or the new one, never a mix).
        package func commit() throws {
            for r in renames { try Files.renameIntoPlace(r.temp, r.path, what: "v\(version)") }
        }

        /// Removes what was not committed.
        package func discard() {
            for r in renames { unlink(r.temp) }
        }
    }

    /// Makes `publication` ready. A file is written to a temporary file beside its path (fsynced).
    /// A directory artifact is copied beside the deploy path (`.NAME.versions/vN-DIGEST`) and a
    /// temporary symbolic link made to it.
    package static func stage(_ publication: Publication) throws -> Staged {
        let version = publication.version
        var renames: [(temp: String, path: String)] = []
        var metadata: [(temp: String, path: String)] = []
        do {
            for file in publication.files {
                if let bytes = file.bytes {
                    renames.append((try Files.writeTemporary(bytes, beside: file.path), file.path))
                } else {
                    renames.append((try stageDirectory(version, to: file.path), file.path))
                }
                metadata.append((try Files.writeTemporary(file.metadata, beside: file.metadataPath), file.metadataPath))
            }
        } catch {
            for r in renames + metadata { unlink(r.temp) }
            throw error
        }
        return Staged(renames: renames + metadata, version: version.version)
    }

    /// A directory artifact's copy beside `deployPath` and a temporary link to it.
    static func stageDirectory(_ version: VersionRecord, to deployPath: String) throws -> String {
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
        return link
    }

    /// Whether `deployPath` holds `version`'s artifact itself (the same bytes, or a link to its
    /// published copy): how a deploy file from before ownership sidecars is recognised as the job's.
    static func isServing(_ version: VersionRecord, at deployPath: String) -> Bool {
        if Files.isDirectory(version.artifactPath) {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: deployPath) else { return false }
            return Files.baseName(target) == "v\(version.version)-\(version.artifactSHA256.prefix(12))"
                && (try? Files.directoryDigest(target)) == version.artifactSHA256
        }
        return (try? Files.sha256(of: deployPath)) == version.artifactSHA256
    }
}
