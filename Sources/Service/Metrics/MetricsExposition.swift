import Drift
import Foundation
import JobFiles
import Prometheus
import Registry

/// The Prometheus text the daemon serves at `/metrics` and `updater run --once` writes for
/// node_exporter's textfile collector (docs/metrics-endpoint.md): every figure read from the
/// registry at the moment it is asked for, so a restart loses nothing and both agree with
/// `updater status --json`. A fresh swift-prometheus registry per exposition; label sets are
/// bounded (jobs, their feature columns, gate metrics, endpoints; never run ids or file names).
/// A job is labelled `updater_job`: Prometheus gives `job` to the scrape job.
package enum MetricsExposition {
    /// Buckets of `updater_run_duration_seconds`, from a no-drift check to a long external training.
    static let durationBuckets: [Double] = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14_400]

    /// The registry's figures, and each of `configs`' schedule interval (for "no successful run
    /// for two intervals").
    package static func text(registry: Registry, configs: [JobConfig] = [], now: Date = Date()) throws -> String {
        text(
            jobs: try registry.figures(), endpoints: try registry.endpointFigures(), intervals: intervals(configs, now: now),
            bounds: bounds(configs), now: now)
    }

    /// Each job's gate minimums and maximums by metric (on all rows, not a slice): what production's
    /// served metric is compared with.
    static func bounds(_ configs: [JobConfig]) -> [(job: String, metric: String, min: Double?, max: Double?)] {
        configs.flatMap { job in
            job.gate.rules.filter { $0.slice == nil && ($0.min != nil || $0.max != nil) }.map { (job.name, $0.metric.rawValue, $0.min, $0.max) }
        }
    }

    /// Seconds between two scheduled cycles of each job: its `schedule.interval`, or the gap between
    /// its next two cron times.
    static func intervals(_ configs: [JobConfig], now: Date) -> [String: Double] {
        var out: [String: Double] = [:]
        for job in configs {
            if let interval = job.schedule.interval {
                out[job.name] = interval
            } else if let cron = job.schedule.cron, let first = cron.next(after: now, in: job.schedule.timeZone),
                let second = cron.next(after: first, in: job.schedule.timeZone)
            {
                out[job.name] = second.timeIntervalSince(first)
            }
        }
        return out
    }

    package static func text(
        jobs: [JobFigures], endpoints: [EndpointFigures], intervals: [String: Double] = [:],
        bounds: [(job: String, metric: String, min: Double?, max: Double?)] = [], now: Date = Date()
    ) -> String {
        let p = PrometheusCollectorRegistry()
        for b in bounds {
            let labels = [("updater_job", b.job), ("metric", b.metric)]
            if let min = b.min { gauge(p, "updater_gate_min", "The gate's minimum for a metric (a rule on all rows).", labels).set(min) }
            if let max = b.max { gauge(p, "updater_gate_max", "The gate's maximum for a metric (a rule on all rows).", labels).set(max) }
        }
        for (job, seconds) in intervals.sorted(by: { $0.key < $1.key }) {
            gauge(p, "updater_job_interval_seconds", "Seconds between two scheduled cycles of the job (schedule.interval, or its cron's next gap).", [("updater_job", job)])
                .set(seconds)
        }
        for f in jobs {
            let job = [("updater_job", f.job)]
            gauge(p, "updater_production_version", "The version in production (0: none yet).", job).set(Double(f.productionVersion ?? 0))
            for r in f.runs {
                counter(p, "updater_runs_total", "Runs recorded, by state and decision.", job + [("state", r.state), ("decision", r.decision)]).increment(by: Int64(r.count))
            }
            let histogram = p.makeValueHistogram(
                descriptor: MetricNameDescriptor(namespace: "updater", metricName: "run_duration", unitName: "seconds", helpText: "Wall time of finished runs."),
                labels: job, buckets: durationBuckets)
            for s in f.runSeconds { histogram.record(s) }
            counter(p, "updater_training_rows_total", "Rows trained on, summed over every run.", job).increment(by: Int64(f.trainingRows))
            counter(p, "updater_training_cpu_seconds_total", "CPU seconds of training, summed over every run.", job).increment(by: f.trainingCPUSeconds)
            if let json = f.lastDriftReport, let report = try? JSONDecoder().decode(DriftReport.self, from: Data(json.utf8)) {
                gauge(p, "updater_drift_drifted_share", "Weighted share of drifted feature columns at the last check.", job).set(report.driftedShare)
                gauge(p, "updater_drift_severity", "Severity of the last drift check: 0 none, 1 moderate, 2 severe.", job).set(Double(report.severity == .none ? 0 : report.severity == .moderate ? 1 : 2))
                for c in report.columns {
                    let column = job + [("column", c.column)]
                    if let s = c.statistic {
                        gauge(p, "updater_drift_statistic", "Each feature column's drift statistic at the last check.", column).set(s)
                    }
                    if let psi = c.psi {
                        gauge(p, "updater_drift_psi", "Each feature column's PSI at the last check.", column).set(psi)
                    }
                    gauge(p, "updater_drift_column_drifted", "1 when the column drifted at the last check.", column).set(Double(c.drifted ? 1 : 0))
                }
            }
            for (metric, value) in f.estimated.sorted(by: { $0.key < $1.key }) {
                gauge(p, "updater_production_estimated_metric", "Production's performance estimated (CBPE) on the last batch's rows without labels.", job + [("metric", metric)]).set(value)
            }
            if let realized = f.realized {
                gauge(p, "updater_production_realized_metric", "Production's realized metric on the newest batch whose labels came later, by the version that scored it.", job + [("metric", realized.metric)]).set(realized.value)
            }
            gauge(p, "updater_rows_awaiting_labels", "Rows logged without a label that no label file has labelled yet.", job).set(Double(f.awaitingLabels))
            if let served = f.served {
                gauge(p, "updater_production_served_metric", "Production's measured metric (accuracy, or RMSE for regression) on the last labelled batch it served.", job + [("metric", served.metric)]).set(served.value)
            }
            for g in f.gateResults {
                counter(p, "updater_gate_results_total", "Gate rule results recorded, by metric and outcome (pass, fail, skipped).", job + [("metric", g.metric), ("outcome", g.outcome)]).increment(by: Int64(g.count))
            }
            for state in ["pending", "consumed", "rejected", "set_aside", "excluded"] {
                gauge(p, "updater_batches", "Batches by state.", job + [("state", state)]).set(Double(f.batches[state] ?? 0))
            }
            if let last = f.lastSuccess {
                gauge(p, "updater_last_success_timestamp_seconds", "When the job's last run that went as planned (promoted, rejected, kept) finished, in Unix seconds.", job).set(last.timeIntervalSince1970)
            }
            counter(p, "updater_rollbacks_total", "Rollbacks recorded.", job).increment(by: Int64(f.rollbacks))
            counter(p, "updater_forced_promotions_total", "Forced promotions recorded.", job).increment(by: Int64(f.forcedPromotions))
        }
        for e in endpoints {
            for (state, n) in [("pending", e.pending), ("retrying", e.retrying), ("dead", e.dead)] {
                gauge(p, "updater_webhook_deliveries", "Webhook deliveries by state (retrying: pending after a failed attempt).", [("endpoint", e.endpoint), ("state", state)]).set(Double(n))
            }
            gauge(p, "updater_webhook_endpoint_disabled", "1 when the receiver disabled the endpoint (HTTP 410).", [("endpoint", e.endpoint)]).set(Double(e.disabled ? 1 : 0))
        }
        gauge(p, "updater_exposition_timestamp_seconds", "When these figures were read, in Unix seconds.").set(now.timeIntervalSince1970)
        return p.emitToString()
    }

    private static func gauge(_ p: PrometheusCollectorRegistry, _ name: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
        p.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    private static func counter(_ p: PrometheusCollectorRegistry, _ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
        p.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }
}
