import Cycle
import Foundation
import JobFiles
import Registry
import Logging
import Support

/// The artifact bytes of `model`: a file path, or a job's production (or `version`) artifact, verified.
func resolveArtifact(_ model: String, version: VersionNumber?, common: CommonOptions) throws -> [UInt8] {
    try resolveArtifactVersion(model, version: version, common: common).bytes
}

/// The same, with the version's number when `model` is a job.
func resolveArtifactVersion(_ model: String, version: VersionNumber?, common: CommonOptions) throws -> (bytes: [UInt8], version: Int?) {
    if model.contains("/") || model.hasSuffix(".updater") || model.hasSuffix(".model") {
        return (try Files.read(model), nil)
    }
    let name = try checkedJobName(model)
    let registry = try common.state.openExistingRegistry()
    guard let job = try registry.job(name) else {
        let file = common.jobFile(name, registry: registry)
        throw fail(Files.exists(file) ? "\(name) has no model in production yet (no run has trained one; see updater status)" : "unknown job \"\(name)\" (no \(file))")
    }
    guard let number = version?.value ?? job.productionVersion else {
        throw fail("\(name) has no model in production yet (updater versions \(name) lists its versions; name one with --version)")
    }
    guard let record = try registry.version(name, number) else { throw fail("\(name) has no version \(number)") }
    if Files.isDirectory(record.artifactPath) {
        throw fail(
            "v\(number) of \(name) was made by an external trainer (\(record.artifactPath)); score with that trainer in score mode (docs/trainers.md)")
    }
    return (try Publisher.verifiedArtifact(record.artifactPath, sha256: record.artifactSHA256, version: number), number)
}

/// The job's file as it is now, when it still publishes where the registry says (else a rollback
/// or promotion uses what the registry recorded, and no deploy command).
func jobConfig(_ name: String, registry: Registry, common: CommonOptions) -> JobConfig? {
    guard let config = try? JobFileDecoder.load(common.jobFile(name, registry: registry)),
        (try? registry.job(name))?.deployPath == config.deploy.path
    else { return nil }
    return config
}

/// Runs the deploy command a rollback or promotion from the command line owes, and says how it
/// went; a failure is retried at the job's next cycle and makes the command exit 1.
func runDeployCommand(_ config: JobConfig?, registry: Registry, quiet: Bool) throws {
    guard let config, config.deploy.command != nil else { return }
    let ran: DeployHooks.Ran?
    do {
        ran = try DeployHooks(registry: registry, log: .silent).runOwed(config)
    } catch {
        throw fail("the deploy command could not run: \(error); the job's next cycle tries again")
    }
    guard let ran else { return }
    if ran.succeeded {
        if !quiet { print("\(config.name): deploy command succeeded (log \(ran.logPath))") }
    } else {
        throw fail("\(config.name): the deploy command failed: \(ran.error ?? "") (log \(ran.logPath)); the job's next cycle tries again")
    }
}
