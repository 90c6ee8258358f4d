import Cycle
import Foundation

/// `updater backtest --report FILE.html`: the replay drawn. For each metric, one line per policy
/// (the job's and the reference policies) over the batches, and under it what the job's policy
/// did: changes of concept it confirmed, trainings, promotions, rejections.
package struct BacktestReport: Sendable {
    package var directory: String
    package var replays: [Backtest.Replay]
    package var metrics: [String]
    /// Where a new concept starts, when `--oracle` said so (1-based batches).
    package var oracle: [Int]

    package init(directory: String, replays: [Backtest.Replay], metrics: [String], oracle: [Int] = []) {
        (self.directory, self.replays, self.metrics, self.oracle) = (directory, replays, metrics, oracle)
    }

    /// What the replay showed, in words: "churn kept a mean accuracy of 0.8712 (every: 0.8650,
    /// never: 0.7421) with 38.2 % of every's training rows".
    package var headline: String {
        guard let job = replays.first, let metric = metrics.first else { return "Nothing replayed" }
        let others = replays.dropFirst().map { "\($0.label): \(Show.number($0.means[metric]))" }.joined(separator: ", ")
        var text = "\(job.label) kept a mean \(metricName(metric)) of \(Show.number(job.means[metric]))" + (others.isEmpty ? "" : " (\(others))")
        if let every = replays.first(where: { $0.policy == "every" }), every.trainingRows > 0, job.policy != "every" {
            text += String(format: " with %.1f %% of every's training rows", 100 * Double(job.trainingRows) / Double(every.trainingRows))
        }
        return text
    }

    package func document() -> String {
        var body = "<h1>\(HTML.escape(headline))</h1>\n"
        let count = replays.first?.batches.count ?? 0
        body += "<p class=\"sub\">\(count) batches from \(HTML.escape(directory)), replayed through each policy's real cycle. "
            + "Each batch is scored by the model in production before it is delivered (prequential).</p>\n"
        body += "<h2>Policies</h2>\n"
        let every = replays.first { $0.policy == "every" }?.trainingRows ?? 0
        body += HTML.table(
            ["Policy"] + metrics.map { "Mean " + metricName($0) } + ["Training rows", "Of every's", "CPU s", "Versions", "Promoted", "Rejected", "Batches to recover after each change"],
            replays.map { r in
                [HTML.escape(r.label)] + metrics.map { Show.number(r.means[$0]) } + [
                    "\(r.trainingRows)", every > 0 ? Show.percent(Double(r.trainingRows) / Double(every)) : "–", String(format: "%.2f", r.cpuSeconds),
                    "\(r.versions)", "\(r.promotions)", "\(r.rejections)",
                    r.recovery.isEmpty ? "–" : r.recovery.map { "batch \($0.change): \($0.batches.map(String.init) ?? "never")" }.joined(separator: "; "),
                ]
            }, numeric: Set(1...(metrics.count + 5)))
        for metric in metrics {
            body += "<h2>\(HTML.escape(metricName(metric))) per batch</h2>\n"
            let series = replays.map { r in
                Chart.Series(name: r.label, points: r.batches.map { (Double($0.batch), $0.metrics?[metric]) })
            }
            body += Chart.lines(series, tracks: tracks(), xLabel: "batch", yLabel: metricName(metric),
                                label: "\(metricName(metric)) of each policy's production model per batch") + "\n"
        }
        if let job = replays.first {
            body += "<h2>What \(HTML.escape(job.label)) did, batch by batch</h2>\n"
            body += HTML.table(["Batch", "Production"] + metrics.map(metricName) + ["Drift", "Outcome", "Rows", "Why"], job.batches.map { b in
                ["\(b.batch)", b.productionVersion.map { "v\($0)" } ?? "–"] + metrics.map { Show.number(b.metrics?[$0]) } + [
                    b.severity ?? "–", HTML.escape(b.outcome + (b.candidateVersion.map { " v\($0)" } ?? "")) + (b.change ? " " + HTML.tag("change confirmed", .warn) : ""),
                    b.trainingRows > 0 ? "\(b.trainingRows)" : "–", HTML.escape(b.reason ?? ""),
                ]
            }, numeric: Set(2..<(2 + metrics.count)))
        }
        body += "<p class=\"muted\">Made by updater backtest at \(Show.time(Date())).</p>"
        return HTML.page(title: "Backtest: \(headline)", body: body)
    }

    /// The job's policy's actions under the chart.
    func tracks() -> [Chart.Track] {
        guard let job = replays.first else { return [] }
        var tracks: [Chart.Track] = []
        if !oracle.isEmpty {
            tracks.append(Chart.Track(name: "new concept", symbol: .bar, marks: oracle.map { (Double($0), "a new concept starts at batch \($0) (--oracle)") }))
        }
        tracks.append(Chart.Track(name: "change", symbol: .bar, marks: job.batches.filter(\.change).map { (Double($0.batch), "batch \($0.batch): \(job.label) confirmed a change of concept") }, guide: true))
        tracks.append(Chart.Track(name: "trained", symbol: .circle, marks: job.batches.filter { $0.candidateVersion != nil }.map {
            (Double($0.batch), "batch \($0.batch): \(job.label) trained v\($0.candidateVersion!) (\($0.decision ?? "?"), \($0.trainingRows) rows)")
        }))
        tracks.append(Chart.Track(name: "promoted", symbol: .triangleUp, marks: job.batches.filter { $0.outcome == "promoted" }.map {
            (Double($0.batch), "batch \($0.batch): v\($0.candidateVersion ?? 0) promoted")
        }))
        tracks.append(Chart.Track(name: "rejected", symbol: .cross, marks: job.batches.filter { $0.outcome == "rejected" }.map {
            (Double($0.batch), "batch \($0.batch): v\($0.candidateVersion ?? 0) rejected by the gate")
        }))
        return tracks.filter { !$0.marks.isEmpty }
    }
}
