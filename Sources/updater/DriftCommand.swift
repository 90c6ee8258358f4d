import ArgumentParser
import Cycle
import Service
import Drift
import Foundation
import Support
import JobFiles
import Tabular

struct DriftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Check data drift: two CSV files against each other, or a job's latest batches against production.",
        discussion: """
            With --reference and --current, compares two files with no job or database: the reference's profile (bins, moments, a sample) against the current file, column by column. A column whose every value is a number is numeric, others are categorical (or force it with --categorical). With a JOB, compares its pending batches (or its newest batch) with the production model's stored reference, without training or recording anything.

            Methods default by column type and reference size (KS or chi-squared up to 1000 reference values, Wasserstein or Jensen–Shannon above); see docs/drift.md for every definition and the --json format.

            Exits 0 without drift, 2 on moderate and 3 on severe drift (--fail-on severe: only severe; --fail-on never: always 0), 1 on an error.

            Example:
              updater drift --reference train.csv --current today.csv --categorical plan,region --label churned
              updater drift churn --json
            """)

    @Argument(help: "A job, to check its latest batches against its production model.") var job: String?
    @Option(name: .long, help: "The reference CSV file.") var reference: String?
    @Option(name: .long, help: "The current CSV file.") var current: String?
    @Option(name: .long, help: "Comma-separated columns to treat as categorical.") var categorical: String?
    @Option(name: .long, help: "The label column (checked for label drift, not as a feature).") var label: String?
    @Option(name: .long, help: "Comma-separated columns to leave out.") var exclude: String?
    @Option(name: .long, help: "Method for numeric columns: auto, psi, ks, wasserstein, js, chi2.")
    var numericMethod: String = "auto"
    @Option(name: .long, help: "Method for categorical columns: auto, psi, js, chi2, linf.")
    var categoricalMethod: String = "auto"
    @Option(name: .long, help: "Correction for multiple p-value tests: none, bonferroni, benjamini_hochberg.")
    var correction: String = "none"
    @Option(name: .long, help: "Reference-quantile bins per numeric column.") var bins: Int = 10
    @Option(name: .long, help: "The least drift that exits non-zero (2 moderate, 3 severe): moderate, severe or never.")
    var failOn: FailOn = .moderate
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag

    func validate() throws {
        if job == nil && (reference == nil || current == nil) {
            throw ValidationError("give a JOB, or both --reference and --current")
        }
        if job != nil && (reference != nil || current != nil) {
            throw ValidationError("give either a JOB or --reference/--current, not both")
        }
        if !(2...1000).contains(bins) { throw ValidationError("--bins must be between 2 and 1000") }
        if job != nil, numericMethod != "auto" || categoricalMethod != "auto" || correction != "none" || bins != 10 {
            throw ValidationError("with a JOB the methods, correction and bins come from its job file ([drift])")
        }
        _ = try policy()
    }

    /// The drift policy the flags describe (two-file mode).
    func policy() throws -> DriftPolicy {
        var policy = DriftPolicy()
        policy.bins = bins
        policy.numericMethod = try method(numericMethod, "--numeric-method", kind: .numeric)
        policy.categoricalMethod = try method(categoricalMethod, "--categorical-method", kind: .categorical)
        guard let c = DriftPolicy.Correction(rawValue: correction) else {
            throw ValidationError("--correction must be none, bonferroni or benjamini_hochberg, not \"\(correction)\"")
        }
        policy.correction = c
        return policy
    }

    func run() throws {
        let report: DriftReport
        if let job {
            let name = try checkedJobName(job)
            let file = common.jobFile(name)
            let config: JobConfig
            do {
                config = try JobFileDecoder.load(file)
            } catch {
                throw fail("\(error)")
            }
            do {
                let registry = try common.state.openExistingRegistry()
                let result = try DriftCheck.latest(job: config, registry: registry)
                report = result.report
                if !output.json {
                    print("\(name): \(result.files.count) file\(result.files.count == 1 ? "" : "s") (\(result.files.joined(separator: ", "))) against production v\(result.version)")
                }
            } catch {
                throw fail("\(error)")
            }
        } else {
            let policy = try self.policy()
            do {
                report = try FileComparison.compare(
                    reference: reference!, current: current!, categorical: list(categorical), label: label,
                    exclude: list(exclude), policy: policy)
            } catch {
                throw fail("\(error)")
            }
        }
        if output.json {
            printJSON(report)
        } else {
            print(render(report))
        }
        if let code = failOn.exitCode(for: report.severity) { throw code }
    }

    /// Which drift makes the exit status non-zero, so scripts and CI can branch on it.
    enum FailOn: String, ExpressibleByArgument, CaseIterable {
        case moderate, severe, never

        /// 2 for moderate drift, 3 for severe (README, "Exit codes"), or nil (exit 0).
        func exitCode(for severity: DriftSeverity) -> ExitCode? {
            switch (self, severity) {
            case (.never, _), (_, .none), (.severe, .moderate): nil
            case (_, .moderate): ExitCode(2)
            case (_, .severe): ExitCode(3)
            }
        }
    }

    func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func method(_ name: String, _ flag: String, kind: ColumnKind) throws -> DriftMethod? {
        if name == "auto" { return nil }
        guard let m = DriftMethod(rawValue: name), m.applies(to: kind) else {
            let choices = DriftMethod.allCases.filter { $0.applies(to: kind) }.map(\.rawValue)
            throw ValidationError("\(flag) must be auto, \(choices.joined(separator: ", ")), not \"\(name)\"")
        }
        return m
    }
}
