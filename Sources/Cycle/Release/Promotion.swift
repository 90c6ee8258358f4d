import Foundation
import JobFiles
import Support
import Registry

/// `updater promote`: a person puts a named version into production. A version the gate rejected
/// goes in only with `force` and a reason, and is recorded as `forced` (TFX issue 4390: when the
/// baseline can no longer be evaluated, someone must be able to release, on the record).
package enum Promotion {
    package static func perform(
        job name: String, version number: Int, force: Bool, reason: String?, actor: String, registry: Registry,
        deploy: DeploySettings? = nil
    ) throws -> RollbackOutcome {
        guard let record = try registry.job(name) else {
            throw RollbackError("job \"\(name)\" is not in the registry (no run has recorded it yet)")
        }
        guard let version = try registry.version(name, number) else {
            let known = try registry.versions(of: name).map { "v\($0.version)" }.joined(separator: ", ")
            throw RollbackError("\(name) has no version \(number) (versions: \(known.isEmpty ? "none" : known))")
        }
        let current = record.productionVersion
        if current == number {
            return RollbackOutcome(job: name, from: number, to: number, changed: false, deployPath: record.deployPath, event: nil)
        }
        let forced = version.status == .rejected
        if forced {
            guard force else {
                throw RollbackError("v\(number) of \(name) was rejected by the gate; promote it only with --force and --reason")
            }
            guard let reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw RollbackError("a forced promotion needs --reason: the production history records why")
            }
        }
        // Verified and written beside the deploy path before touching anything.
        let deployPath = record.deployPath
        let event = try Promoter(registry: registry).publish(
            version, to: deploy ?? record.deployment, action: forced ? .forced : .promote, actor: actor, reason: reason ?? "promoted v\(number) by hand",
            expectedFrom: current)
        return RollbackOutcome(
            job: name, from: current ?? 0, to: number, changed: true, deployPath: deployPath, event: event)
    }
}
