import Foundation
import Registry

/// The daemon's read-only pages, rendered on the server from the registry on each request: the
/// jobs, one job (versions, runs, changes of production), one run (its report) and the webhook
/// deliveries. No script, no form, nothing written: every page is a GET of what the CLI shows.
package struct Dashboard: Sendable {
    let registry: Registry

    package init(registry: Registry) { self.registry = registry }

    static let nav: [(href: String, text: String)] = [("/", "Jobs"), ("/webhooks", "Webhooks"), ("/metrics", "Metrics (Prometheus)")]

    package static func jobPath(_ job: String) -> String { "/jobs/\(job)" }
    package static func runPath(_ job: String, _ number: Int) -> String { "/jobs/\(job)/runs/\(number)" }

    /// `/`: every job with its production version, last run, pending data and problems.
    package func jobsPage(now: Date = Date()) throws -> String {
        let jobs = try registry.jobs()
        let figures = Dictionary(uniqueKeysWithValues: try registry.figures().map { ($0.job, $0) })
        let pauses = Dictionary(uniqueKeysWithValues: try registry.pauses().map { ($0.job, $0) })
        let cycleProblems = try registry.cycleProblems()
        let fileProblems = Dictionary(grouping: try registry.jobFileProblems(), by: \.job)
        var needAttention = 0
        let rows = try jobs.map { job -> [String] in
            let last = try registry.runs(of: job.name, limit: 1).first
            let batches = figures[job.name]?.batches ?? [:]
            var problems: [String] = []
            if let p = cycleProblems[job.name] { problems.append("\(p.message) (since \(Show.time(p.since)))") }
            for p in fileProblems[job.name] ?? [] { problems.append("job file invalid: \(p.message)") }
            if let r = last, r.state == .failed { problems.append("last run failed: \(r.error ?? "")") }
            if let n = batches["set_aside"], n > 0 { problems.append("\(n) batch\(n == 1 ? "" : "es") set aside (updater batches \(job.name))") }
            if !problems.isEmpty { needAttention += 1 }
            let run = last.map { r in
                HTML.link(Self.runPath(job.name, r.number), "run \(r.number)") + " " + stateTag(r.state) + " <span class=\"muted\">\(Show.time(r.createdAt))</span>"
            } ?? "<span class=\"muted\">no runs yet</span>"
            return [
                HTML.link(Self.jobPath(job.name), job.name), job.productionVersion.map { "v\($0)" } ?? "none", run,
                HTML.escape(last?.decision ?? "–"), "\(batches["pending"] ?? 0)", pauses[job.name].map { "paused by " + HTML.escape($0.actor) } ?? "–",
                problems.isEmpty ? HTML.tag("ok", .good) : HTML.tag("needs a person", .bad) + "<ul>" + problems.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>",
            ]
        }
        var body = "<h1>\(jobs.count) job\(jobs.count == 1 ? "" : "s")" + (needAttention > 0 ? ", \(needAttention) need\(needAttention == 1 ? "s" : "") a person" : ", all well") + "</h1>\n"
        body += "<p class=\"sub\">Read from the registry at \(Show.time(now)). Read-only: change things with the updater command.</p>\n"
        body += jobs.isEmpty ? "<p class=\"muted\">No job has run yet.</p>" : HTML.table(
            ["Job", "Production", "Last run", "Decision", "Pending batches", "Paused", "Problems"], rows, numeric: [4])
        return HTML.page(title: "updater: jobs", nav: Self.nav, body: body)
    }

    /// `/jobs/NAME`: the job's timeline, versions, runs and changes of production; nil: no such job.
    package func jobPage(_ name: String) throws -> String? {
        guard let job = try registry.job(name) else { return nil }
        let runs = try registry.runs(of: name, limit: 100)
        var body = "<h1>\(HTML.escape(name)): " + (job.productionVersion.map { "v\($0) in production" } ?? "nothing in production yet") + "</h1>\n"
        body += "<p class=\"sub\">Job file \(HTML.escape(job.filePath)); publishes to \(HTML.escape(job.deployPath)).</p>\n"
        body += "<h2>Runs</h2>\n"
        body += runs.isEmpty ? "<p class=\"muted\">No runs yet.</p>\n" : HTML.table(
            ["Run", "Trigger", "State", "Decision", "Candidate", "Started", "Seconds", "Note"],
            runs.map { r in
                let seconds = r.finishedAt.flatMap { f in r.startedAt.map { String(format: "%.1f", f.timeIntervalSince($0)) } } ?? "–"
                return [HTML.link(Self.runPath(name, r.number), "run \(r.number)"), HTML.escape(r.trigger), stateTag(r.state), HTML.escape(r.decision ?? "–"),
                        r.candidateVersion.map { "v\($0)" } ?? "–", Show.time(r.startedAt), seconds, HTML.escape(String((r.error ?? r.reason ?? "").prefix(160)))]
            }, numeric: [6], caption: runs.count == 100 ? "The newest 100 runs" : nil)
        body += "<h2>Timeline</h2>\n" + (try Timeline.load(registry, job: job)).html { Self.runPath(name, $0) }
        return HTML.page(title: "updater: \(name)", nav: Self.nav + [(Self.jobPath(name), name)], body: body)
    }

    /// `/jobs/NAME/runs/N`: the run's report; nil: no such job or run.
    package func runPage(_ name: String, _ number: Int) throws -> String? {
        guard try registry.job(name) != nil, try registry.run(job: name, number: number) != nil else { return nil }
        let report = try RunReport.load(registry, job: name, run: number)
        return HTML.page(title: "\(name) run \(number): \(report.headline)", nav: Self.nav + [(Self.jobPath(name), name)],
                         body: report.body { Self.runPath(name, $0) })
    }

    /// `/webhooks`: each endpoint's deliveries and the newest deliveries (never an endpoint's URL,
    /// which can hold a secret).
    package func webhooksPage() throws -> String {
        let endpoints = try registry.endpointFigures()
        let deliveries = try registry.deliveries(limit: 100)
        let troubled = endpoints.filter { $0.disabled || $0.dead > 0 }.count
        var body = "<h1>Webhooks: \(endpoints.count) endpoint\(endpoints.count == 1 ? "" : "s") with deliveries"
            + (troubled > 0 ? ", \(troubled) need\(troubled == 1 ? "s" : "") a person" : "") + "</h1>\n"
        body += endpoints.isEmpty ? "<p class=\"muted\">No delivery yet.</p>\n" : HTML.table(
            ["Endpoint", "Pending", "Retrying", "Dead", "State"],
            endpoints.map { e in
                [HTML.escape(e.endpoint), "\(e.pending)", "\(e.retrying)", "\(e.dead)",
                 e.disabled ? HTML.tag("disabled by its receiver", .bad) : e.dead > 0 ? HTML.tag("dead deliveries", .warn) : HTML.tag("ok", .good)]
            }, numeric: [1, 2, 3])
        if !deliveries.isEmpty {
            body += "<h2>Newest deliveries</h2>\n" + HTML.table(
                ["Delivery", "Event", "Job", "Endpoint", "State", "Attempts", "Last status", "Last error", "Created", "Delivered or next try"],
                deliveries.map { d in
                    let r = d.delivery
                    let state = r.state == .delivered ? HTML.tag("delivered", .good) : r.state == .dead ? HTML.tag("dead", .bad) : HTML.tag("pending", .warn)
                    return ["\(r.id ?? 0)", HTML.escape(d.event.type), d.event.job.map { HTML.link(Self.jobPath($0), $0) } ?? "–", HTML.escape(r.endpoint), state,
                            "\(r.attempts)", r.lastStatus.map(String.init) ?? "–", HTML.escape(r.lastError ?? ""), Show.time(r.createdAt),
                            Show.time(r.deliveredAt ?? r.nextAttemptAt)]
                }, numeric: [5, 6], caption: "Newest first; redeliver with updater webhooks redeliver ID")
        }
        return HTML.page(title: "updater: webhooks", nav: Self.nav, body: body)
    }

    func stateTag(_ s: RunRecord.State) -> String {
        switch s {
        case .succeeded: HTML.tag("succeeded", .good)
        case .rejected: HTML.tag("rejected", .warn)
        case .failed, .interrupted: HTML.tag(s.rawValue, .bad)
        case .queued, .running: HTML.tag(s.rawValue, .muted)
        }
    }
}
