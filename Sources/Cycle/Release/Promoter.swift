import Foundation
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

    /// Publishes `version` to `deployPath` and records the move; returns the history event.
    @discardableResult
    package func publish(
        _ version: VersionRecord, to deployPath: String, action: ProductionEvent.Action, actor: String, reason: String,
        run: Int64? = nil, expectedFrom: Int?
    ) throws -> ProductionEvent {
        let staged = try Publisher.stage(version, to: deployPath)
        defer { staged.discard() }
        let checkpoints = self.checkpoints
        return try registry.moveProduction(
            job: version.job, to: version.version, action: action, actor: actor, reason: reason, runID: run,
            expectedFrom: .some(expectedFrom), now: clock.now()
        ) {
            try staged.commit()
            checkpoints.reached(.promotion)
        }
    }

    /// Makes the deploy file hold the production version's artifact again (after a crash between
    /// publishing and committing, or if someone changed the file). The check and the rename happen
    /// inside one write transaction, so a rollback committing meanwhile cannot be undone by a stale
    /// republication. Returns the version published again, nil when the file was right.
    package func repair(job: String, deployPath: String) throws -> Int? {
        guard let number = try registry.job(job)?.productionVersion, let record = try registry.version(job, number),
            !Publisher.isServing(record, at: deployPath)
        else { return nil }
        // Written beside the deploy path first; put in place only if that version is still
        // production's and still not served.
        let staged = try Publisher.stage(record, to: deployPath)
        defer { staged.discard() }
        let done = try registry.whileProduction(of: job, is: number) { () -> Bool in
            guard !Publisher.isServing(record, at: deployPath) else { return false }
            try staged.commit()
            return true
        }
        return done == true ? number : nil
    }
}
