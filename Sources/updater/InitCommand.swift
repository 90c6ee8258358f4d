import ArgumentParser
import Cycle
import Foundation
import JobFiles
import Support
import Training

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Draft a job file from a sample of the data: columns, task and a gate inferred, each said why.",
        discussion: """
            Reads the sample (a labelled CSV file like the batches to come), infers each column's role (numbers, categories, or left out as constant, empty or identifier-like), the task from the label (two values: binary; text or up to 50 whole numbers: multiclass; other numbers: regression), and a gate from a 5-fold cross-validation of the job's model on the sample (each minimum the mean less two standard deviations, and no worse than production by a small margin). Writes JOBS/NAME.toml, commented, which validates clean, and creates its incoming directory; --dry-run prints it instead. An existing job file is never overwritten.

            Example:
              updater init churn --from sample.csv --label churned
              updater init prices --from houses.csv --label price --dry-run
            """)

    @Argument(help: "The job's name (the file name without .toml).") var name: String
    @Option(name: .long, help: "A labelled sample of the data, as CSV.") var from: String
    @Option(name: .long, help: "The label column (default: a column named label, target, y, class or outcome).") var label: String?
    @Option(name: .long, help: "binary, multiclass or regression (default: inferred from the label).") var task: String?
    @Flag(name: .long, help: "Print the job file instead of writing it.") var dryRun = false
    @Option(name: .long, help: "Directory of job files (default: ./Jobs, or /etc/updater/jobs under systemd).") var jobs: String?

    func validate() throws {
        _ = try checkedJobName(name)
        if let task, Task(rawValue: task) == nil { throw ValidationError("--task must be binary, multiclass or regression, not \"\(task)\"") }
    }

    func run() throws {
        let directory = JobSet.defaultDirectory(option: jobs)
        let file = directory + "/" + name + ".toml"
        if !dryRun, Files.exists(file) { throw fail("\(file) exists; choose another name, or remove it first") }
        let draft: JobDraft
        do {
            draft = try JobDraft.make(name: name, sample: from, label: label, task: task.flatMap(Task.init(rawValue:)))
        } catch {
            throw fail("\(error)")
        }
        // What was inferred, and why: on stderr with --dry-run, so stdout is the file alone.
        var said = ["\(name): \(draft.rows) rows of \(from)"]
        let width = draft.columns.map(\.name.count).max() ?? 0
        for c in draft.columns {
            said.append("  \(c.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(c.role.rawValue): \(c.why)")
        }
        said.append("gate from a \(draft.folds)-fold cross-validation of \(draft.model): " + draft.estimates.map {
            "\($0.metric.rawValue) \(String(format: "%.4f", $0.mean)) ± \(String(format: "%.4f", $0.standardDeviation)) → \($0.isMaximum ? "max" : "min") \($0.bound)"
        }.joined(separator: "; ") + "; change \(draft.change) on \(draft.changeMetric.rawValue) against production")
        if dryRun {
            FileHandle.standardError.write(Data((said.joined(separator: "\n") + "\n").utf8))
            print(draft.text, terminator: "")
            return
        }
        do {
            try Files.makeDirectories(directory + "/" + name + "/incoming")
            try Files.writeAtomically(Array(draft.text.utf8), to: file)
        } catch {
            throw fail("\(error)")
        }
        print(said.joined(separator: "\n"))
        print("wrote \(file) (it validates); created \(directory)/\(name)/incoming")
        print("next: drop labelled batches into \(directory)/\(name)/incoming, then updater run --once (or updater backtest \(name) --batches DIR to try the job on past batches first)")
    }
}
