import Foundation

/// Paths inside the state directory (artifacts, stored batches, run logs) are stored relative to
/// it (`models/churn/v3.model`), so a state directory moved, renamed or reached through a
/// symbolic link keeps its registry valid. Records read from the registry carry them resolved
/// against the directory the registry is in; records written are stored relative again.
extension Registry {
    /// A path as the registry stores it: relative when it lies inside the state directory.
    func stored(_ path: String) -> String {
        guard let root, path.hasPrefix(root + "/") else { return path }
        return String(path.dropFirst(root.count + 1))
    }

    /// A stored path as the process uses it: absolute.
    func resolved(_ path: String) -> String {
        guard let root, !path.hasPrefix("/") else { return path }
        return root + "/" + path
    }

    func resolved(_ v: VersionRecord) -> VersionRecord {
        var v = v
        v.artifactPath = resolved(v.artifactPath)
        return v
    }

    func resolved(_ b: BatchRecord) -> BatchRecord {
        var b = b
        b.storedPath = resolved(b.storedPath)
        return b
    }

    func resolved(_ r: RunRecord) -> RunRecord {
        var r = r
        r.logPath = r.logPath.map(resolved)
        return r
    }

    func stored(_ v: VersionRecord) -> VersionRecord {
        var v = v
        v.artifactPath = stored(v.artifactPath)
        return v
    }

    func stored(_ b: BatchRecord) -> BatchRecord {
        var b = b
        b.storedPath = stored(b.storedPath)
        return b
    }
}

extension Registry {
    /// The identity of the state directory this registry belongs to (a UUID made with it).
    package func stateID() throws -> String {
        try db.read { db in try String.fetchOne(db, sql: "SELECT id FROM state_identity LIMIT 1") } ?? ""
    }
}
