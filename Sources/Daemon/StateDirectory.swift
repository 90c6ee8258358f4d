import Foundation
import Registry

/// Where updater keeps its state: the registry database, stored batches and model artifacts.
///
/// ```
/// STATE/registry.sqlite            the SQLite registry (WAL)
/// STATE/batches/JOB/SHA256.csv     a copy of every registered batch, by content
/// STATE/lock                       held by the `updater run` using this directory
/// STATE/models/JOB/vN.model        every model version's artifact
/// STATE/runs/JOB/RUN/run.log        each run's log
/// ```
public struct StateDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = Files.absolute(path)
    }

    /// `--state-dir`, else `$UPDATER_STATE_DIR`, else systemd's `$STATE_DIRECTORY`, else `./.updater`.
    public static func resolve(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> StateDirectory
    {
        if let option, !option.isEmpty { return StateDirectory(path: option) }
        if let p = environment["UPDATER_STATE_DIR"], !p.isEmpty { return StateDirectory(path: p) }
        // systemd may pass several directories separated by colons; the first is ours.
        if let p = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !p.isEmpty {
            return StateDirectory(path: String(p))
        }
        return StateDirectory(path: ".updater")
    }

    public var databasePath: String { path + "/registry.sqlite" }

    public func batchPath(job: String, sha256: String) -> String { "\(path)/batches/\(job)/\(sha256).csv" }

    public func artifactPath(job: String, version: Int) -> String { "\(path)/models/\(job)/v\(version).model" }

    /// The artifact directory of a version made by an external trainer.
    public func artifactDirectory(job: String, version: Int) -> String { "\(path)/models/\(job)/v\(version)" }

    /// A run's own directory: its log file, and an external trainer's spec, data and outputs.
    public func runDirectory(job: String, run: Int64) -> String { "\(path)/runs/\(job)/\(run)" }

    /// Creates the directory if needed and opens the registry.
    public func openRegistry() throws -> Registry {
        try Files.makeDirectories(path)
        return try Registry(path: databasePath)
    }

    /// Opens the registry only if it exists (for read-only commands).
    public func openExistingRegistry() throws -> Registry {
        guard Files.exists(databasePath) else {
            throw RegistryError("no state database at \(databasePath) (run `updater run` first, or pass --state-dir)")
        }
        return try Registry(path: databasePath)
    }

    /// After a crash: removes what a killed updater left half-written in the state directory
    /// (temporary files, and artifacts no model version records: the candidate was being written
    /// when it died, and its record, written after the artifact, never was). Returns what it removed.
    public func removeLeftovers(registry: Registry) throws -> [String] {
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
