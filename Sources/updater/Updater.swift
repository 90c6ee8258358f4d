import ArgumentParser

@main
struct Updater: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "updater",
        abstract: "Keeps machine-learning models fresh: drift → retrain → gate → promote, with rollback.",
        discussion: """
            Each retrain job is a TOML file in the jobs directory (--jobs, default ./Jobs, or /etc/updater/jobs under systemd). State lives in the state directory (--state-dir, $UPDATER_STATE_DIR, $STATE_DIRECTORY, else ./.updater).

            Exit codes: 0 success and nothing needs a person; 1 a refused or failed operation, or something that needs a person (run --once: an invalid job file, a failed run or promotion, files that cannot be registered, batches set aside; status: any of those, or state it cannot read); 2 and 3 drift found (moderate, severe) by `drift`; 4 a candidate rejected by the gate in `run --once`; 64 a usage error. See the README's table.

            `updater --version` prints updater's version.

            Example:
              updater validate Jobs/
              updater run --once
              updater versions churn
              updater rollback churn --reason "v3 misbehaves"
            """,
        subcommands: [
            InitCommand.self, Validate.self, Run.self, StatusCommand.self, VersionsCommand.self, RunsCommand.self, HistoryCommand.self, RollbackCommand.self,
            TriggerCommand.self, DriftCommand.self, TrainCommand.self, PredictCommand.self, CancelCommand.self, PromoteCommand.self, MetricsCommand.self,
            PauseCommand.self, ResumeCommand.self, WebhooksCommand.self, BatchesCommand.self, AdoptCommand.self, BacktestCommand.self, ReportCommand.self, ExportCommand.self, PredictionsCommand.self,
        ]
    )

    static let release = "0.1.0"

    /// `updater --version` prints the release. Not through CommandConfiguration.version or a root
    /// flag: either is inherited by every command, where `predict --version N` names a model version.
    static func main() async {
        if Array(CommandLine.arguments.dropFirst()) == ["--version"] {
            print(release)
            return
        }
        await main(nil)
    }
}
