import Foundation
import Registry
import Support

extension StateDirectory {
    /// Creates the directory if needed and opens the registry, checking that the two belong
    /// together: a registry that is missing or empty beside a directory that holds updater's state
    /// (its marker, artifacts, stored batches) is refused, never started afresh, and so is a
    /// registry whose identity is not the directory's.
    package func openRegistry() throws -> Registry {
        try Files.makeDirectories(path)
        try refuseMissingRegistry()
        let registry = try Registry(path: databasePath)
        try checkIdentity(registry, recordIfMissing: true)
        return registry
    }

    /// Opens the registry only if it exists (for read-only commands).
    package func openExistingRegistry() throws -> Registry {
        guard Files.isDirectory(path) else {
            throw RegistryError("no state directory at \(path) (run `updater run` first, or pass --state-dir)")
        }
        guard Files.exists(databasePath) else {
            try refuseMissingRegistry()
            throw RegistryError("no state database at \(databasePath) (run `updater run` first, or pass --state-dir)")
        }
        try refuseMissingRegistry()
        let registry = try Registry(path: databasePath)
        try checkIdentity(registry, recordIfMissing: false)
        return registry
    }

    /// What the directory holds of updater's state besides the registry.
    func stateLeftWithoutRegistry() -> String? {
        let artifacts = Self.entries(path + "/models")
        let batches = Self.entries(path + "/batches")
        let marker = Files.exists(markerPath)
        guard marker || artifacts > 0 || batches > 0 else { return nil }
        return [marker ? "its identity marker" : nil, artifacts > 0 ? "\(artifacts) model artifact(s)" : nil,
                batches > 0 ? "\(batches) stored batch(es)" : nil].compactMap { $0 }.joined(separator: ", ")
    }

    func refuseMissingRegistry() throws {
        let size = Files.stamp(databasePath)?.size
        guard size == nil || size == 0, let held = stateLeftWithoutRegistry() else { return }
        throw RegistryError(
            "\(databasePath) is \(size == nil ? "missing" : "empty"), but \(path) holds updater's state (\(held)): restore registry.sqlite from a backup, or move \(path) aside to start afresh; updater does not start a new registry over existing models")
    }

    /// Compares the registry's identity with the directory's marker, writing the marker when there
    /// is none yet (a new directory, or one made by an older updater).
    func checkIdentity(_ registry: Registry, recordIfMissing: Bool) throws {
        let id = try registry.stateID()
        if let text = try? Files.read(markerPath) {
            guard let marker = try? JSONDecoder().decode(Marker.self, from: Data(text)) else {
                throw RegistryError("\(markerPath) is not updater's state marker (JSON with an id); restore it or remove it")
            }
            guard marker.id == id else {
                throw RegistryError(
                    "\(databasePath) belongs to another state directory (its id is \(id), this directory's marker says \(marker.id)): put back this directory's registry.sqlite, or use --state-dir for the directory it belongs to")
            }
        } else if recordIfMissing {
            try Files.writeAtomically(Array(try json(Marker(id: id)).utf8), to: markerPath)
        }
    }

    struct Marker: Codable {
        var id: String
    }

    static func entries(_ directory: String) -> Int {
        let jobs = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return jobs.reduce(0) { $0 + ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + $1))?.count ?? 0) }
    }

    /// After a crash: removes what a killed updater left half-written in the state directory, and
    /// only that: temporary files whose writer is gone, and the artifact of a candidate killed
    /// between writing it and recording its version (a version number above every recorded one of
    /// its job, with no record). Anything else it does not know is left alone and reported.
    /// Returns what it removed and what it left.
    package func removeLeftovers(registry: Registry) throws -> (removed: [String], unknown: [String]) {
        var removed = Files.removeLeftovers(in: path + "/models", recursive: true)
        removed += Files.removeLeftovers(in: path + "/batches", recursive: true)
        var unknown: [String] = []
        let models = path + "/models"
        for job in (try? FileManager.default.contentsOfDirectory(atPath: models)) ?? [] {
            let versions = try registry.versions(of: job)
            let recorded = Set(versions.map { Files.canonical($0.artifactPath) })
            let newest = versions.map(\.version).max() ?? 0
            let dir = models + "/" + job
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix("v") {
                let artifact = dir + "/" + name
                guard !recorded.contains(artifact) else { continue }
                let number = Int(name.dropFirst().split(separator: ".").first ?? "")
                if let number, number > newest, (try? FileManager.default.removeItem(atPath: artifact)) != nil {
                    removed.append(artifact)
                } else {
                    unknown.append(artifact)
                }
            }
        }
        return (removed, unknown)
    }
}
