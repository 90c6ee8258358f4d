import ArgumentParser
import Cycle
import Service
import Foundation
import Logging
import Trainers
import Support
import JobFiles
import Registry

#if canImport(Glibc)
import Glibc
#endif

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the update cycle: once, or on every job's interval until stopped.",
        discussion: """
            For each job with new data: drift check → retrain (incremental or full) → evaluate the candidate and production on the same rows → gate → promote or reject. A bad job file is reported and skipped; the other jobs run. `updater run` repeats each job's cycle on its schedule.interval and at once when `updater trigger` asks, skips paused jobs (`updater pause`), reloads the job files on SIGHUP (a file that no longer validates keeps its last good version running), and stops on SIGTERM or SIGINT: no new run starts, runs in progress get --stop-grace to finish, then their trainings are stopped (external trainers' process groups included) and their runs marked interrupted and retried after a restart. Under systemd (Type=notify) it reports READY, RELOADING, STOPPING, a one-line STATUS and WATCHDOG pings on $NOTIFY_SOCKET. It delivers webhook events to the endpoints of webhooks.toml (beside the jobs directory, or --webhooks) and of the job files, retrying failures for about a day (docs/webhooks.md); --once makes each due delivery attempt once.

            --once exits 1 if something needs a person (a job file is invalid, a run failed, batches were set aside), else 4 if the gate rejected a candidate, else 0.

            Example:
              updater run --once --jobs Jobs --state-dir /tmp/updater-state
              updater run
            """)

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Run one cycle of every job and exit.")
    var once = false

    @Option(name: .long, help: "Trainings at once, across all jobs (default: half the cores, at least 1).")
    var maxTrainings: Int?

    @Option(name: .long, help: "On SIGTERM, how long runs in progress may go on before their trainings are stopped (keep it below the unit's TimeoutStopSec).")
    var stopGrace: String = "30s"

    @Option(name: .long, help: "Least severe log level to print: debug, info, warning, error.")
    var logLevel: String = "info"

    @Option(name: .long, help: "Where the daemon serves Prometheus metrics at /metrics and its read-only dashboard at /: HOST:PORT, or off. An address other than 127.0.0.1 needs --metrics-token-file.")
    var metricsListen: String = MetricsListen.defaultAddress

    @Option(name: .long, help: "A file holding the bearer token /metrics and the dashboard ask for (default: the systemd credential metrics-token, if any).")
    var metricsTokenFile: String?

    @Option(name: .long, help: "With --once: write the metrics to DIR/updater.prom for node_exporter's textfile collector.")
    var metricsTextfile: String?

    func run() async throws {
        // The daemon's memory (issue 18): before its threads start.
        if !once { Daemon.limitMallocArenas() }
        let level: Logger.Level
        switch logLevel {
        case "debug": level = .debug
        case "info": level = .info
        case "warning": level = .warning
        case "error": level = .error
        default: throw ValidationError("--log-level must be debug, info, warning or error, not \"\(logLevel)\"")
        }
        let listen: MetricsListen?
        do {
            listen = once ? nil : try MetricsListen.parse(metricsListen, tokenFile: metricsTokenFile)
        } catch {
            throw ValidationError("\(error)")
        }
        if metricsTextfile != nil, !once { throw ValidationError("--metrics-textfile is for --once; the daemon serves /metrics (--metrics-listen)") }
        guard let grace = parseDuration(stopGrace, allowZero: true) else {
            throw ValidationError("--stop-grace: expected a duration such as \"30s\" or \"0s\", got \"\(stopGrace)\"")
        }
        let log = Logger.daemon(level: level)
        // A stop asked for while the daemon starts is honoured once it runs (not fatal before).
        if !once { EarlySignals.install() }
        let set: JobSet
        do {
            set = try JobSet.load(directory: common.jobsDirectory)
        } catch {
            throw fail("\(error)")
        }
        for bad in set.invalid {
            for p in bad.problems { log.error("invalid job file: \(p)") }
        }
        for job in set.jobs {
            for warning in job.warnings { log.scoped(job: job.name).warning("\(job.file): \(warning)") }
        }
        let registry: Registry
        let lock: StateLock
        var setAside = 0
        do {
            lock = try StateLock(state: common.state)
            registry = try common.state.openRegistry()
            let recovered = try registry.markInterruptedRuns()
            for run in recovered.runs {
                log.scoped(job: run.job).warning("run \(run.number) was interrupted when updater stopped; its batches will be retried")
                // An external trainer of that run may still be running (its process group outlives a
                // killed daemon outside systemd): stop it before anything reuses the run's files.
                for stopped in ExternalTrainer.stopOrphans(in: common.state.runDirectory(job: run.job, run: run.id ?? 0)) {
                    log.scoped(job: run.job, run: run.id ?? 0).warning("stopped its trainer left running (process group \(stopped))")
                }
            }
            let leftovers = try common.state.removeLeftovers(registry: registry)
            for path in leftovers.removed {
                log.warning("removed \(path), left half-written when updater stopped")
            }
            for path in leftovers.unknown {
                log.warning("\(path) is not a version the registry records; left in place")
            }
            for job in set.jobs {
                for path in Files.removeLeftovers(in: Files.directory(of: job.deploy.path)) {
                    log.scoped(job: job.name).warning("removed \(path), left half-written when updater stopped")
                }
            }
            setAside = recovered.setAside.count
            for batch in recovered.setAside {
                log.scoped(job: batch.job).error("batch \(batch.id ?? 0) (\(batch.path)) rejected: \(batch.error ?? "")")
            }
        } catch {
            throw fail("\(error)")
        }
        defer { withExtendedLifetime(lock) {} }
        if let n = maxTrainings, n < 1 { throw ValidationError("--max-trainings must be at least 1") }
        let engine = maxTrainings.map { TrainingEngine(concurrency: $0) } ?? TrainingEngine()
        var cycle = UpdateCycle(registry: registry, state: common.state, log: log, engine: engine)
        cycle.checkpoints = Self.testStall(log: log)
        let scheduler = Scheduler(
            cycle: cycle, jobs: set, jobsDirectory: common.jobsDirectory, stopGrace: grace, webhooksFile: common.webhooksFile)
        if once {
            let outcomes = scheduler.runOnce()
            for o in outcomes {
                print("\(o.job): \(o.kind.rawValue)\(o.run.map { " (run \($0))" } ?? ""): \(o.message)")
            }
            // Anything that needs a person makes the exit status 1, else a rejected candidate 4 (see the
            // README's exit codes).
            if let dir = metricsTextfile {
                do {
                    try Files.writeAtomically(Array(try MetricsExposition.text(registry: registry, configs: set.jobs).utf8), to: dir + "/updater.prom")
                } catch {
                    throw fail("cannot write the metrics to \(dir)/updater.prom: \(error)")
                }
            }
            if !set.invalid.isEmpty || setAside > 0 || outcomes.contains(where: { $0.kind == .failed }) { throw ExitCode.failure }
            if outcomes.contains(where: { $0.kind == .rejected }) { throw ExitCode(4) }
            return
        }
        do {
            try await Daemon.run(
                scheduler, stopGrace: grace, metrics: listen.map { MetricsServer(listen: $0, registry: registry, configs: { scheduler.currentJobs }, log: log) },
                log: log)
        } catch {
            throw fail("\(error)")
        }
    }
}

extension Run {
    /// Fault injection for the crash tests: with `UPDATER_TEST_STALL=POINT` in its environment the
    /// daemon writes `stalled at POINT` to stderr and stops at that point of a cycle for ten minutes,
    /// so that a test can kill -9 it there (``Checkpoints``). Without the variable: none.
    static func testStall(log: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) -> Checkpoints {
        guard let wanted = environment["UPDATER_TEST_STALL"].flatMap(Checkpoints.Point.init(rawValue:)) else { return .none }
        return Checkpoints { point in
            guard point == wanted else { return }
            log.warning("stalled at \(point.rawValue) (UPDATER_TEST_STALL)")
            sleep(600)
        }
    }
}
