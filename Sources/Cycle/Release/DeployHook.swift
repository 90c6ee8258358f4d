import Foundation
import JobFiles
import Logging
import Registry
import Support
import Trainers

/// Runs a job's `[deploy] command` when a change of its published model is owed one (a promotion,
/// a rollback, a forced promotion, a repair; queued with the change by the registry). The command
/// runs in its own process group, from the job file's directory, with a time limit
/// (`command_timeout`) and a clean environment that says what changed; its output goes to the
/// run's log (or `STATE/runs/JOB/deploy-ID.log` for a change made outside a run). A failure is
/// recorded, announced as `deploy.hook_failed`, shown by `updater status`, and retried at the job's
/// next cycle; it never undoes the change, which the registry has already recorded.
package struct DeployHooks: Sendable {
    package let registry: Registry
    package var clock: WallClock = .system
    package var log: Logger

    package init(registry: Registry, clock: WallClock = .system, log: Logger) {
        (self.registry, self.clock, self.log) = (registry, clock, log)
    }

    /// How the owed hook ended, when one was run.
    package struct Ran: Sendable {
        package var hook: DeployHookRecord
        package var succeeded: Bool
        /// Why it failed: how the command ended.
        package var error: String?
        package var logPath: String
    }

    /// Runs the job's owed hook, if there is one and the job has a command.
    package func runOwed(_ job: JobConfig) throws -> Ran? {
        guard let command = job.deploy.command else { return nil }
        let grace = 5.0
        guard let hook = try registry.claimDeployHook(job: job.name, now: clock.now(), staleAfter: job.deploy.commandTimeout + grace + 60),
            let id = hook.id
        else { return nil }
        let published = JSONValue(parsing: hook.published) ?? .object([:])
        let run = try hook.runID.flatMap { try registry.run($0) }
        let logPath = run?.logPath ?? registry.root.map { "\($0)/runs/\(job.name)/deploy-\(id).log" } ?? "/dev/null"
        try Files.makeDirectories(Files.directory(of: logPath))
        let fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(logPath, "cannot open the deploy command's log: \(errnoText())") }
        defer { close(fd) }
        let header = "deploy command for v\(hook.version) (\(hook.event), attempt \(hook.attempts)): \(command.joined(separator: " "))\n"
        _ = header.withCString { write(fd, $0, strlen($0)) }

        var environment: [String: String] = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/",
            "LANG": "C.UTF-8",
            "UPDATER_JOB": job.name, "UPDATER_VERSION": String(hook.version), "UPDATER_EVENT": hook.event,
            "UPDATER_DEPLOY_PATH": published["deploy_path"]?.string ?? job.deploy.path,
            "UPDATER_FORMAT": published["format"]?.string ?? "updater",
            "UPDATER_SHA256": published["sha256"]?.string ?? "",
            "UPDATER_METADATA_PATH": (published["deploy_path"]?.string ?? job.deploy.path) + ".json",
            "UPDATER_FILES": (published["files"] ?? .array([])).text,
        ]
        if let run { environment["UPDATER_RUN"] = String(run.number) }
        let child = ChildProcess(
            command: command, environment: environment, workingDirectory: Files.directory(of: job.file), timeLimit: job.deploy.commandTimeout,
            graceSeconds: grace, log: log)
        var failure: String?
        do {
            let ended = try child.run(logFD: fd)
            if !ended.succeeded { failure = ended.summary(limit: job.deploy.commandTimeout, grace: grace) }
        } catch {
            failure = "\(error)"
        }
        let error = failure
        let succeeded = error == nil
        let event = succeeded ? nil : WebhookEventRecord(
            type: "deploy.hook_failed", job: job.name,
            data: [
                "job": .string(job.name), "version": .int(hook.version), "event": .string(hook.event), "attempts": .int(hook.attempts),
                "error": .string(error ?? ""), "deploy_path": published["deploy_path"] ?? .null,
            ], at: clock.now())
        try registry.finishDeployHook(hook, succeeded: succeeded, error: error, logPath: logPath, event: event, now: clock.now())
        if succeeded {
            log.info("deploy command for v\(hook.version) succeeded (log \(logPath))")
        } else {
            log.error("deploy command for v\(hook.version) failed: \(error ?? "") (log \(logPath)); it is tried again at the next cycle")
        }
        return Ran(hook: hook, succeeded: succeeded, error: error, logPath: logPath)
    }
}
