import ArgumentParser
import Evaluation
import Foundation
import Registry
import Support

struct PredictionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predictions",
        abstract: "Show the prediction log of a job with data.id: production's scores by row id, labels that came later, realized and estimated performance.",
        discussion: """
            Every row of a job with data.id is logged when a run reads it: its id, the version in production that scored it, the score and the class it predicted, and its label when it came with one. A label that arrives later (data.labels) is added to its row, with the scoring version's loss on it.

            Without --batch: one line per batch: its rows, how many came without a label and how many of those have one now, production's realized performance on those (accuracy, or RMSE for regression) with the version that scored them, and for a binary job the performance estimated before the labels came (CBPE, with its interval). With --batch N: that batch's rows.

            Example:
              updater predictions churn
              updater predictions churn --batch 7
              updater predictions churn --batch 7 --json
            """)

    @Argument(help: "The job.") var job: String
    @Option(name: .long, help: "Show the rows of this batch (updater batches JOB lists them).") var batch: Int64?
    @Option(name: .long, help: "At most this many rows with --batch (default: all with --json, else 50).") var limit: Int?
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag

    /// One batch's line.
    struct BatchSummary: Encodable {
        var batch: Int64
        var rows: Int
        var unlabelled: Int
        var labelledLater: Int
        var realized: [Realized]
        var estimate: PerformanceEstimate?

        struct Realized: Encodable {
            var version: Int
            var rows: Int
            var metric: String
            var value: Double
        }

        enum CodingKeys: String, CodingKey {
            case batch, rows, unlabelled, realized, estimate
            case labelledLater = "labelled_later"
        }
    }

    func run() throws {
        let name = try checkedJobName(job)
        let registry = try common.state.openExistingRegistry()
        guard try registry.job(name) != nil else { throw fail("unknown job \"\(name)\"") }
        if let batch {
            let rows = try registry.predictions(job: name, batch: batch, limit: limit ?? (output.json ? nil : 50))
            if output.json {
                printJSON(rows.map(Row.init))
                return
            }
            guard !rows.isEmpty else {
                print("\(name): batch \(batch) has no logged rows (only jobs with data.id log them; updater batches \(name) lists the batches)")
                return
            }
            print(table(["ROW", "ID", "VERSION", "SCORE", "PREDICTED", "LABEL", "FROM", "LOSS"], rows.map(Self.cells)))
            if limit == nil, rows.count == 50 { print("(the first 50 rows; --limit N or --json for more)") }
            return
        }
        let summaries = try Self.summaries(job: name, registry: registry)
        if output.json {
            printJSON(summaries)
            return
        }
        guard !summaries.isEmpty else {
            print("\(name): no prediction logged yet (a job logs its rows once it has data.id)")
            return
        }
        print(table(
            ["BATCH", "ROWS", "WITHOUT LABEL", "LABELLED LATER", "REALIZED", "ESTIMATED"],
            summaries.map { s in
                [
                    String(s.batch), String(s.rows), String(s.unlabelled), String(s.labelledLater),
                    s.realized.map { "\($0.metric) \(String(format: "%.4f", $0.value)) (v\($0.version), \($0.rows) rows)" }.joined(separator: "; "),
                    s.estimate.map { e in
                        e.metrics.map { "\($0.metric) \(String(format: "%.4f", $0.value)) (\(String(format: "%.4f", $0.lower))–\(String(format: "%.4f", $0.upper)))" }
                            .joined(separator: ", ")
                    } ?? "",
                ]
            }))
    }

    static func cells(_ r: PredictionRecord) -> [String] {
        let version: String = r.version.map { "v\($0)" } ?? "-"
        let score: String = r.score.map { String(format: "%.4f", $0) } ?? "-"
        let from: String = r.labelSource.map { $0 == "batch" ? "batch" : "label file" } ?? "-"
        let loss: String = r.loss.map { String($0) } ?? "-"
        return [String(r.row), r.rowID, version, score, r.prediction ?? "-", r.label ?? "-", from, loss]
    }

    /// Per batch with logged rows: counts, realized performance per scoring version, the estimate.
    static func summaries(job: String, registry: Registry) throws -> [BatchSummary] {
        let realized = Dictionary(grouping: try registry.realizedPerformance(job: job), by: \.batchID)
        let estimates = Dictionary(try registry.estimates(job: job).map { ($0.batchID, $0) }, uniquingKeysWith: { _, b in b })
        // Batches with an estimate but no logged rows (a binary job without data.id) are listed too.
        var counts = try registry.predictionCounts(job: job)
        let logged = Set(counts.map(\.batch))
        for e in estimates.values where !logged.contains(e.batchID) {
            counts.append(.init(batch: e.batchID, rows: e.rows, unlabelled: e.rows, labelledLater: 0, regression: false))
        }
        return counts.sorted { $0.batch < $1.batch }.map { c in
            BatchSummary(
                batch: c.batch, rows: c.rows, unlabelled: c.unlabelled, labelledLater: c.labelledLater,
                realized: (realized[c.batch] ?? []).map { .init(version: $0.version, rows: $0.labelled, metric: $0.metric, value: $0.value) },
                estimate: estimates[c.batch].flatMap { try? decodeJSON(PerformanceEstimate.self, $0.estimate) })
        }
    }

    struct Row: Encodable {
        var record: PredictionRecord
        init(_ r: PredictionRecord) { record = r }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(record.batchID, forKey: .batch)
            try c.encode(record.row, forKey: .row)
            try c.encode(record.rowID, forKey: .id)
            try c.encode(record.version, forKey: .version)
            try c.encode(record.score, forKey: .score)
            try c.encode(record.prediction, forKey: .prediction)
            try c.encode(record.label, forKey: .label)
            try c.encode(record.labelSource, forKey: .labelSource)
            try c.encode(record.loss, forKey: .loss)
            try c.encode(record.joinedBatchID, forKey: .joinedBatch)
        }

        enum Keys: String, CodingKey {
            case batch, row, id, version, score, prediction, label, loss
            case labelSource = "label_source", joinedBatch = "joined_batch"
        }
    }
}
