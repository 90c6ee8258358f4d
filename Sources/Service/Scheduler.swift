import Cycle
import Foundation
import JobFiles
import Logging
import Registry
import ServiceLifecycle
import Support
import Synchronization
import Tabular
import Webhooks

/// `updater run`'s scheduler, a `Service`: checks each job on its schedule, when new files settle
/// in its incoming directory (`schedule.on_new_data`) and at once when `updater trigger` asked.
/// Jobs run side by side on the ``CyclePool``, one cycle per job at a time (a run that comes due
/// while the job's previous one is still going is coalesced into the next check); their trainings
/// share the training engine's limit. Paused jobs (`updater pause`) start no run. SIGHUP reloads
/// the job files (``requestReload()``).
///
/// It sleeps until the next event: a job coming due, files settling, the registry written by
/// another process (a trigger, a pause), a cycle ending, a reload, a watchdog ping. On graceful
/// shutdown (SIGTERM, SIGINT) it stops scheduling and waits for the cycles in progress; when the
/// service group's grace (`--stop-grace`) is over and it is cancelled, the trainings in progress
/// stop (their runs are marked interrupted and retried after a restart). Under systemd it reports
/// readiness, reloads, its status and watchdog pings through ``SystemdNotifier``.
package final class Scheduler: Service, Sendable {
    let cycle: UpdateCycle
    /// Where the job files are read from on reload; nil: the jobs given are fixed.
    let jobsDirectory: String?
    let notifier: SystemdNotifier
    /// Delivers the webhook outbox; the global webhooks file (re-read on SIGHUP), if there is one.
    let webhooks: WebhookDispatcher
    let webhooksFile: WebhookFile
    let watcher: IncomingWatcher
    let pool: CyclePool
    private let jobs: Mutex<[JobConfig]>
    private let stopRequested = Atomic<Bool>(false)
    private let reloadRequested = Atomic<Bool>(false)
    private let running = Mutex<Set<String>>([])
    private let lastError = Mutex<String?>(nil)
    private let wakeup = Wakeup()
    /// Per job: when the next scheduled check is due, and until when a failed job's requests wait.
    private let due = Mutex<[String: Date]>([:])
    private let retryAfter = Mutex<[String: Date]>([:])

    /// The longest the loop sleeps without looking at the registry and the jobs again.
    static let resyncInterval: TimeInterval = 30

    /// After a failed cycle, a job waits this long before a pending request can start it again
    /// (its schedule still applies), so a persistent problem is not retried every second.
    package static let retryDelay: TimeInterval = 60

    /// On SIGTERM, how long runs in progress may go on before their trainings are stopped: the
    /// service group's graceful-shutdown duration (`--stop-grace`), used here for the log line.
    let stopGrace: TimeInterval

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
        watcher = IncomingWatcher()
        // Cycles mostly read files and the registry; trainings are bounded by the engine anyway.
        pool = CyclePool(threads: max(4, cycle.engine.concurrency * 2))
        recordProblems(jobs.invalid)
        configureWebhooks()
    }

    /// The jobs in force.
    package var currentJobs: [JobConfig] { jobs.withLock { $0 } }

    /// Runs one cycle of every job that is not paused, side by side, and returns when all are done
    /// (`updater run --once`); then makes each due webhook delivery once.
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

    /// Asks the scheduler to read the job files again (SIGHUP).
    package func requestReload() {
        reloadRequested.store(true, ordering: .relaxed)
        wakeup.signal()
    }

    /// The state directory was deleted, moved or replaced under the daemon: it stops, and exits
    /// non-zero so that systemd starts it again on the directory as it now is.
    package struct StateDirectoryGone: Error, CustomStringConvertible {
        package var description: String
    }

    /// The device and inode of the state directory and of its lock file, as the daemon started.
    func stateIdentity() -> [UInt64] {
        [cycle.state.path, cycle.state.path + "/lock"].flatMap { path -> [UInt64] in
            var st = stat()
            guard stat(path, &st) == 0 else { return [0, 0] }
            return [UInt64(st.st_dev), UInt64(st.st_ino)]
        }
    }

    package func run() async throws {
        let log = cycle.log
        let identity = stateIdentity()
        var gone: String? = nil
        let initial = currentJobs
        log.info("watching \(initial.count) job\(initial.count == 1 ? "" : "s"): \(initial.map(\.name).joined(separator: ", ")); up to \(cycle.engine.concurrency) training\(cycle.engine.concurrency == 1 ? "" : "s") at once")
        watcher.onChange = { [wakeup, webhooks] change in
            wakeup.signal()
            // Another process may have written events or redeliveries: the dispatcher looks.
            if case .registry = change { webhooks.wake() }
        }
        watcher.watchRegistry(in: cycle.state.path)
        watchIncoming()
        // Interval jobs run at start; cron jobs at their next time.
        let start = Date()
        for job in initial where job.schedule.cron != nil { due.withLock { $0[job.name] = job.schedule.next(after: start) } }
        var status = self.status(paused: [:])
        notifier.send(["READY": "1", "STATUS": status])
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                await withGracefulShutdownHandler {
                    var lastPing = Date.distantPast
                    var wasPaused = Set<String>()
                    var heldRequests = Set<String>()
                    while !stopRequested.load(ordering: .relaxed) && !Task.isCancelled {
                        if stateIdentity() != identity {
                            gone = "the state directory \(cycle.state.path) was deleted, moved or replaced while updater ran; stopping (systemd starts updater again on it as it is now)"
                            log.error("\(gone!)")
                            break
                        }
                        if reloadRequested.exchange(false, ordering: .relaxed) { reloadAndReschedule() }
                        let now = Date()
                        let paused = pausedJobs()
                        let requested = (try? cycle.registry.jobsWithPendingRequests()) ?? []
                        for name in Set(paused.keys).subtracting(wasPaused).sorted() { log.scoped(job: name).info("paused (\(Self.describe(paused[name]!)))") }
                        for name in wasPaused.subtracting(paused.keys).sorted() { log.scoped(job: name).info("resumed") }
                        wasPaused = Set(paused.keys)
                        // A request for a paused job waits; say so once per request.
                        for name in requested.intersection(paused.keys).subtracting(heldRequests).sorted() {
                            log.scoped(job: name).info("paused: its trigger request waits until updater resume")
                        }
                        heldRequests = requested.intersection(paused.keys)
                        var next = Date.distantFuture
                        for job in currentJobs where paused[job.name] == nil {
                            switch readiness(job, requested: requested.contains(job.name), now: now) {
                            case .start:
                                guard running.withLock({ $0.insert(job.name).inserted }) else { continue }  // still running: coalesced
                                started.withLock { $0[job.name] = now }
                                group.addTask { await self.runCycle(job) }
                            case .at(let time):
                                next = min(next, time)
                            }
                        }
                        let current = self.status(paused: paused)
                        if current != status {
                            status = current
                            notifier.send(["STATUS": status])
                        }
                        // The watchdog is fed from this loop itself, so a hung loop gets the process restarted.
                        if let interval = notifier.watchdogInterval {
                            if Date().timeIntervalSince(lastPing) >= interval / 4 {
                                notifier.send(["WATCHDOG": "1"])
                                lastPing = Date()
                            }
                            next = min(next, lastPing.addingTimeInterval(interval / 4))
                        }
                        // Events wake the loop (files, the registry, reloads, ends of cycles); it also
                        // looks again every resync interval, so that a change whose notification never
                        // came (an overflowed inotify queue, a writer whose commit made no event) waits
                        // seconds, not until the next schedule.
                        let wait = min(next.timeIntervalSinceNow, Self.resyncInterval)
                        if wait > 0 {
                            await wakeup.wait(timeout: .milliseconds(Int64((wait * 1000).rounded(.up))))
                        }
                    }
                } onGracefulShutdown: { [self] in
                    stopRequested.store(true, ordering: .relaxed)
                    wakeup.signal()
                }
                let inProgress = running.withLock { $0.sorted() }
                notifier.send(["STOPPING": "1", "STATUS": "stopping: \(inProgress.count) run(s) in progress"])
                if !inProgress.isEmpty { log.info("stopping: \(inProgress.joined(separator: ", ")) may finish within \(formatSeconds(stopGrace))") }
                // The group waits for the cycles in progress to end.
            }
        } onCancel: { [self] in
            // The service group's grace (--stop-grace) is over: the trainings in progress (external
            // trainers' process groups included) stop; their runs are marked interrupted and their
            // batches retried after a restart.
            let inProgress = running.withLock { $0.sorted() }
            if !inProgress.isEmpty { log.warning("stopping: grace period over; stopping the trainings of \(inProgress.joined(separator: ", "))") }
            cycle.engine.shutdown()
        }
        pool.shutdown()
        if let gone { throw StateDirectoryGone(description: gone) }
        log.info("stopped")
    }

    enum Readiness {
        case start
        /// Not yet; due at this time (a schedule, a settling file, the end of a back-off), or at an
        /// event (new files, a request) before.
        case at(Date)
    }

    /// Whether `job` should run now (`requested`: a trigger waits for it), or when it will.
    func readiness(_ job: JobConfig, requested: Bool, now: Date) -> Readiness {
        let backingOff = retryAfter.withLock { $0[job.name] }.map { now < $0 } ?? false
        let scheduled = due.withLock { $0[job.name] } ?? .distantPast
        if now >= scheduled || (requested && !backingOff) { return .start }
        var next = scheduled
        if requested, let until = retryAfter.withLock({ $0[job.name] }) { next = min(next, until) }
        // New files, quiet for the debounce (and settled), since this job's last run began.
        if job.schedule.onNewData, let changed = watcher.lastChange(job.name), changed > lastStart(job.name) {
            let settled = changed.addingTimeInterval(max(job.schedule.debounce, job.data.settleSeconds))
            if now >= settled { return .start }
            next = min(next, settled)
        }
        return .at(next)
    }

    private let started = Mutex<[String: Date]>([:])
    private func lastStart(_ job: String) -> Date { started.withLock { $0[job] } ?? .distantPast }

    /// One cycle of `job` on the pool; then its next scheduled check, and a back-off after a failure.
    func runCycle(_ job: JobConfig) async {
        let outcome = await pool.run { [cycle] in cycle.run(job) }
        // The next scheduled check: schedule.interval after this cycle ended, or the cron time.
        let end = Date()
        // A file still settling during the cycle: looked at again once it is readable.
        due.withLock { $0[job.name] = min(job.schedule.next(after: end), outcome.settlingUntil.map { max($0, end) } ?? .distantFuture) }
        retryAfter.withLock { $0[job.name] = outcome.kind == .failed ? end.addingTimeInterval(Self.retryDelay) : nil }
        if outcome.kind == .failed { lastError.withLock { $0 = "\(job.name): \(outcome.message)" } }
        running.withLock { _ = $0.remove(job.name) }
        wakeup.signal()
    }

    /// Reads the job files again; a job whose schedule changed is due by its new one.
    func reloadAndReschedule() {
        let before = Dictionary(currentJobs.map { ($0.name, $0.schedule) }, uniquingKeysWith: { a, _ in a })
        reload()
        watchIncoming()
        for job in currentJobs where before[job.name] != job.schedule {
            due.withLock { $0[job.name] = job.schedule.cron == nil ? nil : job.schedule.next(after: Date()) }
        }
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

    /// Watches the incoming directories (and labels directories) of the jobs with `schedule.on_new_data`.
    func watchIncoming() {
        let jobs = Dictionary(
            currentJobs.filter(\.schedule.onNewData).map { ($0.name, [$0.data.incoming] + ($0.data.labels.map { [$0] } ?? [])) },
            uniquingKeysWith: { a, _ in a })
        for dir in watcher.watch(directories: jobs) {
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

    /// Logged for each paused job when the daemon starts: the time by hand (``UTCTime``, the same
    /// text as `ISO8601DateFormatter`, which would load ICU into the daemon).
    static func describe(_ p: PauseRecord) -> String {
        let at = UTCTime(p.pausedAt)?.iso8601 ?? ISO8601DateFormatter().string(from: p.pausedAt)
        return "paused by \(p.actor) at \(at)" + (p.reason.map { ": \($0)" } ?? "")
    }
}
