import Foundation
import Registry
import Support

extension StateDirectory {
    /// Creates the directory if needed and opens the registry.
    package func openRegistry() throws -> Registry {
        try Files.makeDirectories(path)
        return try Registry(path: databasePath)
    }

    /// Opens the registry only if it exists (for read-only commands).
    package func openExistingRegistry() throws -> Registry {
        guard Files.exists(databasePath) else {
            throw RegistryError("no state database at \(databasePath) (run `updater run` first, or pass --state-dir)")
        }
        return try Registry(path: databasePath)
    }

    /// After a crash: removes what a killed updater left half-written in the state directory
    /// (temporary files, and artifacts no model version records: the candidate was being written
    /// when it died, and its record, written after the artifact, never was). Returns what it removed.
    package func removeLeftovers(registry: Registry) throws -> [String] {
        var removed = Files.removeLeftovers(in: path + "/models", recursive: true)
        removed += Files.removeLeftovers(in: path + "/batches", recursive: true)
        let recorded = Set(try registry.jobs().flatMap { try registry.versions(of: $0.name).map(\.artifactPath) })
        let models = path + "/models"
        for job in (try? FileManager.default.contentsOfDirectory(atPath: models)) ?? [] {
            let dir = models + "/" + job
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix("v") {
                let artifact = dir + "/" + name
                if !recorded.contains(artifact), (try? FileManager.default.removeItem(atPath: artifact)) != nil {
                    removed.append(artifact)
                }
            }
        }
        return removed
    }
}
