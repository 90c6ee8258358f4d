import ArgumentParser
import Foundation
import Registry
import Report
import Support

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one run's report as a self-contained HTML file: drift with both distributions drawn, the decision, the gate, the job's timeline.",
        discussion: """
            The report says what happened in one line ("3 of 5 columns drifted; the candidate v4 failed the gate on ROC-AUC"), then: the decision and why; production's measured performance and the concept-drift tests; each feature column's reference and current distribution drawn over the reference profile's bins (drifted columns first) with its method, statistic, threshold, PSI and missing shares; label and prediction drift; the gate, rule by rule and slice by slice; and the job's timeline of versions, promotions, rollbacks and production's served metric.

            Everything comes from the registry (the reference distribution from the stored profile), so no data file is read. The file has no script, font or style from anywhere else: it opens offline, in a mail attachment, and prints. Without --run, the newest finished run.

            Example:
              updater report churn --output churn.html
              updater report churn --run 3 --output run3.html
            """)

    @Argument(help: "The job.") var job: String
    @Option(name: .customLong("run"), help: "The run (its number within the job); default: the newest finished run.") var runNumber: Int?
    @Option(name: .shortAndLong, help: "The HTML file to write (replaced atomically), or - for standard output.") var output: String
    @OptionGroup var common: CommonOptions

    func run() throws {
        let name = try checkedJobName(job)
        do {
            let registry = try common.state.openExistingRegistry()
            let report = try RunReport.load(registry, job: name, run: runNumber)
            let html = report.document()
            if output == "-" {
                print(html, terminator: "")
                return
            }
            try Files.writeAtomically(Array(html.utf8), to: output)
            print("\(name) run \(report.run.number): \(report.headline)")
            print("wrote \(output)")
        } catch {
            throw fail("\(error)")
        }
    }
}
