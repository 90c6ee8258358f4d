import CSystemShim
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import Webhooks

/// `updater run` without `--once`: the metrics server, the incoming watcher, the webhook
/// dispatcher, the scheduler and the SIGHUP reload in one `ServiceGroup`. SIGTERM and SIGINT shut it down gracefully, in reverse
/// order (reloads stop, the scheduler stops starting runs and waits for those in progress, the
/// dispatcher records its attempts in flight, the watcher stops); `stopGrace` (`--stop-grace`) is the group's graceful-shutdown duration,
/// after which it cancels, which stops the trainings still going.
package enum Daemon {
    /// At most two malloc arenas for the daemon's process (glibc's `M_ARENA_MAX`). By default each
    /// thread that allocates gets an arena of its own, up to 8 per core, and every arena keeps its
    /// own free memory and fragments; the daemon's threads (the cooperative pool, NIO's, the cycle
    /// pool's, the webhook workers) mostly wait, and two arenas are enough for their allocations.
    /// Measured on the idle daemon with 200 jobs (issue 18): with `MALLOC_ARENA_MAX=2` the anonymous
    /// memory was 0.2 MB smaller, with 1 arena 0.5 MB (the first estimate was about 1 MB; cycles
    /// running on several threads at once, not measured, make more arenas). Call it first, before
    /// the daemon starts threads: a thread that already has an arena keeps it.
    package static func limitMallocArenas() {
        _ = updater_limit_malloc_arenas(2)
    }

    package static func run(_ scheduler: Scheduler, stopGrace: TimeInterval, metrics: MetricsServer? = nil, log: Logger) async throws {
        // Until the group traps SIGHUP, one must not end the process (its default action).
        signal(SIGHUP, SIG_IGN)
        var config = ServiceGroupConfiguration(
            services: [
                .init(service: StopIfSignalledEarly(), successTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: scheduler.watcher),
                .init(service: scheduler.webhooks),
                .init(service: scheduler),
                .init(service: ReloadOnHangup(scheduler: scheduler)),
            ]
                // Last, so it stops first; Hummingbird ends its server as soon as the shutdown begins,
                // which is no failure.
                + (metrics.map { [.init(service: $0, successTerminationBehavior: .ignore)] } ?? []),
            gracefulShutdownSignals: [.sigterm, .sigint], logger: log)
        config.maximumGracefulShutdownDuration = .milliseconds(Int64(stopGrace * 1000))
        try await ServiceGroup(configuration: config).run()
    }
}

/// SIGHUP: the scheduler reads the job files (and the webhooks file) again.
struct ReloadOnHangup: Service {
    let scheduler: Scheduler

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            scheduler.requestReload()
        }
    }
}
