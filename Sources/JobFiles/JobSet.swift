import Foundation
import Support
import Webhooks
import JobFiles

/// The job files of a jobs directory: the valid ones and the problems of the others.
package struct JobSet: Sendable {
    package var jobs: [JobConfig]
    package var invalid: [JobFileError]

    /// `--jobs DIR`, else `/etc/updater/jobs` under systemd (`$INVOCATION_ID` set), else `./Jobs`.
    package static func defaultDirectory(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> String
    {
        if let option, !option.isEmpty { return option }
        return environment["INVOCATION_ID"] != nil ? "/etc/updater/jobs" : "Jobs"
    }

    /// The job a job file defines: its file name without `.toml`.
    package static func jobName(file: String) -> String {
        let base = file.split(separator: "/").last.map(String.init) ?? file
        return base.hasSuffix(".toml") ? String(base.dropLast(5)) : base
    }

    /// The `*.toml` files directly in `directory`, sorted by name (hidden files are skipped).
    package static func files(in directory: String) throws -> [String] {
        guard Files.isDirectory(directory) else { throw FileError(directory, "jobs directory does not exist") }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        return names.filter { $0.hasSuffix(".toml") && !$0.hasPrefix(".") }.sorted().map {
            directory.hasSuffix("/") ? directory + $0 : directory + "/" + $0
        }
    }

    /// Loads every job file in `directory`; a bad file does not stop the others.
    package static func load(directory: String) throws -> JobSet {
        var set = JobSet(jobs: [], invalid: [])
        var deployPaths: [String: String] = [:]
        for file in try files(in: directory) {
            do {
                let job = try JobFileDecoder.load(file)
                // Jobs run side by side: two publishing to one path would overwrite each other.
                if let other = deployPaths[job.deploy.path] {
                    throw JobFileError([JobFileProblem(
                        file: file, keyPath: "deploy.path",
                        message: "\(job.deploy.path) is already the deploy path of job \(other); each job needs its own")])
                }
                deployPaths[job.deploy.path] = job.name
                set.jobs.append(job)
            } catch let error as JobFileError {
                set.invalid.append(error)
            }
        }
        return set
    }
}
