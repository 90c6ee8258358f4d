import Foundation
import JobFiles
import Logging
import Registry
import Support
import Trainers

/// One update cycle of one job: register new batches → check them against production → decide →
/// train → judge the candidate and production on the same rows → gate → promote or reject
/// (docs/cycle.md). Before that, the deploy file is made to hold production again and a promotion
/// an earlier run could not finish is completed.
///
/// Nothing here throws to the caller: every failure is recorded on the run and logged, and the
/// caller goes on with the other jobs.
package struct UpdateCycle: Sendable {
    package let registry: Registry
    package let state: StateDirectory
    /// The daemon's log; each job's lines carry its name (and run) as metadata.
    package var log: Logger
    /// The training engine every job of this daemon trains through.
    package let engine: TrainingEngine
    /// Who promotions are attributed to in the production history.
    package var actor = "updater"
    package var clock: WallClock = .system
    /// Where the crash tests stop the daemon; nowhere otherwise.
    package var checkpoints: Checkpoints = .none
    /// `updater backtest`: one of the reference policies instead of the job's.
    package var reference: ReferencePolicy? = nil

    package init(registry: Registry, state: StateDirectory, log: Logger, engine: TrainingEngine = TrainingEngine()) {
        self.registry = registry
        self.state = state
        self.log = log
        self.engine = engine
    }

    package func run(_ job: JobConfig) -> CycleOutcome {
        let log = self.log.scoped(job: job.name)
        var outcome = cycle(job, log: log)
        // What failed outside a run is recorded for `updater status` until a cycle goes through,
        // and makes the cycle a failure (so `updater run --once` exits 1).
        let problem = outcome.problem ?? (outcome.kind == .failed && outcome.runID == nil ? outcome.message : nil)
        try? registry.setCycleProblem(job: job.name, message: problem, now: clock.now())
        if let extra = outcome.problem, outcome.kind != .failed {
            outcome = CycleOutcome(job: job.name, kind: .failed, runID: outcome.runID, version: outcome.version, message: "\(outcome.message); \(extra)")
        }
        return outcome
    }

    func cycle(_ job: JobConfig, log: Logger) -> CycleOutcome {
        var problems: [String] = []
        do {
            try registry.upsertJob(name: job.name, filePath: absolutePath(job.file), fileHash: job.fileHash, deployPath: job.deploy.path, deployFormats: job.deploy.formats.map(\.rawValue).joined(separator: ","), now: clock.now())
            if let p = repairDeployFile(job, log: log) { problems.append(p) }
            if let p = resumeInterruptedPromotion(job, log: log) { problems.append(p) }
            for b in try registry.retryRejectedUnderEarlierJobFile(job: job.name, fileHash: job.fileHash, now: clock.now()) {
                log.info("batch \(b.id ?? 0) (\(b.path)) was rejected under an earlier job file; the job file changed, so it is read again")
            }
            let incoming = try IncomingScanner(registry: registry, state: state, log: log).scan(job, now: clock.now())
            try LabelFiles(registry: registry, state: state, log: log, now: clock.now(), checkpoints: checkpoints).scan(job) {
                try DataSchema(
                    job: job, production: try ProductionModel.load(job: job.name, registry: registry),
                    accepted: try registry.consumedBatches(job: job.name).last?.storedPath, candidates: [])
            }
            var outcome = try start(job, log: log)
            if let p = runDeployHook(job, log: log) { problems.append(p) }
            if outcome.kind == .idle, let settling = incoming.settlingSummary { outcome.message += "; \(settling)" }
            outcome.problem = problems.isEmpty ? nil : problems.joined(separator: "; ")
            outcome.settlingUntil = incoming.settling.map(\.readyInSeconds).min().map { clock.now().addingTimeInterval($0) }
            return outcome
        } catch {
            log.error("\(error)")
            return CycleOutcome(job: job.name, kind: .failed, runID: nil, version: nil, message: (problems + ["\(error)"]).joined(separator: "; "))
        }
    }

    /// Starts a run when there are pending batches or requests, and runs it.
    func start(_ job: JobConfig, log: Logger) throws -> CycleOutcome {
        let requests = try registry.pendingRequests(job: job.name)
        let pending = try registry.pendingBatches(job: job.name)
        guard !pending.isEmpty || !requests.isEmpty else {
            log.debug("no new data")
            return CycleOutcome(job: job.name, kind: .idle, runID: nil, version: nil, message: "no new data")
        }
        let trigger = Trigger(requests: requests)
        let recorder = try RunRecorder.start(
            job: job, trigger: trigger, requests: requests, batches: pending, registry: registry, state: state, clock: clock, log: log)
        recorder.jobLog.info("run \(recorder.number) started (\(trigger.rawValue), \(pending.count) new batch\(pending.count == 1 ? "" : "es"))")
        let jobRun = JobRun(cycle: self, job: job, recorder: recorder, trigger: trigger, pending: pending)
        do {
            return try jobRun.execute()
        } catch {
            return failed(jobRun, error)
        }
    }

    /// A run that failed: recorded as failed (or interrupted, when stopped by a shutdown, so that its
    /// batches are retried after a restart); its requests (a `--full`, say) stand for the retry,
    /// unless a person cancelled it.
    func failed(_ run: JobRun, _ error: Error) -> CycleOutcome {
        let message = "\(error)"
        let id = run.recorder.run
        let state: RunRecord.State = engine.isShuttingDown ? .interrupted : .failed
        try? run.recorder.finish(
            state, decision: run.progress.decision?.recorded, reason: run.progress.decision?.reason, drift: run.progress.drift, error: message)
        if (try? registry.cancelRequest(run: id)) == nil { try? registry.releaseRequests(run: id) }
        run.recorder.jobLog.error("run \(run.recorder.number) \(state == .interrupted ? "interrupted" : "failed"): \(message)")
        return CycleOutcome(job: run.job.name, kind: .failed, runID: id, run: run.recorder.number, version: nil, message: message)
    }

    /// Runs the deploy command owed for a change of the published model (this run's promotion, a
    /// rollback, a repair, or one that failed before); its failure, if it failed.
    func runDeployHook(_ job: JobConfig, log: Logger) -> String? {
        do {
            guard let ran = try DeployHooks(registry: registry, clock: clock, log: log).runOwed(job), !ran.succeeded else { return nil }
            return "the deploy command for v\(ran.hook.version) failed: \(ran.error ?? "") (log \(ran.logPath))"
        } catch {
            log.error("cannot run the deploy command: \(error)")
            return "cannot run the deploy command: \(error)"
        }
    }

    /// Makes the deploy file hold production's artifact (after a crash between publishing and
    /// committing, or if someone changed the file); what went wrong, if anything.
    func repairDeployFile(_ job: JobConfig, log: Logger) -> String? {
        do {
            if let republished = try Promoter(registry: registry, clock: clock).repair(job: job.name, deploy: job.deploy) {
                log.warning("\(job.deploy.path) (or a file published with it: its metadata, the ONNX file) did not hold production v\(republished); published it again")
            }
            return nil
        } catch {
            log.error("cannot restore production at \(job.deploy.path): \(error)")
            return "cannot restore production at \(job.deploy.path): \(error)"
        }
    }

    /// Completes the promotion of a job's last run when updater stopped (`interrupted`) or publishing
    /// failed (`failed`: an unwritable deploy path, a full disk) between recording its candidate
    /// (which passed the gate, its batches consumed with it) and committing the promotion, so the
    /// passed candidate is not lost and the failure is retried at every cycle. Not if production
    /// has changed since that run started (a person rolled back or promoted meanwhile): then the
    /// candidate stays recorded, for `updater promote`.
    func resumeInterruptedPromotion(_ job: JobConfig, log: Logger) -> String? {
        do {
            guard let run = try registry.runs(of: job.name, limit: 1).first, run.state == .interrupted || run.state == .failed,
                let runID = run.id, let number = run.candidateVersion, let candidate = try registry.version(job.name, number),
                candidate.status == .passed
            else { return nil }
            let production = try registry.job(job.name)?.productionVersion
            let history = try registry.history(of: job.name)
            guard production != number else {
                // updater stopped after the promotion committed but before the run was finished:
                // the run succeeded (its model.promoted event went out with the promotion).
                if let last = history.last, last.runID == runID, last.toVersion == number {
                    try RunRecorder.finish(
                        registry, run: runID, .succeeded, reason: (run.reason ?? "") + "; updater stopped after promoting v\(number)",
                        at: clock.now())
                    log.info("run \(run.number) had promoted v\(number) before updater stopped; recorded as succeeded")
                }
                return nil
            }
            if let last = history.last, last.at >= run.startedAt ?? run.createdAt {
                log.warning("run \(run.number) was interrupted before promoting v\(number), and production changed since; use updater promote to release it")
                return nil
            }
            let how = run.state == .failed ? "on retry" : "after updater restarted"
            try Promoter(registry: registry, clock: clock).publish(
                candidate, to: job.deploy, action: .promote, actor: actor,
                reason: "\(run.decision ?? "full") run \(run.number): gate passed (promotion completed \(how))", run: runID, expectedFrom: production)
            let detail = run.state == .failed ? "on retry, after: \(run.error ?? "an error")" : "after updater restarted"
            try RunRecorder.finish(registry, run: runID, .succeeded, reason: (run.reason ?? "") + "; promotion completed \(detail)", at: clock.now())
            log.scoped(job: job.name, run: runID).info(
                "promoted \(production.map { "v\($0) → " } ?? "")v\(number) to \(job.deploy.path) (promotion completed \(how))")
        } catch {
            log.error("cannot complete the promotion of its last run's candidate (retried at the next cycle): \(error)")
            return "cannot complete the promotion of its last run's candidate (retried at the next cycle): \(error)"
        }
        return nil
    }
}
