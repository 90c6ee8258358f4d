import Cycle
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
