import Drift
import Evaluation
import Foundation
import Support
import Registry

/// The webhook events the update cycle writes with its state changes (the registry writes the
/// `model.*`, `job.invalid` and interrupted-run ones itself). Payloads are documented, with an
/// example each, in docs/webhooks.md.
enum Events {
    static func runStarted(job: String, run: Int, trigger: String, batches: Int, at now: Date) -> WebhookEventRecord {
        WebhookEventRecord(
            type: "run.started", job: job,
            data: ["job": .string(job), "run": .int(run), "trigger": .string(trigger), "new_batches": .int(batches)], at: now)
    }

    /// `drift.detected`, or nil when the report found none.
    static func driftDetected(job: String, run: Int, productionVersion: Int?, report: DriftReport, at now: Date) -> WebhookEventRecord? {
        guard report.severity != .none else { return nil }
        let top = report.driftedColumns.prefix(5).map { c -> JSONValue in
            [
                "column": .string(c.column), "method": JSONValue(c.method?.rawValue), "statistic": JSONValue(c.statistic),
                "p_value": JSONValue(c.pValue), "psi": JSONValue(c.psi),
            ]
        }
        var data: [String: JSONValue] = [
            "job": .string(job), "run": .int(run), "production_version": JSONValue(productionVersion),
            "severity": .string(report.severity.rawValue), "drifted_share": JSONValue(report.driftedShare),
            "drifted_columns": .int(report.driftedColumns.count), "top_columns": .array(top), "summary": .string(report.summary),
        ]
        if let p = report.performance, p.drifted {
            data["performance"] = [
                "metric": .string(p.metric), "reference": JSONValue(p.reference), "current": JSONValue(p.current),
                "p_value": JSONValue(p.pValue),
            ]
        }
        if !report.schemaChanges.isEmpty { data["schema_changes"] = .array(report.schemaChanges.map { .string($0) }) }
        return WebhookEventRecord(type: "drift.detected", job: job, data: .object(data), at: now)
    }

    /// `performance.estimated_drop`: production's performance estimated on a batch's rows without
    /// labels fell past the gate's minimum or below its reference level.
    static func estimatedDrop(job: String, run: Int, version: Int, _ e: EstimatedPerformance.Batch, at now: Date) -> WebhookEventRecord {
        var metrics: [String: JSONValue] = [:]
        for m in e.estimate.metrics {
            metrics[m.metric] = [
                "estimate": JSONValue(m.value), "lower": JSONValue(m.lower), "upper": JSONValue(m.upper), "reference": JSONValue(m.reference),
                "minimum": JSONValue(m.minimum),
            ]
        }
        return WebhookEventRecord(
            type: "performance.estimated_drop", job: job,
            data: [
                "job": .string(job), "run": .int(run), "batch": JSONValue(e.batch.map(Int.init)), "production_version": .int(version),
                "rows": .int(e.estimate.rows), "metrics": .object(metrics), "summary": .string(e.estimate.summary),
            ], at: now)
    }

    /// `gate.passed` or `gate.failed` for a recorded candidate.
    static func gate(
        job: String, run: Int, version: Int, mode: String, productionVersion: Int?, metrics: MetricSummary,
        results: [RuleResult], passed: Bool, at now: Date
    ) -> WebhookEventRecord {
        let failed = results.filter { !$0.passed }.map { r -> JSONValue in
            [
                "metric": .string(r.metric), "slice": JSONValue(r.slice), "candidate": JSONValue(r.candidate),
                "baseline": JSONValue(r.baseline), "reason": .string(r.reason),
            ]
        }
        var values: [String: JSONValue] = [:]
        for (name, value) in metrics.values { values[name] = JSONValue(value) }
        values["rows"] = .int(metrics.rows)
        return WebhookEventRecord(
            type: passed ? "gate.passed" : "gate.failed", job: job,
            data: [
                "job": .string(job), "run": .int(run), "version": .int(version), "mode": .string(mode),
                "production_version": JSONValue(productionVersion), "metrics": .object(values), "rules": .int(results.count),
                "failed_rules": .array(failed),
            ], at: now)
    }

    /// `run.succeeded` (it ended as planned: promoted, rejected by the gate, no drift) or
    /// `run.failed` (an error, or interrupted by a shutdown).
    static func runFinished(_ run: RunRecord, productionVersion: Int?, at now: Date) -> WebhookEventRecord {
        let ok = run.state == .succeeded || run.state == .rejected
        return WebhookEventRecord(
            type: ok ? "run.succeeded" : "run.failed", job: run.job,
            data: [
                "job": .string(run.job), "run": .int(run.number), "state": .string(run.state.rawValue),
                "decision": JSONValue(run.decision), "reason": JSONValue(run.reason), "error": JSONValue(run.error),
                "candidate_version": JSONValue(run.candidateVersion), "production_version": JSONValue(productionVersion),
            ], at: now)
    }
}
