import Foundation
import JobFiles
import Registry
import Support

/// Puts a version into production, all or nothing: its artifact is verified and staged beside the
/// deploy path; then one registry transaction moves the production pointer (only if production is
/// still `expectedFrom`), appends the history with its `model.*` event, and renames the staged file
/// into place before committing. A failure anywhere records nothing and leaves the deploy path as
/// it was. The cycle's promotions, `updater rollback`, `updater promote` and the repair of a deploy
/// file all go through here.
package struct Promoter: Sendable {
    package let registry: Registry
    package var clock: WallClock
    package var checkpoints: Checkpoints

    package init(registry: Registry, clock: WallClock = .system, checkpoints: Checkpoints = .none) {
        self.registry = registry
        self.clock = clock
        self.checkpoints = checkpoints
    }

    /// Publishes `version` as `deploy` says (its path and formats) and records the move; returns
    /// the history event.
    @discardableResult
    package func publish(
        _ version: VersionRecord, to deploy: DeploySettings, action: ProductionEvent.Action, actor: String, reason: String,
        run: Int64? = nil, expectedFrom: Int?
    ) throws -> ProductionEvent {
        let deployPath = deploy.path
        try DeployOwner.check(deployPath, job: version.job, registry: registry)
        let publication = try Publication.make(version, deploy: deploy)
        let staged = try Publisher.stage(publication)
        defer { staged.discard() }
        let sidecar = try stageOwner(version, deployPath)
        defer { unlink(sidecar) }
        let checkpoints = self.checkpoints
        return try registry.moveProduction(
            job: version.job, to: version.version, action: action, actor: actor, reason: reason, runID: run,
            expectedFrom: .some(expectedFrom), now: clock.now(), published: publication.eventFields, hook: deploy.command != nil
        ) {
            try staged.commit()
            try Files.renameIntoPlace(sidecar, DeployOwner.sidecarPath(of: deployPath), what: "the deploy path's owner")
            checkpoints.reached(.promotion)
        }
    }

    /// The sidecar naming this state directory, the job and the version, written beside the deploy path.
    func stageOwner(_ version: VersionRecord, _ deployPath: String) throws -> String {
        let owner = DeployOwner(stateID: try registry.stateID(), job: version.job, version: version.version, sha256: version.artifactSHA256)
        return try Files.writeTemporary(owner.encoded, beside: DeployOwner.sidecarPath(of: deployPath))
    }

    /// `updater adopt`: job `job` takes over `deployPath` (published by another state directory or
    /// job, or placed by hand): its sidecar names this state directory and the job from now on, and
    /// the next cycle publishes the job's production version there.
    package func adopt(job: String, deployPath: String) throws -> DeployOwner? {
        let before = DeployOwner.read(deployPath)
        let production = try registry.job(job)?.productionVersion
        let version = try production.flatMap { try registry.version(job, $0) }
        let owner = DeployOwner(stateID: try registry.stateID(), job: job, version: version?.version ?? 0, sha256: version?.artifactSHA256 ?? "")
        try Files.writeAtomically(owner.encoded, to: DeployOwner.sidecarPath(of: deployPath))
        return before
    }

    /// Makes the deploy file hold the production version's artifact again (after a crash between
    /// publishing and committing, or if someone changed the file). The check and the rename happen
    /// inside one write transaction, so a rollback committing meanwhile cannot be undone by a stale
    /// republication. Returns the version published again, nil when the file was right.
    package func repair(job: String, deploy: DeploySettings) throws -> Int? {
        let deployPath = deploy.path
        guard let number = try registry.job(job)?.productionVersion, let record = try registry.version(job, number),
            !Publication.looksServed(record, deploy: deploy)
        else { return nil }
        let publication = try Publication.make(record, deploy: deploy)
        guard !publication.isServed else { return nil }
        try DeployOwner.check(deployPath, job: job, registry: registry)
        // Written beside the deploy path first; put in place only if that version is still
        // production's and still not served.
        let staged = try Publisher.stage(publication)
        defer { staged.discard() }
        let sidecar = try stageOwner(record, deployPath)
        defer { unlink(sidecar) }
        let hook = deploy.command == nil ? nil : DeployHookRecord(
            job: job, version: number, event: "model.republished", runID: nil, published: JSONValue.object(publication.eventFields).text,
            at: clock.now())
        let done = try registry.republishing(of: job, is: number, hook: hook) { () -> Bool in
            guard !publication.isServed else { return false }
            try staged.commit()
            try Files.renameIntoPlace(sidecar, DeployOwner.sidecarPath(of: deployPath), what: "the deploy path's owner")
            return true
        }
        return done == true ? number : nil
    }
}
