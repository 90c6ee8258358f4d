import Foundation

/// Where updater keeps its state: the registry database, stored batches and model artifacts.
///
/// ```
/// STATE/registry.sqlite            the SQLite registry (WAL)
/// STATE/batches/JOB/SHA256.csv     a copy of every registered batch, by content
/// STATE/lock                       held by the `updater run` using this directory
/// STATE/models/JOB/vN.model        every model version's artifact
/// STATE/runs/JOB/RUN/run.log        each run's log
/// ```
package struct StateDirectory: Sendable {
    package let path: String

    /// `path` is made absolute and its symbolic links resolved, so the same directory reached two
    /// ways is one state directory.
    package init(path: String) {
        self.path = Files.canonical(path)
    }

    /// `--state-dir`, else `$UPDATER_STATE_DIR`, else systemd's `$STATE_DIRECTORY`, else `./.updater`.
    package static func resolve(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
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

    package var databasePath: String { path + "/registry.sqlite" }

    /// The marker file that holds the state directory's identity (the registry holds it too).
    package var markerPath: String { path + "/updater-state.json" }

    package func batchPath(job: String, sha256: String) -> String { "\(path)/batches/\(job)/\(sha256).csv" }

    /// A label file's copy (data.labels), by content.
    package func labelFilePath(job: String, sha256: String) -> String { "\(path)/labels/\(job)/\(sha256).csv" }

    package func artifactPath(job: String, version: Int) -> String { "\(path)/models/\(job)/v\(version).model" }

    /// The artifact directory of a version made by an external trainer.
    package func artifactDirectory(job: String, version: Int) -> String { "\(path)/models/\(job)/v\(version)" }

    /// A run's own directory: its log file, and an external trainer's spec, data and outputs.
    package func runDirectory(job: String, run: Int64) -> String { "\(path)/runs/\(job)/\(run)" }
}
