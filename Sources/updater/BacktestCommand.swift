import ArgumentParser
import Cycle
import Evaluation
import Foundation
import JobFiles
import Report
import Support
import Training

#if canImport(Glibc)
import Glibc
#endif

struct BacktestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Replay a directory of labelled batches through a job's cycle and measure how fresh it kept the model.",
        discussion: """
            Each JOB (a job name from the jobs directory, or a job file's path; --job-file also takes a path) replays the batches of --batches DIR (*.csv, in name order) through its real cycle: the same drift check, freshness policy, training engine, gate and promotion, in a scratch state directory with an in-memory registry. The job's real state, deploy path, deploy command and webhooks are not touched.

            Prequential: before each batch is delivered, the model in production scores it (accuracy and ROC-AUC for a binary job, accuracy for multiclass, RMSE for regression). In the same run the reference policies replay the same batches with the first job's settings: never (the first model stays), every (a full retrain on the newest window_rows rows after every batch, always promoted) and, with --oracle, a policy that knows where each concept starts and retrains on the new concept's batches only, after each of its first four. The table shows each policy's mean metrics, training rows (and their share of every's), training CPU seconds, versions, promotions, rejections, and after each change of concept the first job's policy confirmed, how many batches until the metric was within drift.performance.min_drop of the best level any policy held in that concept.

            With --label-delay K each job is replayed a second time as if its labels came K batches late: every batch is delivered without its label column (with a row id column when the job has no data.id), and its labels arrive as a label file (data.labels) with batch t+K, joined by id. Production is still measured on every batch with its true labels, so the two rows of the table show what the delay costs.

            Example:
              updater backtest churn --batches history/
              updater backtest --job-file new-settings.toml Jobs/churn.toml --batches history/ --oracle 13,25,37
              updater backtest churn --batches history/ --json > replay.json
              updater backtest churn --batches history/ --oracle 13,25,37 --report replay.html
              updater backtest churn --batches history/ --label-delay 3
            """)

    @Argument(help: "Jobs to replay: names in the jobs directory, or job-file paths.")
    var jobs: [String] = []

    @Option(name: .long, help: "A job file to replay (a job not yet installed); may be repeated.")
    var jobFile: [String] = []

    @Option(name: .long, help: "The directory of labelled batches (*.csv), replayed in name order.")
    var batches: String

    @Option(name: .long, help: "Comma-separated batch numbers (1-based, in replay order) where a new concept starts: adds the oracle reference policy.")
    var oracle: String?

    @Option(name: .long, help: "Labels of batch t arrive with batch t+K: each job is also replayed with its batches delivered without labels and their labels K batches later (data.labels, joined by id), to show what late labels cost.")
    var labelDelay: Int = 0

    @Flag(name: .long, help: "Also print every batch of each job's replay: production, its metrics, the decision.")
    var detail = false

    @Option(name: .customLong("jobs"), help: "Directory of job files, for job names (default: ./Jobs, or /etc/updater/jobs under systemd).")
    var jobsDirectory: String?

    @Option(name: .long, help: "Also write the replay drawn as a self-contained HTML file: each policy's metric per batch, with the job's changes, trainings and promotions marked.")
    var report: String?

    @OptionGroup var output: JSONFlag

    func run() throws {
        let files: [String]
        let configs: [JobConfig]
        var changes: [Int] = []
        do {
            files = try Backtest.batchFiles(in: batches)
            configs = try (jobs + jobFile).map(resolve)
            if let oracle {
                changes = try oracle.split(separator: ",").map { part in
                    guard let n = Int(part.trimmingCharacters(in: .whitespaces)), (1...files.count).contains(n) else {
                        throw ValidationError("--oracle: \"\(part)\" is not a batch number between 1 and \(files.count)")
                    }
                    return n
                }
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            throw fail("\(error)")
        }
        guard let first = configs.first else { throw ValidationError("name a job or give --job-file") }
        let started = Date()
        var replays: [Backtest.Replay] = []
        let interactive = isatty(2) == 1
        do {
            guard labelDelay >= 0, labelDelay < files.count else {
                throw ValidationError("--label-delay: \(labelDelay) is not a number of batches between 0 and \(files.count - 1)")
            }
            var runs: [(Backtest, Backtest.Policy)] = configs.map { (Backtest(job: $0, files: files, label: label($0, among: configs)), .job) }
            if labelDelay > 0 {
                runs += configs.map { config in
                    let name = label(config, among: configs) + ", labels \(labelDelay) late"
                    return (Backtest(job: config, files: files, label: name, labelDelay: labelDelay), .job)
                }
            }
            let reference = Backtest(job: first, files: files, label: "")
            runs += [(reference, .never), (reference, .every)]
            if oracle != nil { runs.append((reference, .oracle(changes: changes))) }
            for (backtest, policy) in runs {
                let name = policy == .job ? backtest.label : policy.name
                var replay = try backtest.replay(policy) { done, total in
                    // A progress line on a terminal; a line every 10 batches otherwise.
                    if interactive {
                        FileHandle.standardError.write(Data("\r\(name): batch \(done)/\(total)\u{1b}[K".utf8))
                    } else if done % 10 == 0 || done == total {
                        FileHandle.standardError.write(Data("\(name): batch \(done)/\(total)\n".utf8))
                    }
                }
                if interactive { FileHandle.standardError.write(Data("\r\u{1b}[K".utf8)) }
                if policy != .job { replay.label = policy.name }
                replays.append(replay)
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            throw fail("\(error)")
        }
        // Recovery after the changes the first job's policy confirmed, for every replay alike.
        let confirmed = replays[0].batches.filter(\.change).map(\.batch)
        Backtest.recovery(
            &replays, changes: confirmed, metric: Backtest.metrics(for: first.data.task)[0],
            tolerance: first.drift.performance?.minDrop ?? 0.02)
        if let report {
            let page = BacktestReport(
                directory: batches, replays: replays, metrics: Backtest.metrics(for: first.data.task).map(\.rawValue), oracle: changes)
            do {
                try Files.writeAtomically(Array(page.document().utf8), to: report)
            } catch {
                throw fail("\(error)")
            }
            FileHandle.standardError.write(Data("wrote \(report)\n".utf8))
        }
        if output.json {
            printJSON(BacktestOutput(batchesDirectory: batches, batches: files.count, replays: replays))
            return
        }
        print("\(files.count) batches from \(batches), replayed in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        print(summaryTable(replays, task: first.data.task))
        if detail {
            for replay in replays where replay.policy == "job" {
                print("\n\(replay.label):")
                print(detailTable(replay, task: first.data.task))
            }
        }
    }

    /// A job name from the jobs directory, or a job file.
    func resolve(_ name: String) throws -> JobConfig {
        if name.hasSuffix(".toml") || name.contains("/") { return try JobFileDecoder.load(name) }
        let file = JobSet.defaultDirectory(option: jobsDirectory) + "/" + (try checkedJobName(name)) + ".toml"
        guard Files.exists(file) else { throw FileError(file, "no job \"\(name)\" in the jobs directory (give a job file's path, or --jobs)") }
        return try JobFileDecoder.load(file)
    }

    /// The job's name, or its file's when two replays share a name.
    func label(_ job: JobConfig, among all: [JobConfig]) -> String {
        all.filter { $0.name == job.name }.count > 1 ? Files.baseName(job.file) : job.name
    }

    func summaryTable(_ replays: [Backtest.Replay], task: Training.Task) -> String {
        let metrics = Backtest.metrics(for: task)
        let every = replays.first { $0.policy == "every" }?.trainingRows ?? 0
        let header = ["POLICY"] + metrics.map { "MEAN_" + $0.rawValue.uppercased() } + [
            "TRAINING_ROWS", "OF_EVERY", "CPU_S", "VERSIONS", "PROMOTED", "REJECTED", "RECOVERY",
        ]
        let rows = replays.map { r -> [String] in
            let share: String = every > 0 ? String(format: "%.1f%%", 100 * Double(r.trainingRows) / Double(every)) : "-"
            let recovery: String = r.recovery.isEmpty
                ? "-" : r.recovery.map { "\($0.change):\($0.batches.map { String($0) } ?? "-")" }.joined(separator: " ")
            let means: [String] = metrics.map { show(r.means[$0.rawValue]) }
            let counts: [String] = [
                String(r.trainingRows), share, String(format: "%.2f", r.cpuSeconds), String(r.versions), String(r.promotions),
                String(r.rejections), recovery,
            ]
            return [r.label] + means + counts
        }
        return table(header, rows)
            + "\nRECOVERY: after each change of concept the first job's policy confirmed (BATCH:N), batches until within min_drop of the best level any policy held there (- never)"
    }

    func detailTable(_ r: Backtest.Replay, task: Training.Task) -> String {
        let metrics = Backtest.metrics(for: task)
        let header = ["BATCH", "PRODUCTION"] + metrics.map { $0.rawValue.uppercased() } + ["DRIFT", "OUTCOME", "ROWS", "FROM", "REASON"]
        let rows = r.batches.map { b -> [String] in
            let version: String = b.productionVersion.map { "v\($0)" } ?? "-"
            let values: [String] = metrics.map { show(b.metrics?[$0.rawValue]) }
            let outcome: String = b.outcome + (b.candidateVersion.map { " v\($0)" } ?? "")
            let rows: String = b.trainingRows > 0 ? String(b.trainingRows) : "-"
            let from: String = b.windowFrom.map(String.init) ?? "-"
            return [String(b.batch), version] + values + [b.severity ?? "-", outcome, rows, from, truncate(b.reason ?? "", 100)]
        }
        return table(header, rows)
    }
}

struct BacktestOutput: Encodable {
    var batchesDirectory: String
    var batches: Int
    var replays: [Backtest.Replay]

    enum CodingKeys: String, CodingKey {
        case batchesDirectory = "batches_directory", batches, replays
    }
}
