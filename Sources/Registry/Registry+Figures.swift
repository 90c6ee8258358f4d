import Foundation
import GRDB

/// What the registry knows about a job, in figures: what `/metrics` and the textfile exporter
/// publish (docs/metrics-endpoint.md). Read in one transaction, so the figures agree.
package struct JobFigures: Sendable, Equatable {
    package var job: String
    package var productionVersion: Int?
    /// Runs by state and decision (`none` when a run recorded no decision).
    package var runs: [RunCount] = []
    /// Seconds from start to finish of each finished run, oldest first.
    package var runSeconds: [Double] = []
    package var trainingRows = 0
    package var trainingCPUSeconds = 0.0
    /// The drift report of the last run that checked drift, as stored (JSON).
    package var lastDriftReport: String?
    /// Production's measured metric on the last batch it served.
    package var served: Served?
    /// Gate rule results by metric and outcome (`pass`, `fail`, `skipped`).
    package var gateResults: [GateCount] = []
    /// Batches by state: `pending`, `consumed`, `rejected`, `set_aside`, `excluded`.
    package var batches: [String: Int] = [:]
    package var lastSuccess: Date?
    package var rollbacks = 0
    package var forcedPromotions = 0
    /// Production's estimated performance (by metric) on the last batch estimated, rows logged still
    /// waiting for their labels, and its realized accuracy (or RMSE) on the newest batch whose labels came later.
    package var estimated: [String: Double] = [:]
    package var awaitingLabels = 0
    package var realized: Served?

    package init(job: String) { self.job = job }

    package struct Served: Sendable, Equatable {
        package var metric: String
        package var value: Double
        package init(metric: String, value: Double) { (self.metric, self.value) = (metric, value) }
    }

    package struct RunCount: Sendable, Equatable {
        package var state: String
        package var decision: String
        package var count: Int
        package init(state: String, decision: String, count: Int) { (self.state, self.decision, self.count) = (state, decision, count) }
    }

    package struct GateCount: Sendable, Equatable {
        package var metric: String
        package var outcome: String
        package var count: Int
        package init(metric: String, outcome: String, count: Int) { (self.metric, self.outcome, self.count) = (metric, outcome, count) }
    }
}

/// A webhook endpoint's deliveries in figures.
package struct EndpointFigures: Sendable, Equatable {
    package var endpoint: String
    package var pending = 0
    /// Pending deliveries that have failed at least once.
    package var retrying = 0
    package var dead = 0
    package var disabled = false

    package init(endpoint: String, pending: Int = 0, retrying: Int = 0, dead: Int = 0, disabled: Bool = false) {
        (self.endpoint, self.pending, self.retrying, self.dead, self.disabled) = (endpoint, pending, retrying, dead, disabled)
    }
}

extension Registry {
    /// Every job's figures.
    package func figures() throws -> [JobFigures] {
        try db.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM job ORDER BY name").map { job in try Self.figures(db, job: job) }
        }
    }

    static func figures(_ db: Database, job: String) throws -> JobFigures {
        var f = JobFigures(job: job)
        f.productionVersion = try Int.fetchOne(db, sql: "SELECT production_version FROM job WHERE name = ?", arguments: [job])
        f.runs = try Row.fetchAll(
            db, sql: "SELECT state, COALESCE(decision, 'none') AS decision, COUNT(*) AS n FROM run WHERE job = ? GROUP BY 1, 2 ORDER BY 1, 2",
            arguments: [job]
        ).map { JobFigures.RunCount(state: $0["state"], decision: $0["decision"], count: $0["n"]) }
        f.runSeconds = try Row.fetchAll(
            db, sql: "SELECT started_at, finished_at FROM run WHERE job = ? AND started_at IS NOT NULL AND finished_at IS NOT NULL ORDER BY id",
            arguments: [job]
        ).map { row in try max(0, StoredDate.decode(row, "finished_at").timeIntervalSince(StoredDate.decode(row, "started_at"))) }
        let cost = try Row.fetchOne(
            db, sql: "SELECT COALESCE(SUM(training_rows), 0) AS rows, COALESCE(SUM(cpu_seconds), 0) AS cpu FROM run WHERE job = ?", arguments: [job])
        f.trainingRows = cost?["rows"] ?? 0
        f.trainingCPUSeconds = cost?["cpu"] ?? 0
        f.lastDriftReport = try String.fetchOne(
            db, sql: "SELECT drift_report FROM run WHERE job = ? AND drift_report IS NOT NULL ORDER BY id DESC LIMIT 1", arguments: [job])
        if let row = try Row.fetchOne(db, sql: "SELECT metric, value FROM served_batch WHERE job = ? ORDER BY id DESC LIMIT 1", arguments: [job]) {
            f.served = JobFigures.Served(metric: row["metric"], value: row["value"])
        }
        f.gateResults = try Row.fetchAll(
            db,
            sql: """
                SELECT metric, CASE WHEN skipped THEN 'skipped' WHEN passed THEN 'pass' ELSE 'fail' END AS outcome, COUNT(*) AS n
                FROM gate_result WHERE job = ? GROUP BY 1, 2 ORDER BY 1, 2
                """, arguments: [job]
        ).map { JobFigures.GateCount(metric: $0["metric"], outcome: $0["outcome"], count: $0["n"]) }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT CASE WHEN status = 'rejected' AND attempts >= ? THEN 'set_aside' WHEN excluded THEN 'excluded' ELSE status END AS state,
                    COUNT(*) AS n
                FROM batch WHERE job = ? GROUP BY 1
                """, arguments: [Registry.maxInterruptedAttempts, job])
        {
            f.batches[row["state"]] = row["n"]
        }
        f.lastSuccess = try StoredDate.fetchOne(
            db, sql: "SELECT MAX(finished_at) FROM run WHERE job = ? AND state IN ('succeeded', 'rejected')", arguments: [job])
        if let estimate = try String.fetchOne(db, sql: "SELECT estimate FROM estimated_batch WHERE job = ? ORDER BY batch_id DESC LIMIT 1", arguments: [job]),
            let object = try? JSONSerialization.jsonObject(with: Data(estimate.utf8)) as? [String: Any],
            let metrics = object["metrics"] as? [[String: Any]]
        {
            for m in metrics {
                if let name = m["metric"] as? String, let value = m["value"] as? Double { f.estimated[name] = value }
            }
        }
        f.awaitingLabels = try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM prediction WHERE job = ? AND label IS NULL", arguments: [job]) ?? 0
        if let row = try Row.fetchOne(
            db,
            sql: """
                SELECT batch_id, MAX(prediction IS NULL) AS regression, AVG(loss) AS mean FROM prediction
                WHERE job = ? AND label_source = 'labels' AND loss IS NOT NULL
                GROUP BY batch_id ORDER BY batch_id DESC LIMIT 1
                """, arguments: [job])
        {
            let mean: Double = row["mean"]
            f.realized = (row["regression"] as Bool) ? .init(metric: "rmse", value: mean.squareRoot()) : .init(metric: "accuracy", value: 1 - mean)
        }
        for row in try Row.fetchAll(db, sql: "SELECT action, COUNT(*) AS n FROM production_event WHERE job = ? GROUP BY 1", arguments: [job]) {
            switch row["action"] as String {
            case "rollback": f.rollbacks = row["n"]
            case "forced": f.forcedPromotions = row["n"]
            default: break
            }
        }
        return f
    }

    /// Each webhook endpoint's deliveries by state, and whether its receiver disabled it.
    package func endpointFigures() throws -> [EndpointFigures] {
        try db.read { db in
            var out: [String: EndpointFigures] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT endpoint, SUM(state = 'pending') AS pending, SUM(state = 'pending' AND attempts > 0) AS retrying,
                        SUM(state = 'dead') AS dead
                    FROM webhook_delivery GROUP BY endpoint
                    """)
            {
                let name: String = row["endpoint"]
                out[name] = EndpointFigures(endpoint: name, pending: row["pending"], retrying: row["retrying"], dead: row["dead"])
            }
            for name in try String.fetchAll(db, sql: "SELECT endpoint FROM webhook_endpoint_state") {
                out[name, default: EndpointFigures(endpoint: name)].disabled = true
            }
            return out.values.sorted { $0.endpoint < $1.endpoint }
        }
    }
}
