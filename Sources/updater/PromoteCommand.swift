import ArgumentParser
import Cycle
import Service
import Foundation
import Support

struct PromoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Put a named version into production by hand; --force for one the gate rejected.",
        discussion: """
            Verifies the version's artifact, publishes it atomically and records the change in the production history with you as the actor. A version the gate rejected needs --force and --reason and is recorded as forced (for example when the model in production can no longer be evaluated). Safe while the daemon runs.

            Example:
              updater promote churn v4
              updater promote churn 5 --force --reason "baseline cannot score the new schema; checked by hand"
            """)

    @Argument(help: "The job.") var job: String
    @Argument(help: "The version, as 4 or v4.") var version: VersionNumber
    @Flag(name: .long, help: "Promote a version the gate rejected (needs --reason).") var force = false
    @Option(name: .long, help: "Why, for the production history.") var reason: String?
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag

    func run() throws {
        let name = try checkedJobName(job)
        let outcome: RollbackOutcome
        let registry = try common.state.openExistingRegistry()
        let config = jobConfig(name, registry: registry, common: common)
        do {
            outcome = try Promotion.perform(
                job: name, version: version.value, force: force, reason: reason, actor: Rollback.currentActor(), registry: registry,
                deploy: config?.deploy)
        } catch {
            throw fail("promotion refused, nothing changed: \(error)")
        }
        defer { try? runDeployCommand(config, registry: registry, quiet: output.json) }
        if output.json {
            printJSON(outcome)
        } else if outcome.changed {
            let action = outcome.event?.action == .forced ? "forced promotion" : "promotion"
            print("\(name): production \(outcome.from == 0 ? "none" : "v\(outcome.from)") → v\(outcome.to) (\(action) recorded; \(outcome.deployPath) now holds v\(outcome.to))")
        } else {
            print("\(name): v\(outcome.to) is already in production; nothing changed")
        }
    }
}
