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
        let jobFiles = try files(in: directory)
        let jobFilePaths = Set(jobFiles.map(Files.canonical))
        // Each job's canonical deploy path, computed once (resolving a path is system calls, and the
        // incoming check below compares every job with every other).
        var loaded: [(job: JobConfig, deploy: String)] = []
        for file in jobFiles {
            do {
                let job = try JobFileDecoder.load(file)
                // Jobs run side by side: two publishing to one path (however reached) would overwrite
                // each other; a deploy path on a job file would overwrite that job file.
                let deploy = Files.canonical(job.deploy.path)
                if let other = deployPaths[deploy] {
                    throw JobFileError([JobFileProblem(
                        file: file, keyPath: "deploy.path",
                        message: "\(job.deploy.path) is already the deploy path of job \(other); each job needs its own")])
                }
                if jobFilePaths.contains(deploy) {
                    throw JobFileError([JobFileProblem(
                        file: file, keyPath: "deploy.path", message: "\(job.deploy.path) is a job file: a model published there would overwrite it")])
                }
                deployPaths[deploy] = job.name
                loaded.append((job, deploy))
            } catch let error as JobFileError {
                set.invalid.append(error)
            }
        }
        // Nor may one job publish into another's incoming directory. Each incoming directory is
        // resolved once, not once per pair of jobs (40,000 times for 200 jobs, at every reload).
        let incoming = loaded.map { (name: $0.job.name, directory: Files.canonical($0.job.data.incoming) + "/") }
        for (job, deploy) in loaded {
            if let other = incoming.first(where: { $0.name != job.name && deploy.hasPrefix($0.directory) }) {
                set.invalid.append(JobFileError([JobFileProblem(
                    file: job.file, keyPath: "deploy.path",
                    message: "\(job.deploy.path) is inside the incoming directory of job \(other.name): the model would be read as its batch")]))
            } else {
                set.jobs.append(job)
            }
        }
        return set
    }
}
