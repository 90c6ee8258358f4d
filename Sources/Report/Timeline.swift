import Foundation
import Registry

/// A job's history drawn: production's served metric over time, the versions trained and every
/// change of production (promotions, rollbacks, forced promotions), then the same as tables.
package struct Timeline: Sendable {
    package var job: String
    package var production: Int?
    package var versions: [VersionRecord]
    package var history: [ProductionEvent]
    /// Production's measured metric on every batch it served.
    package var servedAll: [ServedBatchRecord]
    /// Run ids to their numbers within the job (versions record their run's id).
    package var runNumbers: [Int64: Int]

    package static func load(_ registry: Registry, job: JobRecord) throws -> Timeline {
        Timeline(
            job: job.name, production: job.productionVersion, versions: try registry.versions(of: job.name),
            history: try registry.history(of: job.name), servedAll: try registry.servedBatches(job: job.name),
            runNumbers: try registry.runNumbers(job: job.name))
    }

    package func html(runLink: ((Int) -> String)? = nil) -> String {
        var out = ""
        let metric = servedAll.first?.metric
        let series = metric.map { m in
            [Chart.Series(name: "served \(metricName(m))", points: servedAll.map { ($0.at.timeIntervalSince1970, $0.value) })]
        } ?? []
        let tracks = [
            Chart.Track(name: "trained", symbol: .circle, marks: versions.filter { $0.status == .passed }.map { ($0.createdAt.timeIntervalSince1970, "v\($0.version) trained, passed the gate") }),
            Chart.Track(name: "rejected", symbol: .cross, marks: versions.filter { $0.status == .rejected }.map { ($0.createdAt.timeIntervalSince1970, "v\($0.version) rejected by the gate") }),
            Chart.Track(name: "promoted", symbol: .triangleUp, marks: history.filter { $0.action == .promote }.map { ($0.at.timeIntervalSince1970, "v\($0.toVersion) promoted") }),
            Chart.Track(name: "rolled back", symbol: .triangleDown, marks: history.filter { $0.action == .rollback }.map { ($0.at.timeIntervalSince1970, "rolled back to v\($0.toVersion) by \($0.actor)") }),
            Chart.Track(name: "forced", symbol: .diamond, marks: history.filter { $0.action == .forced }.map { ($0.at.timeIntervalSince1970, "v\($0.toVersion) forced by \($0.actor)") }),
        ].filter { !$0.marks.isEmpty }
        if series.isEmpty && tracks.isEmpty { return out + "<p class=\"muted\">Nothing has happened yet.</p>\n" }
        out += "<p>" + (metric.map { "Production's \(metricName($0)) on each batch it served (measured before anything trained on it), " } ?? "")
            + "with the versions trained and every change of production below it (time in UTC).</p>\n"
        out += Chart.lines(series, tracks: tracks, xLabel: "time (UTC)", yLabel: metric.map(metricName) ?? "", timeAxis: true,
                           label: "Timeline of \(job): served metric, versions, promotions and rollbacks") + "\n"
        if !history.isEmpty {
            out += HTML.table(["Time", "Action", "From", "To", "By", "Why"], history.reversed().map { e in
                [Show.time(e.at), e.action.rawValue, e.fromVersion.map { "v\($0)" } ?? "–", "v\(e.toVersion)", HTML.escape(e.actor), HTML.escape(e.reason)]
            }, caption: "Changes of production, newest first")
        }
        let numbers = runNumbers
        out += HTML.table(["Version", "Trained", "Mode", "Rows", "Gate", "Run"], versions.reversed().map { v in
            let number = numbers[v.runID]
            let run = number.map { n in runLink.map { HTML.link($0(n), "run \(n)") } ?? "run \(n)" } ?? "–"
            return ["v\(v.version)" + (v.version == production ? " " + HTML.tag("production", .good) : ""), Show.time(v.createdAt),
                    v.mode.rawValue, "\(v.trainingRows)", v.status == .passed ? "passed" : "rejected", run]
        }, numeric: [3], caption: "Versions, newest first")
        return out
    }
}
