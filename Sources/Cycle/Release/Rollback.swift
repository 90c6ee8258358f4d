import Foundation
import JobFiles
import Support
import Registry

/// What a rollback did.
package struct RollbackOutcome: Sendable, Equatable, Codable {
    package var job: String
    package var from: Int
    package var to: Int
    /// False when the requested version was already in production (nothing changed).
    package var changed: Bool
    package var deployPath: String
    package var event: ProductionEvent?
}

/// A rollback that cannot be done; nothing was changed.
package struct RollbackError: Error, CustomStringConvertible, Sendable {
    package var description: String
    init(_ d: String) { description = d }
}

/// `updater rollback`: puts the previous (or a named) version back into production, atomically,
/// with an audit record. Works whether or not the daemon runs: the pointer move, the history row and
/// the publication of the file happen inside one SQLite transaction.
package enum Rollback {
    /// Rolls `name` back, publishing to the deploy path recorded for the job. Without `to`, the target is the version that was in production before the
    /// current one (like `helm rollback`, so two rollbacks in a row swap back).
    /// `deploy`: the job file's deploy settings (its formats and command), when the caller read it;
    /// else what the registry recorded.
    package static func perform(
        job name: String, to target: Int?, reason: String?, actor: String, registry: Registry, deploy: DeploySettings? = nil
    ) throws -> RollbackOutcome {
        guard let record = try registry.job(name) else {
            throw RollbackError("job \"\(name)\" is not in the registry (no run has recorded it yet)")
        }
        let job = (name: name, deployPath: record.deployPath)
        guard let current = record.productionVersion else {
            throw RollbackError("\(job.name) has no model in production to roll back from")
        }
        let history = try registry.history(of: job.name)
        let destination: Int
        if let target {
            destination = target
        } else {
            guard let last = history.last(where: { $0.toVersion == current }), let previous = last.fromVersion else {
                throw RollbackError("\(job.name) has no earlier production version than v\(current)")
            }
            destination = previous
        }
        guard let version = try registry.version(job.name, destination) else {
            let known = try registry.versions(of: job.name).map { "v\($0.version)" }.joined(separator: ", ")
            throw RollbackError("\(job.name) has no version \(destination) (versions: \(known.isEmpty ? "none" : known))")
        }
        if destination == current {
            return RollbackOutcome(job: job.name, from: current, to: current, changed: false, deployPath: job.deployPath, event: nil)
        }
        let wasServed = history.contains { $0.toVersion == destination }
        guard version.status == .passed || wasServed else {
            throw RollbackError(
                "v\(destination) of \(job.name) was rejected by the gate and never in production; rollback only returns to versions that passed")
        }
        // Verified and written beside the deploy path before touching anything, so a corrupted
        // artifact leaves production as it is.
        let deployPath = job.deployPath
        let event = try Promoter(registry: registry).publish(
            version, to: deploy ?? record.deployment, action: .rollback, actor: actor, reason: reason ?? "rollback from v\(current) to v\(destination)",
            expectedFrom: current)
        return RollbackOutcome(job: job.name, from: current, to: destination, changed: true, deployPath: deployPath, event: event)
    }

    /// The person to attribute a manual action to: `$SUDO_USER`, else `$USER`, else the uid.
    package static func currentActor(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let u = environment["SUDO_USER"], !u.isEmpty { return u }
        if let u = environment["USER"], !u.isEmpty { return u }
        if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        return "uid \(getuid())"
    }
}
