import Dispatch
import Foundation
import Logging
import Webhooks
import Cycle
import Support
import JobFiles
import Registry
import Synchronization
import Tabular

/// `updater run`: checks each job on its interval (and at once when `updater trigger` asked).
/// Jobs run side by side, one cycle per job at a time (a run that comes due while the job's
/// previous one is still going is coalesced into the next check); their trainings share the
/// training engine's limit. Paused jobs (`updater pause`) start no run. SIGHUP reloads the job
/// files (``requestReload()``); SIGTERM or SIGINT stop scheduling, stop the trainings in progress
/// (their runs are marked interrupted and retried after a restart) and wait for the cycles to end.
/// Under systemd the loop reports readiness, reloads, its status and watchdog pings through
/// ``SystemdNotifier``.
package final class RunLoop: Sendable {
    let cycle: UpdateCycle
    /// Where the job files are read from on reload; nil: the jobs given are fixed.
    let jobsDirectory: String?
    let notifier: SystemdNotifier
    private let jobs: Mutex<[JobConfig]>
    let stopRequested = Atomic<Bool>(false)
    let reloadRequested = Atomic<Bool>(false)
    private let running = Mutex<Set<String>>([])
    private let lastError = Mutex<String?>(nil)

    /// On SIGTERM, how long runs in progress may go on before their trainings are stopped.
    let stopGrace: TimeInterval
    /// Delivers the webhook outbox; the global webhooks file (re-read on SIGHUP), if there is one.
    let webhooks: WebhookDispatcher
    let webhooksFile: WebhookFile

    package init(
        cycle: UpdateCycle, jobs: JobSet, jobsDirectory: String? = nil, notifier: SystemdNotifier = SystemdNotifier(),
        stopGrace: TimeInterval = 30, webhooksFile: WebhookFile = .none
    ) {
        self.cycle = cycle
        self.stopGrace = stopGrace
        self.jobs = Mutex(jobs.jobs)
        self.jobsDirectory = jobsDirectory
        self.notifier = notifier
        self.webhooksFile = webhooksFile
        webhooks = WebhookDispatcher(registry: cycle.registry, log: cycle.log)
        recordProblems(jobs.invalid)
        configureWebhooks()
    }

    /// The jobs in force.
    package var currentJobs: [JobConfig] { jobs.withLock { $0 } }

    /// Runs one cycle of every job that is not paused, side by side, and returns when all are done.
    @discardableResult
    package func runOnce() -> [CycleOutcome] {
        let paused = pausedJobs()
        let outcomes = parallelMap(currentJobs) { [cycle] job in
            if let p = paused[job.name] {
                return CycleOutcome(job: job.name, kind: .paused, runID: nil, version: nil, message: Self.describe(p))
            }
            return cycle.run(job)
        }
        webhooks.deliverDue()
        return outcomes
    }

    /// Stops scheduling; runs in progress get ``stopGrace`` to finish before their trainings are
    /// stopped (``run()`` returns when all have ended).
    package func stop() {
        stopRequested.store(true, ordering: .relaxed)
    }

    /// Asks the loop to read the job files again (SIGHUP); it does so within a second.
    package func requestReload() {
        reloadRequested.store(true, ordering: .relaxed)
    }

    /// After a failed cycle, a job waits this long before a pending request can start it again
    /// (its schedule still applies), so a persistent problem is not retried every second.
    package static let retryDelay: TimeInterval = 60

    /// Runs until ``stop()``; returns once the cycles in progress have ended.
    package func run() {
        let due = Mutex<[String: Date]>([:])
        let retryAfter = Mutex<[String: Date]>([:])
        var lastStart: [String: Date] = [:]
        let log = cycle.log
        let group = DispatchGroup()
        let initial = currentJobs
        log.info("watching \(initial.count) job\(initial.count == 1 ? "" : "s"): \(initial.map(\.name).joined(separator: ", ")); up to \(cycle.engine.concurrency) training\(cycle.engine.concurrency == 1 ? "" : "s") at once")
        let watcher = IncomingWatcher()
        defer { watcher.stop() }
        webhooks.start()
        defer { webhooks.stop() }
        watchIncoming(watcher)
        // Interval jobs run at start; cron jobs at their next time.
        let start = Date()
        for job in initial where job.schedule.cron != nil { due.withLock { $0[job.name] = job.schedule.next(after: start) } }
        var status = self.status(paused: [:])
        notifier.send(["READY": "1", "STATUS": status])
        var lastPing = Date.distantPast
        var wasPaused = Set<String>()
        while !stopRequested.load(ordering: .relaxed) {
            if reloadRequested.exchange(false, ordering: .relaxed) {
                let before = Dictionary(currentJobs.map { ($0.name, $0.schedule) }, uniquingKeysWith: { a, _ in a })
                reload()
                watchIncoming(watcher)
                // A job whose schedule changed is due by its new one.
                for job in currentJobs where before[job.name] != job.schedule {
                    due.withLock { $0[job.name] = job.schedule.cron == nil ? nil : job.schedule.next(after: Date()) }
                }
            }
            let now = Date()
            let requests = (try? cycle.registry.jobsWithPendingRequests()) ?? []
            let paused = pausedJobs()
            for name in Set(paused.keys).subtracting(wasPaused).sorted() { log.scoped(job: name).info("paused (\(Self.describe(paused[name]!)))") }
            for name in wasPaused.subtracting(paused.keys).sorted() { log.scoped(job: name).info("resumed") }
            wasPaused = Set(paused.keys)
            for job in currentJobs where !stopRequested.load(ordering: .relaxed) && paused[job.name] == nil {
                let requested = requests.contains(job.name)
                let backingOff = now < retryAfter.withLock { $0[job.name, default: .distantPast] }
                let scheduled = now >= due.withLock { $0[job.name, default: .distantPast] }
                // New files, quiet for the debounce (and settled), since this job's last run began.
                var newFiles = false
                if job.schedule.onNewData, let changed = watcher.lastChange(job.name), changed > lastStart[job.name, default: .distantPast] {
                    newFiles = now.timeIntervalSince(changed) >= max(job.schedule.debounce, job.data.settleSeconds)
                }
                guard scheduled || newFiles || (requested && !backingOff) else { continue }
                let started = running.withLock { $0.insert(job.name).inserted }
                guard started else { continue }  // still running: coalesced
                lastStart[job.name] = now
                DispatchQueue.global().async(group: group) { [self] in
                    let outcome = cycle.run(job)
                    // The next scheduled check: schedule.interval after this cycle ended, or the cron time.
                    let end = Date()
                    due.withLock { $0[job.name] = job.schedule.next(after: end) }
                    retryAfter.withLock { $0[job.name] = outcome.kind == .failed ? end.addingTimeInterval(Self.retryDelay) : nil }
                    if outcome.kind == .failed { lastError.withLock { $0 = "\(job.name): \(outcome.message)" } }
                    self.running.withLock { _ = $0.remove(job.name) }
                }
            }
            let next = self.status(paused: paused)
            if next != status {
                status = next
                notifier.send(["STATUS": status])
            }
            // The watchdog is fed from this loop itself (also while it waits for the next turn), so a
            // hung loop gets the process restarted.
            for tick in 0..<10 where !stopRequested.load(ordering: .relaxed) && !reloadRequested.load(ordering: .relaxed) {
                if tick > 0 { usleep(100_000) }
                if let interval = notifier.watchdogInterval, Date().timeIntervalSince(lastPing) >= interval / 4 {
                    notifier.send(["WATCHDOG": "1"])
                    lastPing = Date()
                }
            }
        }
        let inProgress = running.withLock { $0.sorted() }
        notifier.send(["STOPPING": "1", "STATUS": "stopping: \(inProgress.count) run(s) in progress"])
        if !inProgress.isEmpty {
            log.info("stopping: \(inProgress.joined(separator: ", ")) may finish within \(formatSeconds(stopGrace))")
        }
        if group.wait(timeout: .now() + stopGrace) == .timedOut {
            // Trainings (external trainers' process groups included) stop; their runs are marked
            // interrupted and their batches retried after a restart.
            log.warning("stopping: grace period over; stopping the trainings of \(running.withLock { $0.sorted() }.joined(separator: ", "))")
            cycle.engine.shutdown()
            group.wait()
        }
        log.info("stopped")
    }

    /// Reads the job files again: added jobs start, removed ones get no new run (a run in progress
    /// finishes), changed ones take effect at their next run, and a file that no longer validates
    /// keeps its last good version in force, its problems logged and shown by `updater status`.
    func reload() {
        guard let directory = jobsDirectory else { return }
        let log = cycle.log
        notifier.reloading()
        defer { notifier.send(["READY": "1", "STATUS": status(paused: pausedJobs())]) }
        let set: JobSet
        do {
            set = try JobSet.load(directory: directory)
        } catch {
            log.error("reload: \(error); the jobs in force are kept")
            return
        }
        let before = Dictionary(currentJobs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var next = set.jobs
        for bad in set.invalid {
            for p in bad.problems { log.error("invalid job file: \(p)") }
            guard let file = bad.problems.first?.file else { continue }
            let name = JobSet.jobName(file: file)
            if let good = before[name], !next.contains(where: { $0.name == name }) {
                next.append(good)
                log.scoped(job: name).warning("\(file) no longer validates; its last good version stays in force")
            }
        }
        let after = Dictionary(next.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let added = after.keys.filter { before[$0] == nil }.sorted()
        let removed = before.keys.filter { after[$0] == nil }.sorted()
        let changed = after.keys.filter { before[$0] != nil && before[$0]!.fileHash != after[$0]!.fileHash }.sorted()
        jobs.withLock { $0 = next.sorted { $0.name < $1.name } }
        recordProblems(set.invalid)
        configureWebhooks()
        let summary = "reloaded \(directory): \(next.count) job\(next.count == 1 ? "" : "s")"
            + (added.isEmpty ? "" : "; added \(added.joined(separator: ", "))")
            + (removed.isEmpty ? "" : "; removed \(removed.joined(separator: ", ")) (a run in progress finishes)")
            + (changed.isEmpty ? "" : "; changed \(changed.joined(separator: ", ")) (from their next run)")
        log.info("\(summary)")
    }

    /// Reads the global webhooks file (if any) and sets the endpoints in force; a file that does not
    /// validate keeps the last good one in force.
    func configureWebhooks() {
        do {
            webhooks.configure(settings: try webhooksFile.load(), jobEndpoints: currentJobs.flatMap(\.webhooks))
        } catch {
            for line in "\(error)".split(separator: "\n") { cycle.log.error("invalid webhooks file: \(line)") }
            cycle.log.warning("webhooks: \(webhooksFile.path ?? "") does not validate; the last good version stays in force (none yet: events wait in the outbox)")
            webhooks.configure(settings: nil, jobEndpoints: currentJobs.flatMap(\.webhooks))
        }
    }

    /// Watches the incoming directories of the jobs with `schedule.on_new_data`.
    func watchIncoming(_ watcher: IncomingWatcher) {
        let jobs = Dictionary(currentJobs.filter(\.schedule.onNewData).map { ($0.name, $0.data.incoming) }, uniquingKeysWith: { a, _ in a })
        for dir in watcher.watch(jobs) {
            cycle.log.warning("\(dir): inotify cannot watch it; polling it every \(Int(watcher.pollInterval)) s")
        }
    }

    /// Records the job files that do not validate, for `updater status`.
    func recordProblems(_ invalid: [JobFileError]) {
        let now = Date()
        let records = invalid.compactMap { bad -> JobFileProblemRecord? in
            guard let file = bad.problems.first?.file else { return nil }
            return JobFileProblemRecord(
                job: JobSet.jobName(file: file), file: file,
                message: bad.problems.map { $0.description }.joined(separator: "\n"), since: now)
        }
        do {
            try cycle.registry.setJobFileProblems(records)
        } catch {
            cycle.log.error("cannot record the job files' problems: \(error)")
        }
    }

    func pausedJobs() -> [String: PauseRecord] {
        Dictionary(((try? cycle.registry.pauses()) ?? []).map { ($0.job, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The one-line STATUS for systemd: jobs, running, paused, the last error.
    func status(paused: [String: PauseRecord]) -> String {
        let all = currentJobs.map(\.name)
        let pausedCount = all.filter { paused[$0] != nil }.count
        var text = "\(all.count) job\(all.count == 1 ? "" : "s"), \(running.withLock { $0.count }) running"
        if pausedCount > 0 { text += ", \(pausedCount) paused" }
        if let error = lastError.withLock({ $0 }) { text += "; last error: \(error.prefix(200))" }
        return text
    }

    static func describe(_ p: PauseRecord) -> String {
        "paused by \(p.actor) at \(ISO8601DateFormatter().string(from: p.pausedAt))" + (p.reason.map { ": \($0)" } ?? "")
    }
}

