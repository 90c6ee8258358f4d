import ArgumentParser
import Cycle
import Service
import Drift
import Evaluation
import Foundation
import Support
import JobFiles
import Registry

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every job: the version in production, the last run, pending data, job-file problems.",
        discussion: """
            Example:
              updater status
              updater status --json | jq '.jobs[] | select(.production_version == null)'
            """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag

    struct JobStatus: Encodable {
        var name: String
        var productionVersion: Int?
        var lastRun: RunRecord?
        var pendingBatches: Int
        var jobFile: String
        var jobFileProblems: [String]
        var deployPath: String?
        var paused: PauseRecord?
        /// Batches set aside after updater stopped while reading them: they wait for a person.
        var setAsideBatches = 0
        var rejectedBatches = 0
        /// Settled files in the incoming directory no cycle has registered yet.
        var waitingFiles = 0
        /// Files still being written, and files never read with why.
        var incoming: IncomingSurvey?
        /// What went wrong in the job's last cycle outside a run (a full disk, a promotion that
        /// cannot be completed), since when.
        var problem: String?
        /// The deploy command of the newest change of the published model (`[deploy] command`).
        var deployCommand: DeployHookRecord?
        /// Rows whose labels come later (jobs with data.id): the newest realized and estimated performance.
        var labels: LabelStatus?

        struct LabelStatus: Encodable {
            /// Logged rows still without a label (nil without data.id), labels kept for ids no batch has brought, and label
            /// files rejected (nothing of them applied).
            var awaiting: Int?
            var pendingLabels: Int
            var rejectedLabelFiles = 0
            /// The newest batch with labels that came later: production's realized performance on it.
            var realized: PredictionsCommand.BatchSummary?
            /// The newest batch with an estimate.
            var estimated: PredictionsCommand.BatchSummary?

            enum CodingKeys: String, CodingKey {
                case awaiting, realized, estimated
                case pendingLabels = "pending_labels", rejectedLabelFiles = "rejected_label_files"
            }

            /// "awaiting labels: 200 rows; realized accuracy 0.8612 on batch 2 (v1, 600 rows); estimated accuracy 0.87 (0.84–0.90) on batch 4"
            var line: String {
                var parts: [String] = awaiting.map { ["awaiting labels: \($0) row\($0 == 1 ? "" : "s")"] } ?? []
                if pendingLabels > 0 { parts.append("\(pendingLabels) label\(pendingLabels == 1 ? "" : "s") for ids not seen yet") }
                if rejectedLabelFiles > 0 {
                    parts.append("\(rejectedLabelFiles) label file\(rejectedLabelFiles == 1 ? "" : "s") rejected (updater batches shows why)")
                }
                if let r = realized, let v = r.realized.last {
                    parts.append("realized \(v.metric) \(String(format: "%.4f", v.value)) on batch \(r.batch) (v\(v.version), \(v.rows) rows)")
                }
                if let e = estimated, let m = e.estimate?.metrics.first {
                    parts.append("estimated \(m.metric) \(String(format: "%.4f", m.value)) (\(String(format: "%.4f", m.lower))–\(String(format: "%.4f", m.upper))) on batch \(e.batch)")
                }
                return parts.joined(separator: "; ")
            }
        }

        enum CodingKeys: String, CodingKey {
            case name, productionVersion = "production_version", lastRun = "last_run", pendingBatches = "pending_batches"
            case jobFile = "job_file", jobFileProblems = "job_file_problems", deployPath = "deploy_path", paused
            case setAsideBatches = "set_aside_batches", rejectedBatches = "rejected_batches", waitingFiles = "waiting_files"
            case problem, incoming, deployCommand = "deploy_command", labels
        }
    }

    func run() throws {
        // What needs a person: reported on stderr, and the exit status is 1.
        var attention: [String] = []
        var registry: Registry? = nil
        do {
            registry = try common.state.openExistingRegistry()
        } catch {
            attention.append("\(error)")
        }
        var statuses: [String: JobStatus] = [:]
        var configs: [String: JobConfig] = [:]
        if let files = try? JobSet.files(in: common.jobsDirectory) {
            for file in files {
                let name = JobSet.jobName(file: file)
                do {
                    let job = try JobFileDecoder.load(file)
                    statuses[name] = JobStatus(name: name, pendingBatches: 0, jobFile: file, jobFileProblems: [], deployPath: job.deploy.path)
                    configs[name] = job
                } catch {
                    statuses[name] = JobStatus(name: name, pendingBatches: 0, jobFile: file, jobFileProblems: error.problems.map(\.description))
                }
            }
        }
        if let registry {
            let records = try registry.jobs()
            // Run from another directory: a job's file where the registry last saw it.
            for record in records where statuses[record.name] == nil && common.jobs == nil {
                let file = common.jobFile(record.name, registry: registry)
                guard file == record.filePath, let job = try? JobFileDecoder.load(file) else { continue }
                statuses[record.name] = JobStatus(name: record.name, pendingBatches: 0, jobFile: file, jobFileProblems: [], deployPath: job.deploy.path)
                configs[record.name] = job
            }
            for record in records {
                var s = statuses[record.name] ?? JobStatus(
                    name: record.name, pendingBatches: 0, jobFile: record.filePath,
                    jobFileProblems: ["job file no longer in the jobs directory"])
                s.productionVersion = record.productionVersion
                s.lastRun = try registry.runs(of: record.name, limit: 1).first
                let batches = try registry.batches(of: record.name)
                s.pendingBatches = batches.filter { $0.status == .pending }.count
                s.setAsideBatches = batches.filter(\.setAside).count
                s.rejectedBatches = batches.filter { $0.status == .rejected && !$0.setAside }.count
                if s.setAsideBatches > 0 {
                    attention.append("\(record.name): \(s.setAsideBatches) batch(es) set aside after updater stopped while reading them (updater batches \(record.name); updater batches retry \(record.name) N)")
                }
                s.deployPath = s.deployPath ?? record.deployPath
                statuses[record.name] = s
            }
            for p in try registry.pauses() { statuses[p.job]?.paused = p }
            for (job, p) in try registry.cycleProblems() where statuses[job] != nil {
                statuses[job]?.problem = p.message
                attention.append("\(job): \(p.message) (since \(show(p.since)))")
            }
            // A deploy command that failed (a cycle's failure is already its problem).
            for (job, hook) in try registry.latestDeployHooks() where statuses[job] != nil {
                statuses[job]?.deployCommand = hook
                if hook.state == .failed, statuses[job]?.problem?.contains("deploy command") != true {
                    attention.append("\(job): the deploy command for v\(hook.version) failed (attempt \(hook.attempts)): \(hook.lastError ?? "") (log \(hook.logPath ?? "-")); the job's next cycle tries again")
                }
            }
            for (name, job) in configs {
                let summaries = try PredictionsCommand.summaries(job: name, registry: registry)
                let rejected = try registry.labelFiles(job: name).filter { $0.error != nil }.count
                guard job.data.id != nil || !summaries.isEmpty else { continue }
                statuses[name]?.labels = JobStatus.LabelStatus(
                    awaiting: job.data.id == nil ? nil : summaries.reduce(0) { $0 + $1.unlabelled - $1.labelledLater },
                    pendingLabels: try registry.pendingLabels(job: name), rejectedLabelFiles: rejected,
                    realized: summaries.last { !$0.realized.isEmpty }, estimated: summaries.last { $0.estimate != nil })
            }
            for (name, job) in configs {
                // Files that settled but were not registered (a full disk, say) wait: say how many.
                let survey = try? IncomingScanner.survey(job)
                statuses[name]?.incoming = survey
                statuses[name]?.waitingFiles = (survey?.settled ?? []).filter { path in
                    guard let st = Files.stamp(path) else { return false }
                    return (try? registry.isKnownFile(job: name, path: path, size: st.size, mtimeNs: st.mtimeNs)) != true
                }.count
            }
            for s in statuses.values.sorted(by: { $0.name < $1.name }) {
                if let run = s.lastRun, run.state == .failed {
                    attention.append("\(s.name): its last run \(run.number) failed: \(truncate(run.error ?? "", 200)) (updater runs \(s.name) --run \(run.number))")
                }
            }
            // A file the daemon found invalid keeps its last good version running there.
            for p in try registry.jobFileProblems() where statuses[p.job]?.jobFileProblems.isEmpty == false {
                statuses[p.job]?.jobFileProblems.append("the daemon keeps the last good version in force (invalid since \(show(p.since)))")
            }
        }
        let all = statuses.values.sorted { $0.name < $1.name }
        let webhooks = (try? WebhooksCommand.EndpointStatus.all(common, registry: registry)) ?? []
        for s in all where !s.jobFileProblems.isEmpty { attention.append("\(s.name): job file: \(s.jobFileProblems[0])") }
        for w in webhooks where w.disabled != nil || w.dead > 0 {
            attention.append("webhook \(w.name): " + (w.disabled != nil ? "disabled by its receiver" : "\(w.dead) dead deliveries"))
        }
        if output.json {
            struct Output: Encodable {
                var jobs: [JobStatus]
                var webhooks: [WebhooksCommand.EndpointStatus]
            }
            printJSON(Output(jobs: all, webhooks: webhooks))
            try report(attention)
            return
        }
        if all.isEmpty {
            print("no jobs in \(common.jobsDirectory) and no state in \(common.state.path)")
            try report(attention)
            return
        }
        print(table(
            ["JOB", "PRODUCTION", "LAST RUN", "STATE", "WHEN", "PENDING", "PAUSED", "JOB FILE"],
            all.map { s in
                [
                    s.name, s.productionVersion.map { "v\($0)" } ?? "-", s.lastRun.map { "\($0.number)" } ?? "-",
                    s.lastRun?.state.rawValue ?? "-", show(s.lastRun?.createdAt),
                    "\(s.pendingBatches)" + (s.waitingFiles > 0 ? " (+\(s.waitingFiles) waiting)" : "")
                        + ((s.incoming?.settling.count ?? 0) > 0 ? " (+\(s.incoming!.settling.count) settling)" : "")
                        + (s.setAsideBatches > 0 ? " (\(s.setAsideBatches) SET ASIDE)" : ""),
                    s.paused.map { "by \($0.actor)" } ?? "-",
                    s.jobFileProblems.isEmpty ? "ok" : "INVALID: " + truncate(s.jobFileProblems[0], 80),
                ]
            }))
        // Files in an incoming directory that are not read yet, or never: where they are and why.
        for s in all {
            if let settling = s.incoming?.settlingSummary { print("\(s.name): \(settling)") }
            if let labels = s.labels { print("\(s.name): \(labels.line)") }
            for skipped in s.incoming?.skipped ?? [] { print("\(s.name): \(skipped.path) \(skipped.reason): not read") }
        }
        // Webhook endpoints that need a person: disabled by their receiver, or with dead deliveries.
        for w in webhooks where w.disabled != nil || w.dead > 0 {
            var line = "webhook \(w.name): "
            if let off = w.disabled { line += "DISABLED since \(show(off.disabledAt)): \(off.reason) (updater webhooks enable \(w.name))" }
            if w.dead > 0 { line += (w.disabled == nil ? "" : "; ") + "\(w.dead) dead deliver\(w.dead == 1 ? "y" : "ies") (updater webhooks deliveries --failed)" }
            print(line)
        }
        try report(attention)
    }

    /// Prints what needs a person on stderr and exits 1 when there is anything.
    func report(_ attention: [String]) throws {
        guard !attention.isEmpty else { return }
        for line in attention { FileHandle.standardError.write(Data("updater: \(line)\n".utf8)) }
        throw ExitCode.failure
    }
}

struct VersionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "versions",
        abstract: "List a job's model versions with their gate status and metrics.",
        discussion: """
            Each version's metrics were measured on the evaluation rows of the run that made it: versions made from different batches are not compared on the same rows there. The gate's comparison of a candidate with production, on the same rows, is in `updater runs JOB --run N`.

            Example:
              updater versions churn
              updater versions churn --json
            """)

    @Argument(help: "The job.") var job: String
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag

    struct Entry: Encodable {
        var version: VersionRecord
        var inProduction: Bool
        var metrics: MetricSummary?
        /// The number, within the job, of the run that made it.
        var run: Int?

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(version.version, forKey: .version)
            try c.encode(version.status.rawValue, forKey: .status)
            try c.encode(inProduction, forKey: .inProduction)
            try c.encode(version.mode.rawValue, forKey: .mode)
            try c.encode(version.parentVersion, forKey: .parentVersion)
            try c.encode(version.generation, forKey: .generation)
            try c.encode(run, forKey: .run)
            try c.encode(version.trainingRows, forKey: .trainingRows)
            try c.encode(version.dataFingerprint, forKey: .dataFingerprint)
            try c.encode(version.jobFileHash, forKey: .jobFileHash)
            try c.encode(metrics, forKey: .metrics)
            try c.encode(version.artifactPath, forKey: .artifactPath)
            try c.encode(version.artifactSHA256, forKey: .artifactSHA256)
            try c.encode(version.createdAt, forKey: .createdAt)
            try c.encodeIfPresent(version.decisionThreshold, forKey: .decisionThreshold)
            try c.encodeIfPresent(version.trainerReport.flatMap(JSONValue.init(parsing:)), forKey: .trainerReport)
        }

        enum Keys: String, CodingKey {
            case version, status, inProduction = "in_production", mode, parentVersion = "parent_version", generation, run
            case trainingRows = "training_rows", dataFingerprint = "data_fingerprint", jobFileHash = "job_file_sha256"
            case metrics, artifactPath = "artifact_path", artifactSHA256 = "artifact_sha256", createdAt = "created_at"
            case decisionThreshold = "decision_threshold", trainerReport = "trainer_report"
        }
    }

    func run() throws {
        let name = try checkedJobName(job)
        let registry = try common.state.openExistingRegistry()
        guard let record = try registry.job(name) else { throw fail("unknown job \"\(name)\"") }
        let numbers = try registry.runNumbers(job: name)
        let entries = try registry.versions(of: name).map { v in
            Entry(
                version: v, inProduction: v.version == record.productionVersion,
                metrics: try? JSONDecoder().decode(MetricSummary.self, from: Data(v.metrics.utf8)), run: numbers[v.runID])
        }
        if output.json {
            printJSON(["job": AnyEncodable(name), "production_version": AnyEncodable(record.productionVersion), "versions": AnyEncodable(entries)])
            return
        }
        if entries.isEmpty {
            print("\(name): no versions yet")
            return
        }
        // The newest version's task chooses the metric columns.
        let headline = MetricSummary.headline(for: entries.last?.metrics?.task ?? .binary)
        print(table(
            ["VERSION", "STATUS", "MODE", "PARENT", "ROWS"] + headline.map { $0.rawValue.uppercased() } + ["CREATED", "SHA256"],
            entries.map { e in
                [
                    "v\(e.version.version)" + (e.inProduction ? " *" : ""), e.version.status.rawValue,
                    e.version.mode.rawValue, e.version.parentVersion.map { "v\($0)" } ?? "-", "\(e.version.trainingRows)",
                ] + headline.map { show(e.metrics?[$0]) } + [show(e.version.createdAt), String(e.version.artifactSHA256.prefix(12))]
            }))
        print("* in production. Each version's metrics are on its own run's evaluation rows, so they are not a")
        print("  comparison; the gate compared candidate and production on the same rows: updater runs \(name) --run N")
        // What external trainers said about their own versions (contract 2): shown, never gated on.
        for e in entries {
            guard let report = e.version.trainerReport else { continue }
            print("v\(e.version.version): the trainer reported \(report) (its own figures; the gate uses updater's)")
        }
    }
}

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List a job's runs, or show one run's drift report and gate decision.",
        discussion: """
            Example:
              updater runs churn
              updater runs churn --run 3
              updater runs churn --run 3 --json
            """)

    @Argument(help: "The job.") var job: String
    @Option(name: .customLong("run"), help: "Show this run (its number within the job) in detail.") var runNumber: Int?
    @Option(name: .long, help: "How many runs to list, newest first.") var limit: Int = 20
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag

    struct Detail: Encodable {
        var run: RunRecord
        var drift: DriftReport?
        /// Production's performance on each batch the run read, measured before anything trained on it.
        var served: [ServedBatchRecord]
        /// The change of concept the run suspected, confirmed or not.
        var change: ConceptChangeRecord?
        var gate: [GateResultRecord]
    }

    func run() throws {
        let name = try checkedJobName(job)
        let registry = try common.state.openExistingRegistry()
        guard try registry.job(name) != nil else { throw fail("unknown job \"\(name)\"") }
        if let number = runNumber {
            guard let r = try registry.run(job: name, number: number), let id = r.id else { throw fail("\(name) has no run \(number)") }
            let drift = r.driftReport.flatMap { try? JSONDecoder().decode(DriftReport.self, from: Data($0.utf8)) }
            let detail = Detail(
                run: r, drift: drift, served: try registry.servedBatches(run: id), change: try registry.conceptChange(run: id),
                gate: try registry.gateResults(run: id))
            if output.json {
                printJSON(detail)
                return
            }
            printDetail(detail)
            return
        }
        let runs = try registry.runs(of: name, limit: limit)
        if output.json {
            printJSON(runs)
            return
        }
        // What waits in the incoming directory, so "no runs yet" is not a mystery.
        let incoming = (try? JobFileDecoder.load(common.jobFile(name, registry: registry))).flatMap { try? IncomingScanner.survey($0) }
        defer {
            if let settling = incoming?.settlingSummary { print("\(name): \(settling)") }
            for skipped in incoming?.skipped ?? [] { print("\(name): \(skipped.path) \(skipped.reason): not read") }
        }
        if runs.isEmpty {
            print("\(name): no runs yet")
            return
        }
        print(table(
            ["RUN", "TRIGGER", "STATE", "DECISION", "VERSION", "STARTED", "SECONDS", "NOTE"],
            runs.map { r in
                let seconds = r.finishedAt.flatMap { f in r.startedAt.map { String(format: "%.1f", f.timeIntervalSince($0)) } }
                return [
                    "\(r.number)", r.trigger, r.state.rawValue, r.decision ?? "-",
                    r.candidateVersion.map { "v\($0)" } ?? "-", show(r.startedAt), seconds ?? "-",
                    truncate(r.error ?? r.reason ?? "", 90),
                ]
            }))
    }

    func printDetail(_ d: Detail) {
        let r = d.run
        print("run \(r.number) of \(r.job): \(r.state.rawValue)")
        print("  trigger:   \(r.trigger)")
        print("  started:   \(show(r.startedAt))   finished: \(show(r.finishedAt))")
        print("  decision:  \(r.decision ?? "-")")
        if let reason = r.reason { print("  reason:    \(reason)") }
        if let drift = d.drift { print("  drift:     \(drift.summary)") }
        if let v = r.candidateVersion { print("  candidate: v\(v)") }
        if let e = r.error { print("  error:     \(e)") }
        print("  job file:  sha256 \(r.jobFileHash.prefix(12))…")
        for s in d.served {
            print("  served:    batch \(s.batchID): production v\(s.version)'s \(s.metric) \(show(s.value)) on \(s.rows) rows\(s.restartsReference ? " (its reference starts again here)" : "")")
        }
        if let c = d.change {
            print("  change:    at batch \(c.batchID), \(c.state.rawValue == "confirmed" ? "confirmed: the candidate beat production on the rows after it" : "not confirmed: the candidate did not beat production; production stays")")
        }
        if let rows = r.trainingRows {
            print("  rows:      \(r.windowReason ?? "\(rows) rows")")
            print("  training:  \(rows) rows, seed \(r.seed.map(String.init) ?? "-"), window \(r.windowFingerprint?.prefix(12) ?? "-")…\(r.replayFingerprint.map { ", replay \($0.prefix(12))…" } ?? "")")
        }
        if let wall = r.wallSeconds {
            let memory = r.peakMemoryBytes.map { String(format: "%.0f MB", Double($0) / 1_048_576) } ?? "-"
            print("  cost:      \(String(format: "%.2f", wall)) s wall, \(String(format: "%.2f", r.cpuSeconds ?? 0)) s CPU, peak memory \(memory)")
        }
        if let by = r.cancelRequestedBy { print("  cancelled: requested by \(by) at \(show(r.cancelRequestedAt))") }
        if let drift = d.drift {
            print("\ndrift:")
            print(render(drift))
        }
        if let path = r.logPath, let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
            print("\nlog (\(path), last \(min(lines.count, 15)) of \(lines.count) lines):")
            for line in lines.suffix(15) { print("  \(line)") }
        }
        if !d.gate.isEmpty {
            print("\ngate:")
            print(table(
                ["RULE", "METRIC", "SLICE", "CANDIDATE", "PRODUCTION", "DIFFERENCE", "INTERVAL", "RESULT", "REASON"],
                d.gate.map { g in
                    var interval = "-"
                    if let l = g.lower, let u = g.upper { interval = "[\(show(l)), \(show(u))]" }
                    return [
                        "\(g.ruleIndex)", g.metric, g.slice ?? "-", show(g.candidate), show(g.baseline), show(g.difference),
                        interval, g.skipped ? "skipped" : g.passed ? "pass" : "FAIL", g.reason,
                    ]
                }))
        }
    }
}

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show which version held production when: every promotion and rollback.",
        discussion: """
            Example:
              updater history churn
            """)

    @Argument(help: "The job.") var job: String
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag

    func run() throws {
        let name = try checkedJobName(job)
        let registry = try common.state.openExistingRegistry()
        guard try registry.job(name) != nil else { throw fail("unknown job \"\(name)\"") }
        let events = try registry.history(of: name)
        let actions = try registry.batchActions(job: name)
        if output.json {
            printJSON(events.map(HistoryEntry.production) + actions.map(HistoryEntry.batch))
            return
        }
        if events.isEmpty && actions.isEmpty {
            print("\(name): nothing has been in production yet")
            return
        }
        // Production changes and people's batch actions, in time order.
        let rows: [(Date, [String])] = events.map {
            ($0.at, [show($0.at), $0.action.rawValue, $0.fromVersion.map { "v\($0)" } ?? "-", "v\($0.toVersion)", $0.actor, $0.reason])
        } + actions.map {
            ($0.at, [show($0.at), "batch \($0.action.rawValue)", "-", "batch \($0.batchID)", $0.actor, $0.reason ?? "-"])
        }
        print(table(["TIME", "ACTION", "FROM", "TO", "ACTOR", "REASON"], rows.sorted { $0.0 < $1.0 }.map(\.1)))
    }

    /// One line of the history: a change of production, or a person's action on a batch
    /// (`action` `batch_retry`, `batch_exclude`, `batch_include`).
    enum HistoryEntry: Encodable {
        case production(ProductionEvent)
        case batch(BatchActionRecord)

        func encode(to encoder: Encoder) throws {
            switch self {
            case .production(let e): try e.encode(to: encoder)
            case .batch(let a):
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode("batch_" + a.action.rawValue, forKey: .action)
                try c.encode(a.batchID, forKey: .batch)
                try c.encode(a.at, forKey: .at)
                try c.encode(a.actor, forKey: .actor)
                try c.encode(a.reason, forKey: .reason)
                try c.encode(a.job, forKey: .job)
            }
        }

        enum Keys: String, CodingKey { case action, batch, at, actor, reason, job }
    }
}

struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Put the previous (or a named) version back into production, now.",
        discussion: """
            Verifies the version's artifact by SHA-256, publishes it to the job's deploy path atomically and records the rollback in the production history, in one transaction. Safe while the daemon runs. Without --to, goes back to the version that was in production before the current one (so two rollbacks in a row swap back, as helm rollback does). Rolling back to the version already in production changes nothing and says so.

            Example:
              updater rollback churn --reason "v4 over-predicts churn in the north"
              updater rollback churn --to v2
            """)

    @Argument(help: "The job.") var job: String
    @Option(name: .long, help: "The version to put back, as 2 or v2 (default: the previous production version).")
    var to: VersionNumber?
    @Option(name: .long, help: "Why, for the audit record.") var reason: String?
    @OptionGroup var common: CommonOptions
    @OptionGroup var output: JSONFlag

    func run() throws {
        let name = try checkedJobName(job)
        let registry = try common.state.openExistingRegistry()
        let outcome: RollbackOutcome
        let config = jobConfig(name, registry: registry, common: common)
        do {
            outcome = try Rollback.perform(
                job: name, to: to?.value, reason: reason, actor: Rollback.currentActor(), registry: registry, deploy: config?.deploy)
        } catch {
            throw fail("rollback refused, nothing changed: \(error)")
        }
        if output.json {
            printJSON(outcome)
        } else if outcome.changed {
            print("\(name): production v\(outcome.from) → v\(outcome.to) (rollback recorded; \(outcome.deployPath) now holds v\(outcome.to))")
        } else {
            print("\(name): v\(outcome.to) is already in production; nothing changed")
        }
        try runDeployCommand(config, registry: registry, quiet: output.json)
    }
}

struct TriggerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger",
        abstract: "Ask for a run of a job now (picked up by the daemon or the next `updater run --once`).",
        discussion: """
            Without --full the run checks new data for drift as usual, right away; with --full it retrains from scratch on the training window even without drift.

            Example:
              updater trigger churn
              updater trigger churn --full
            """)

    @Argument(help: "The job.") var job: String
    @Flag(name: .long, help: "Retrain from scratch on the training window, drift or not.") var full = false
    @OptionGroup var common: CommonOptions

    func run() throws {
        let (name, registry) = try openForJob(job, common)
        let request = try registry.request(job: name, full: full, actor: Rollback.currentActor())
        let what = "\(name): \(full ? "full retrain" : "run") requested (request \(request.id ?? 0))"
        if let pid = StateLock.holder(of: common.state) {
            print("\(what); the daemon (pid \(pid)) picks it up within a second")
        } else {
            print("\(what); no daemon is running on \(common.state.path), so it waits for the next `updater run --once` or `updater run`")
        }
        // The request is kept either way, but a job whose file does not load is not run from it: a
        // daemon that loaded an earlier good version keeps that one (the scheduler's reload).
        if let problem = Self.problem(of: name, common) {
            let note = "\(name) does not run from this file until that is fixed (a running daemon keeps the last good version it loaded, if any); the request waits"
            FileHandle.standardError.write(Data("warning: \(problem)\nwarning: \(note)\n".utf8))
        }
    }

    /// Why the job would not run from the jobs directory: its file is missing, or does not load
    /// alone or beside the other jobs (`updater validate` says the same); nil when it runs.
    static func problem(of name: String, _ common: CommonOptions) -> String? {
        let file = common.jobFile(name)
        guard Files.exists(file) else { return "no \(file)" }
        guard let set = try? JobSet.load(directory: common.jobsDirectory) else { return nil }
        return set.invalid.first { $0.problems.contains { JobSet.jobName(file: $0.file) == name } }.map(\.description)
    }
}

/// Type-erased `Encodable`, for small JSON envelopes.
struct AnyEncodable: Encodable {
    let encodeValue: (Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { encodeValue = value.encode }
    func encode(to encoder: Encoder) throws { try encodeValue(encoder) }
}
