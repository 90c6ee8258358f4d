import Foundation
import Logging
import Support
import Registry
import ServiceLifecycle
import Synchronization

/// Delivers the outbox: a fan-out thread turns each new event into a pending delivery per endpoint
/// that wants it, and each endpoint has its own thread and libcurl handle sending its due
/// deliveries, oldest first, so a slow or dead receiver delays only itself, never the update cycles
/// (which only write rows) or the other endpoints. Everything is in the registry, so deliveries
/// waiting for a retry when updater stops are sent after it starts again, with the same id.
///
/// A failed attempt is retried after the settings' `retry_schedule` (plus up to 20 % jitter, so
/// that many deliveries failing together do not retry together), or after `Retry-After` when the
/// receiver asks for longer; after the last one the delivery is dead, and kept. 410 Gone disables
/// the endpoint until `updater webhooks enable`.
///
/// Nothing polls: the fan-out thread wakes when this process commits an event and on ``wake()``
/// (the daemon calls it when another process wrote the registry: an event of `updater rollback`, a
/// redelivery), and each endpoint's thread sleeps until its next due delivery or a wake-up. As a
/// `Service` it delivers until the daemon shuts down.
package final class WebhookDispatcher: Service, Sendable {
    let registry: Registry
    let log: Logger
    private struct Config: Sendable {
        var endpoints: [String: WebhookEndpoint] = [:]
        var retry = RetryPolicy()
        var keepDelivered: Double = WebhookSettings().keepDelivered
        /// False while the global webhooks file has never been read successfully: events wait in the
        /// outbox rather than being fanned out without its endpoints.
        var ready = false
    }
    private let config = Mutex(Config())
    private let workers = Mutex<[String: Worker]>([:])
    private let stopped = Atomic<Bool>(false)
    private let fanOutThreadStarted = Atomic<Bool>(false)

    package init(registry: Registry, log: Logger) {
        self.registry = registry
        self.log = log
    }

    /// Sets the endpoints in force (the global ones, and each job's own): threads start for new
    /// endpoints and stop for removed ones. `settings` nil: the global file is invalid; the last good
    /// settings stay in force (none yet: events wait).
    package func configure(settings: WebhookSettings?, jobEndpoints: [WebhookEndpoint]) {
        let names: [String] = config.withLock { c in
            let global = settings?.endpoints ?? c.endpoints.values.filter { $0.job == nil }
            if let settings {
                c.retry = RetryPolicy(schedule: settings.retrySchedule)
                c.keepDelivered = settings.keepDelivered
                c.ready = true
            }
            c.endpoints = Dictionary((global + jobEndpoints).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            return c.endpoints.keys.sorted()
        }
        guard fanOutThreadStarted.load(ordering: .relaxed) else { return }
        startWorkers(names)
    }

    /// The endpoints in force.
    package var endpoints: [WebhookEndpoint] { config.withLock { $0.endpoints.values.sorted { $0.name < $1.name } } }

    /// Starts delivering in the background until ``stop()``.
    package func start() {
        guard !fanOutThreadStarted.exchange(true, ordering: .relaxed) else { return }
        startWorkers(config.withLock { $0.endpoints.keys.sorted() })
        let thread = Thread { [self] in
            var lastPrune = Date.distantPast
            var backoff: TimeInterval = 1
            while !stopped.load(ordering: .relaxed) {
                if Date().timeIntervalSince(lastPrune) >= 3600 {
                    prune()
                    lastPrune = Date()
                }
                // Woken when an event is committed (here, or by another process: ``wake()``); hourly
                // for pruning. While the registry cannot be written, again after a back-off (up to
                // a minute).
                var wait = max(1, 3600 - Date().timeIntervalSince(lastPrune))
                if fanOut() { backoff = 1 } else {
                    wait = backoff
                    backoff = min(backoff * 2, 60)
                }
                _ = registry.outboxCommitted.wait(timeout: .now() + wait)
            }
        }
        thread.name = "webhooks fan-out"
        thread.start()
    }

    /// The registry was written by another process: new events to fan out, redeliveries, an
    /// endpoint enabled again.
    package func wake() {
        registry.outboxCommitted.signal()
        workers.withLock { $0.values.forEach { $0.wake() } }
    }

    /// Delivers until the service group shuts down gracefully (or is cancelled).
    package func run() async throws {
        start()
        try? await gracefulShutdown()
        // Waiting for the attempts in progress blocks: not on the cooperative pool.
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { [self] in
                stop()
                c.resume()
            }
        }
    }

    /// Stops the threads, waiting up to 2 s for attempts in progress to end and be recorded; one
    /// still in flight then is not recorded, so it is made again after a restart (same id).
    package func stop() {
        stopped.store(true, ordering: .relaxed)
        let all = workers.withLock { Array($0.values) }
        all.forEach { $0.stop() }
        let deadline = DispatchTime.now() + 2
        for w in all { w.waitUntilExited(deadline: deadline) }
    }

    /// For `updater run --once`: fans out, then sends every due delivery once (endpoints side by
    /// side; an endpoint that fails is left after its first failure, so a dead receiver costs one
    /// timeout); what failed or was left waits for the next `updater run`.
    package func deliverDue() {
        prune()
        fanOut()
        let group = DispatchGroup()
        for e in endpoints {
            DispatchQueue.global().async(group: group) { [self] in
                guard let sender = try? WebhookSender() else { return }
                // Due deliveries come 100 at a time; a bound, in case records cannot be written.
                for _ in 0..<1000 {
                    guard case .sent = sendDue(e, sender: sender, leaveAfterFailure: true) else { break }
                }
            }
        }
        group.wait()
    }

    // MARK: Internals

    /// Deletes delivered events older than `keep_delivered` (hourly), so that the outbox does not
    /// grow without bound.
    func prune() {
        let (ready, keep) = config.withLock { ($0.ready, $0.keepDelivered) }
        guard ready else { return }  // not before keep_delivered is known
        do {
            let n = try registry.pruneDeliveredEvents(before: Date().addingTimeInterval(-keep))
            if n > 0 { log.info("webhooks: deleted \(n) delivered event\(n == 1 ? "" : "s") older than \(formatSeconds(keep))") }
        } catch {
            log.error("webhooks: cannot delete old delivered events: \(error)")
        }
    }

    /// Makes the deliveries of new events; false when the registry could not be read or written.
    @discardableResult
    func fanOut() -> Bool {
        let c = config.withLock { $0 }
        guard c.ready else { return true }
        let endpoints = Array(c.endpoints.values)
        do {
            guard try registry.hasUnfannedEvents() else { return true }
            try registry.fanOut { event in endpoints.filter { $0.wants(type: event.type, job: event.job) }.map(\.name) }
            workers.withLock { $0.values.forEach { $0.wake() } }
            return true
        } catch {
            log.error("webhooks: cannot fan out new events (retried): \(error)")
            return false
        }
    }

    /// One thread per endpoint: an endpoint removed keeps its thread until its attempt in progress
    /// ends, and one configured again meanwhile keeps that same thread, so two threads never send
    /// an endpoint's deliveries.
    private func startWorkers(_ names: [String]) {
        workers.withLock { w in
            for (name, worker) in w where !names.contains(name) { worker.stop() }
            for name in names where !stopped.load(ordering: .relaxed) {
                if let existing = w[name], existing.resume() { continue }
                let worker = Worker()
                w[name] = worker
                let thread = Thread { [self] in work(name, worker) }
                thread.name = "webhooks \(name)"
                thread.start()
            }
        }
    }

    private func work(_ name: String, _ worker: Worker) {
        guard let sender = try? WebhookSender() else {
            log.error("webhooks: \(name): cannot initialise libcurl")
            _ = worker.goOn(stopped: true)
            return
        }
        var backoff: TimeInterval = 1
        while worker.goOn(stopped: stopped.load(ordering: .relaxed)) {
            // Removed: startWorkers stops this thread (or keeps it, if configured again meanwhile).
            guard let endpoint = config.withLock({ $0.endpoints[name] }) else {
                worker.wait(seconds: 60)
                continue
            }
            switch sendDue(endpoint, sender: sender, until: { worker.isStopping || self.stopped.load(ordering: .relaxed) }) {
            case .sent, .leftAfterFailure:
                backoff = 1
            case .disabled:
                worker.wait(seconds: 1)
            case .error:
                // The registry cannot be read or written (a full disk, a long lock): wait, and longer
                // each time, rather than send the same deliveries again and again.
                worker.wait(seconds: backoff)
                backoff = min(backoff * 2, 300)
            case .idle:
                backoff = 1
                // Until the next retry is due, or a wake-up (new deliveries, a redelivery).
                let next = (try? registry.nextDue(endpoint: name)) ?? nil
                worker.wait(seconds: max(0.01, min(next.map { $0.timeIntervalSinceNow } ?? 3600, 3600)))
            }
        }
    }

    enum Pass {
        /// Nothing was due.
        case idle
        /// The endpoint is disabled (410 Gone) until `updater webhooks enable`.
        case disabled
        /// The due deliveries were attempted and recorded.
        case sent
        /// `leaveAfterFailure`: an attempt failed and the rest were left.
        case leftAfterFailure
        /// The registry could not be read or written.
        case error
    }

    /// Sends `endpoint`'s due deliveries (up to 100), oldest first. Attempts are recorded in groups
    /// (up to 50, within 0.1 s, and at once after a failure) so that the database is not the
    /// bottleneck of a backlog; one made but not yet recorded when updater dies is made again.
    func sendDue(
        _ endpoint: WebhookEndpoint, sender: WebhookSender, leaveAfterFailure: Bool = false, until stop: () -> Bool = { false }
    ) -> Pass {
        guard !isDisabled(endpoint.name) else { return .disabled }
        var batch: [(DeliveryAttempt, Logger.Level, String)] = []
        var batchStart = Date()
        func flush() throws {
            try registry.record(batch.map(\.0))
            // Logged once recorded, so that the log never shows what the database does not.
            for (_, level, line) in batch { log.log(level: level, "\(line)") }
            batch.removeAll()
        }
        do {
            let due = try registry.dueDeliveries(endpoint: endpoint.name)
            for d in due {
                if stop() { break }
                if !batch.isEmpty, Date().timeIntervalSince(batchStart) >= 0.1 { try flush() }
                let attempt = sender.send(d.event, to: endpoint)
                if batch.isEmpty { batchStart = Date() }
                batch.append(outcome(attempt, d, endpoint))
                if attempt.gone {
                    try flush()
                    let reason = "the receiver answered 410 Gone at \(WebhookEventRecord.timestamp(attempt.at))"
                    try registry.disableEndpoint(endpoint.name, reason: reason, now: attempt.at)
                    log.warning("webhooks: \(endpoint.name) disabled: \(reason); its deliveries wait until `updater webhooks enable \(endpoint.name)`")
                    break
                }
                if !attempt.delivered || batch.count >= 50 { try flush() }
                if leaveAfterFailure && !attempt.delivered { return .leftAfterFailure }
            }
            try flush()
            return due.isEmpty ? .idle : .sent
        } catch {
            log.error("webhooks: \(endpoint.name): cannot record deliveries (retried later): \(error)")
            return .error
        }
    }

    func isDisabled(_ name: String) -> Bool {
        ((try? registry.disabledEndpoints()) ?? [:])[name] != nil
    }

    /// What an attempt means for its delivery (delivered, retried when, or dead), and its log line.
    func outcome(_ attempt: WebhookSender.Attempt, _ d: WebhookDelivery, _ endpoint: WebhookEndpoint) -> (DeliveryAttempt, Logger.Level, String) {
        let id = d.delivery.id!
        let number = d.delivery.attempts + 1
        func what() -> String { "\(d.event.type) \(d.event.id) (delivery \(id)) to \(endpoint.name)" }
        if attempt.delivered {
            // The hot path: its line is only built when debug lines are printed.
            let line = log.logLevel <= .debug
                ? "webhooks: delivered \(what()), attempt \(number), HTTP \(attempt.status ?? 0) in \(String(format: "%.3f", attempt.seconds)) s" : ""
            return (
                DeliveryAttempt(delivery: id, attemptsBefore: d.delivery.attempts, at: attempt.at, status: attempt.status, error: nil, delivered: true, retryAt: nil), .debug,
                line)
        }
        let error = attempt.error ?? "failed"
        let retry = config.withLock { $0.retry }
        // From the end of the attempt (a timeout took its time).
        let retryAt = retry.retry(afterAttempt: number, retryAfter: attempt.retryAfter, gone: attempt.gone)
        let record = DeliveryAttempt(delivery: id, attemptsBefore: d.delivery.attempts, at: attempt.at, status: attempt.status, error: error, delivered: false, retryAt: retryAt)
        if attempt.gone { return (record, .error, "webhooks: \(what()) is dead: \(error) (410 Gone)") }
        if let retryAt {
            return (record, .warning, "webhooks: \(what()) failed (attempt \(number) of \(retry.attempts)): \(error); retry at \(WebhookEventRecord.timestamp(retryAt))")
        }
        return (record, .error, "webhooks: \(what()) is dead after \(number) attempts: \(error); `updater webhooks redeliver \(id)` sends it again")
    }

    /// A worker thread's state (running, asked to stop, exited) and wake-up signal.
    final class Worker: Sendable {
        enum State { case running, stopping, exited }
        private let state = Mutex(State.running)
        private let semaphore = DispatchSemaphore(value: 0)
        private let exited = DispatchSemaphore(value: 0)

        var isStopping: Bool { state.withLock { $0 != .running } }

        func stop() {
            state.withLock { if $0 == .running { $0 = .stopping } }
            semaphore.signal()
        }

        /// Keeps the thread for an endpoint configured again; false when it has already exited.
        func resume() -> Bool {
            state.withLock { s in
                if s == .exited { return false }
                s = .running
                return true
            }
        }

        /// Called by the thread before each pass: false (and the thread is marked exited) when it
        /// must stop.
        func goOn(stopped: Bool) -> Bool {
            let (go, justExited) = state.withLock { s -> (Bool, Bool) in
                switch s {
                case .running where !stopped: return (true, false)
                case .exited: return (false, false)
                default:
                    s = .exited
                    return (false, true)
                }
            }
            if justExited { exited.signal() }
            return go
        }

        func waitUntilExited(deadline: DispatchTime) {
            if state.withLock({ $0 == .exited }) { return }
            _ = exited.wait(timeout: deadline)
        }

        func wake() { semaphore.signal() }
        func wait(seconds: TimeInterval) { _ = semaphore.wait(timeout: .now() + seconds) }
    }
}
