import Foundation
import Registry
import Support

/// Who a deploy path belongs to: beside every file (or link) updater publishes it writes a small
/// JSON sidecar, `.NAME.updater.json`, naming the state directory (its identity), the job and the
/// version. updater publishes over a deploy path only when it is its own: owned by this state
/// directory and this job, or absent, or (no sidecar, from before sidecars existed) holding one of
/// the job's own versions. Anything else is refused until a person adopts it (`updater adopt`):
/// so two state directories, or a renamed job, never overwrite each other's production model.
package struct DeployOwner: Codable, Sendable, Equatable {
    package var stateID: String
    package var job: String
    package var version: Int
    package var sha256: String

    enum CodingKeys: String, CodingKey {
        case stateID = "state_id", job, version, sha256
    }

    package static func sidecarPath(of deployPath: String) -> String {
        Files.directory(of: deployPath) + "/." + Files.baseName(deployPath) + ".updater.json"
    }

    /// The sidecar's owner, nil when there is none (or it cannot be read).
    package static func read(_ deployPath: String) -> DeployOwner? {
        guard let bytes = try? Files.read(sidecarPath(of: deployPath)) else { return nil }
        return try? JSONDecoder().decode(DeployOwner.self, from: Data(bytes))
    }

    /// The sidecar's bytes.
    var encoded: [UInt8] { Array(((try? json(self)) ?? "{}").utf8) }

    package struct RefusedError: Error, CustomStringConvertible, Sendable {
        package var description: String
    }

    /// Checks that `deployPath` may receive a version of `job` from the state directory of
    /// `registry`: not a device or another kind of file, not inside the state directory, and not
    /// owned by another state directory or job.
    package static func check(_ deployPath: String, job: String, registry: Registry) throws {
        let path = Files.canonical(deployPath)
        if let root = registry.root.map(Files.canonical), path == root || path.hasPrefix(root + "/") {
            throw RefusedError(description: "\(deployPath) is inside the state directory \(root): a model published there would overwrite updater's own records; choose a deploy.path outside it")
        }
        var st = stat()
        if lstat(deployPath, &st) == 0 {
            let type = st.st_mode & S_IFMT
            guard type == S_IFREG || type == S_IFLNK else {
                throw RefusedError(description: "\(deployPath) is \(type == S_IFDIR ? "a directory" : type == S_IFCHR || type == S_IFBLK ? "a device" : "not a regular file"): updater only replaces a model file (or its link) there")
            }
        } else {
            return  // nothing there yet
        }
        let stateID = try registry.stateID()
        if let owner = read(deployPath) {
            guard owner.stateID == stateID, owner.job == job else {
                let whose = owner.stateID == stateID ? "job \(owner.job) of this state directory" : "job \(owner.job) of another state directory (id \(owner.stateID))"
                throw RefusedError(description: "\(deployPath) is published by \(whose); refusing to overwrite it. If job \(job) should own it now: updater adopt \(job)")
            }
            return
        }
        // No sidecar: a deploy file from before sidecars, or placed by someone else. Ours when it
        // holds one of the job's versions.
        let digest = Files.isDirectory(deployPath) ? (try? Files.directoryDigest(deployPath)) : (try? Files.sha256(of: deployPath))
        let versions = try registry.versions(of: job)
        guard let digest, versions.contains(where: { $0.artifactSHA256 == digest })
            || versions.contains(where: { Publisher.isServing($0, at: deployPath) })
        else {
            throw RefusedError(description: "\(deployPath) exists and was not published by updater for job \(job); refusing to overwrite it. Move it away, or let job \(job) take it over: updater adopt \(job)")
        }
    }
}
