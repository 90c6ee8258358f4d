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
