import Foundation
import Testing

/// The dashboard and the HTML reports, loaded in a real browser: Debian's `chromium`, headless,
/// driven by scripts/browser/check_pages.py over its DevTools protocol. A page fails on any console
/// error, browser error (a Content-Security-Policy violation, a resource that did not load), failed
/// request, HTTP error, a width over 1280 px, or a page that cannot be printed. Screenshots and
/// printed PDFs are kept in .build/test-output/browser/ for a person to look at.
@Suite("Dashboard and reports in headless Chromium")
struct DashboardTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct PageCheck: Decodable {
        var url: String
        var status: Int?
        var title: String?
        var problems: [String]
        var screenshot: String
        var pdf: String?
    }

    /// Loads `urls` in Chromium; one result per page.
    func browse(_ urls: [String], as name: String, token: String? = nil) throws -> [PageCheck] {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        try #require(chromium != nil, "chromium is not installed: scripts/install-deps.sh installs it (apt-get install chromium)")
        let out = Self.repo.appendingPathComponent(".build/test-output/browser/\(name)").path
        try? FileManager.default.removeItem(atPath: out)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.repo.appendingPathComponent("scripts/browser/check_pages.py").path, "--out", out, "--chromium", chromium!]
            + (token.map { ["--token", $0] } ?? []) + urls
        let r = try Workspace.collect(p)
        try #require(r.status == 0, "check_pages.py failed (pip install websocket-client): \(r.stderr)")
        return try r.stdout.split(separator: "\n").map { try JSONDecoder().decode(PageCheck.self, from: Data($0.utf8)) }
    }

    func get(_ url: String, method: String = "GET", headers: Bool = false) throws -> (status: Int, body: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["curl", "-s", "-X", method, "-w", "\n%{http_code}"] + (headers ? ["-D", "-", "-o", "/dev/null"] : []) + [url]
        let r = try Workspace.collect(p)
        var lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let code = Int(lines.popLast() ?? "") ?? 0
        return (code, lines.joined(separator: "\n"))
    }

    /// A job with history: v1 promoted, a drifted batch, a candidate the gate rejects, a rollback.
    @discardableResult
    func jobWithHistory(in given: Workspace? = nil) throws -> Workspace {
        let ws = try given ?? Workspace()
        try ws.addJob("churn")
        try ws.write(Synthetic.csv(rows: 1500, seed: 1), to: "incoming/churn/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        try ws.write(Synthetic.csv(rows: 1500, seed: 2, shift: 1.2), to: "incoming/churn/b2.csv")
        _ = try ws.run(["run", "--once"])
        try ws.write(Synthetic.csv(rows: 1500, seed: 3, scramble: true), to: "incoming/churn/b3.csv")
        _ = try ws.run(["run", "--once"])
        return ws
    }

    @Test("updater report writes one file that Chromium shows without an error, and prints as well")
    func report() throws {
        let ws = try jobWithHistory()
        var urls: [String] = []
        for run in 1...3 {
            let path = ws.root + "/run\(run).html"
            let r = try ws.run(["report", "churn", "--run", "\(run)", "--output", path])
            #expect(r.status == 0, "\(r.output)")
            #expect(r.stdout.hasPrefix("churn run \(run): "))
            urls.append("file://" + path)
        }
        let third = try String(contentsOfFile: ws.root + "/run3.html", encoding: .utf8)
        #expect(third.contains("<svg"), "the distributions are drawn")
        // What a person reads before approving a change, in order: the decision, the concept-drift
        // evidence, the features, label and prediction drift, the gate, the timeline.
        let headings = ["The decision", "Concept drift: production's performance", "Feature drift", "Label and prediction drift", "The gate", "The job's timeline"]
        let positions = headings.compactMap { third.range(of: "<h2>\($0)</h2>")?.lowerBound }
        let absent = headings.filter { !third.contains("<h2>\($0)</h2>") }
        #expect(absent.isEmpty && positions == positions.sorted(), "missing: \(absent)")
        // Run 3's new labels are scrambled: production's accuracy on them, tested, is the evidence.
        #expect(third.contains("Production's accuracy went from ") && third.contains("<th scope=\"col\">p-value (one-sided)</th>"))
        #expect(third.contains("<h3>y <span class=\"muted\">categorical</span>") && third.contains("<h3>prediction <span class=\"muted\">"),
                "the label's and the predictions' drift, each drawn")
        // The gate's table: rule, metric, slice, both values, their difference and its interval, per rule.
        let columns = ["Rule", "Metric", "Slice", "Candidate", "Production", "Difference", "Interval", "Result", "Why"]
        let header = "<thead><tr>" + columns.map { "<th scope=\"col\">\($0)</th>" }.joined() + "</tr></thead>"
        #expect(third.contains(header))
        #expect(third.contains("<td>0: ≥ 0.75</td><td>ROC-AUC</td><td>all rows</td>"), "the default gate's first rule")
        #expect(third.contains("<td>1: ≥ 0.65</td><td>accuracy</td><td>all rows</td>"), "and its second")
        // The timeline: production's served accuracy, the versions and the changes of production.
        #expect(third.contains("aria-label=\"Timeline of churn: served metric, versions, promotions and rollbacks\""))
        #expect(third.contains("<p>Production's accuracy on each batch it served"))
        #expect(third.contains("<title>v1 promoted</title>") && third.contains(" rejected by the gate</title>"))
        #expect(third.contains("Changes of production, newest first</caption>") && third.contains("Versions, newest first</caption>"))
        #expect(third.contains("<td>rejected</td><td>run 3</td>"), "run 3's candidate, rejected, in the versions table")
        #expect(!third.contains("<script") && !third.contains("http-equiv=\"refresh\""))
        let pages = try browse(urls, as: "report")
        #expect(pages.count == 3)
        for page in pages {
            #expect(page.problems.isEmpty, "\(page.url): \(page.problems)")
            #expect(page.title?.hasPrefix("churn run ") == true)
            #expect(page.pdf != nil)
            #expect(FileManager.default.fileExists(atPath: page.screenshot))
        }
        // Bad input: a run that does not exist, a job that does not exist.
        let missing = try ws.run(["report", "churn", "--run", "99", "--output", ws.root + "/x.html"])
        #expect(missing.status == 1 && missing.stderr.contains("churn has no run 99"), "\(missing.output)")
        #expect(!FileManager.default.fileExists(atPath: ws.root + "/x.html"))
        let unknown = try ws.run(["report", "nope", "--output", ws.root + "/x.html"])
        #expect(unknown.status == 1 && unknown.stderr.contains("unknown job \"nope\""), "\(unknown.output)")
    }

    @Test("backtest --report draws the replay, and Chromium shows it without an error")
    func backtestReport() throws {
        let ws = try Workspace()
        try ws.addJob("churn")
        let history = ws.root + "/history"
        try FileManager.default.createDirectory(atPath: history, withIntermediateDirectories: true)
        for i in 1...6 {
            try Synthetic.csv(rows: 800, seed: UInt64(i), scramble: i >= 4).write(toFile: history + "/b\(i).csv", atomically: true, encoding: .utf8)
        }
        let path = ws.root + "/replay.html"
        let r = try ws.run(["backtest", "churn", "--jobs", ws.jobs, "--batches", history, "--oracle", "4", "--report", path], global: false)
        #expect(r.status == 0, "\(r.output)")
        let html = try String(contentsOfFile: path, encoding: .utf8)
        #expect(html.contains("ROC-AUC per batch") && html.contains(">new concept</text>"))
        let pages = try browse(["file://" + path], as: "backtest")
        #expect(pages.first?.problems.isEmpty == true, "\(pages)")
        #expect(pages.first?.title?.hasPrefix("Backtest: churn kept a mean accuracy of ") == true, "\(pages)")
    }

    @Test("the daemon's pages: linked, read-only, with a strict Content-Security-Policy, and clean in Chromium")
    func dashboard() throws {
        let ws = try Workspace()
        // An endpoint nobody listens on: its deliveries die, and the webhooks page shows them,
        // never its URL (which can hold a secret).
        try ws.addWebhooks([(name: "ops", url: "http://127.0.0.1:9/hook/SECRET-PATH")], schedule: #"["1s"]"#)
        try jobWithHistory(in: ws)
        #expect(try ws.run(["rollback", "churn", "--reason", "test"]).status == 0)
        let daemon = try DaemonProcess(ws, notify: nil)
        defer { _ = daemon.stop() }
        let metrics = try #require(daemon.metricsURL(), "\(daemon.log)")
        let base = String(metrics.dropLast("/metrics".count))
        let (status, jobs) = try get(base + "/")
        #expect(status == 200)
        #expect(jobs.contains("href=\"/jobs/churn\""), "the jobs page links to the job")
        let job = try get(base + "/jobs/churn")
        #expect(job.status == 200 && job.body.contains("href=\"/jobs/churn/runs/3\""), "the job page links to its runs")
        let headers = try get(base + "/jobs/churn/runs/3", headers: true).body.lowercased()
        #expect(headers.contains("content-security-policy: default-src 'none'; style-src 'sha256-"), "\(headers)")
        #expect(headers.contains("frame-ancestors 'none'") && headers.contains("x-content-type-options: nosniff"))
        #expect(try get(base + "/jobs/nope").status == 404)
        #expect(try get(base + "/jobs/churn/runs/99").status == 404)
        #expect(try get(base + "/jobs/churn/runs/x").status == 404)
        #expect(try get(base + "/jobs/churn", method: "POST").status == 405, "nothing is written through the dashboard")
        #expect(try get(base + "/", method: "DELETE").status == 405)
        let deadline = Date().addingTimeInterval(30)
        var webhooks = ""
        while Date() < deadline {
            webhooks = try get(base + "/webhooks").body
            if webhooks.contains(">dead</span>") { break }
            usleep(200_000)
        }
        #expect(webhooks.contains(">dead</span>") && webhooks.contains("dead deliveries"), "\(webhooks)")
        #expect(!webhooks.contains("SECRET-PATH") && !jobs.contains("SECRET-PATH"), "an endpoint's URL is never shown")
        let pages = try browse(
            [base + "/", base + "/jobs/churn", base + "/jobs/churn/runs/1", base + "/jobs/churn/runs/2", base + "/jobs/churn/runs/3", base + "/webhooks"],
            as: "dashboard")
        #expect(pages.count == 6)
        for page in pages {
            #expect(page.status == 200, "\(page.url)")
            #expect(page.problems.isEmpty, "\(page.url): \(page.problems)")
        }
        #expect(pages[0].title == "updater: jobs")
    }

    @Test("the browser check fails a page with a console error, a blocked resource or a failed request")
    func catchesProblems() throws {
        let ws = try Workspace()
        let bad = ws.root + "/bad.html"
        try """
            <!DOCTYPE html><html><head><title>bad</title>
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'"></head>
            <body><img src="http://127.0.0.1:9/x.png" alt=""><script>console.error("broken")</script></body></html>
            """.write(toFile: bad, atomically: true, encoding: .utf8)
        let pages = try browse(["file://" + bad], as: "negative")
        let problems = pages.first?.problems ?? []
        #expect(problems.contains { $0.contains("console error: broken") }, "\(problems)")
        #expect(problems.contains { $0.contains("Content Security Policy") && $0.contains("127.0.0.1:9/x.png") }, "\(problems)")
    }

    @Test("with a token, pages need it too; the browser sends it and sees them")
    func token() throws {
        let ws = try jobWithHistory()
        try "page-token\n".write(toFile: ws.root + "/token", atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(ws, notify: nil, arguments: ["--metrics-listen", "127.0.0.1:0", "--metrics-token-file", ws.root + "/token"])
        defer { _ = daemon.stop() }
        let base = String(try #require(daemon.metricsURL(), "\(daemon.log)").dropLast("/metrics".count))
        #expect(try get(base + "/").status == 401)
        #expect(try get(base + "/jobs/churn/runs/1").status == 401)
        let pages = try browse([base + "/jobs/churn"], as: "token", token: "page-token")
        #expect(pages.first?.status == 200 && pages.first?.problems.isEmpty == true, "\(pages)")
    }
}
