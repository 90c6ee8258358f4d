import Drift
import Evaluation
import Foundation
import JobFiles
import Registry
import Support
import Tabular
import Training

/// What a run learns about production from its new batches: the drift report (feature drift,
/// schema changes, label and prediction drift, concept drift), production's performance on each
/// batch, and the first batch where that performance fell (a suspected change of concept).
struct Evidence {
    var report: DriftReport
    /// The online detectors' state after these rows (saved with the run's batches).
    var online: OnlineDetectorRecord?
    /// Production's performance on each new batch, in order (saved with the run's batches).
    var served: [ServedBatchRecord]
    /// The first new batch at which production's performance fell.
    var change: SuspectedChange?
    /// Production scored the labelled rows and `[drift.performance]` is on: performance leads the
    /// policy (else feature drift does).
    var performanceLeads: Bool
    /// Production's output on each batch's labelled rows and on its rows without labels (empty when
    /// it could not score them), for the prediction log.
    var scores: [(labelled: [Double], unlabelled: [Double])] = []
    /// Production's estimated performance on each batch's rows without labels, where it can be estimated.
    var estimates: [EstimatedPerformance.Batch] = []

    struct SuspectedChange: Equatable {
        /// The batch's id and its position among the run's new batches.
        var batch: Int64
        var index: Int
        var reason: String
    }

    /// Whether any feature column drifted (concept drift aside).
    var featuresDrifted: Bool { !report.driftedColumns.isEmpty }
}

/// The drift check of new rows against the model in production.
package struct DriftCheck {
    let job: JobConfig
    let production: ProductionModel
    let schema: DataSchema
    let registry: Registry
    let scorer: Scorer
    var clock: WallClock = .system

    /// One new batch: its id (nil for a file no run has registered), its labelled rows, and its rows
    /// without labels.
    struct Batch {
        var id: Int64?
        var table: DataTable
        var unlabelled: DataTable? = nil
        /// Rows whose labels came later (data.labels): their inputs were checked when they came.
        var joined = false
    }

    /// Checks `batches` (in arrival order). `run`: the run the evidence is recorded with;
    /// `online: false` leaves the online detectors out (rows they have already seen).
    func run(on batches: [Batch], run: Int64, online useOnline: Bool = true) throws -> Evidence {
        let policy = job.drift.policy
        let version = production.record.version
        let data = batches.dropFirst().reduce(batches[0].table) { $0.appending($1.table) }
        // Every row is checked for drift and scored; only labelled rows measure performance.
        let all = batches.compactMap(\.unlabelled).reduce(data) { $0.appending($1) }
        var changes = schema.addedFeatures.map { "new feature column \"\($0)\" (not used by v\(version))" }
        if let problem = production.referenceProblem { changes.append(problem) }
        var evidence = Evidence(
            report: DriftReport(columns: [], policy: policy), online: nil, served: [], change: nil, performanceLeads: false)
        var targets: [ColumnDrift] = []
        var online: [OnlineDetection] = []
        var performance: PerformanceDrift? = nil

        let trainedOn = production.reference ?? ReferenceProfile(columns: [])
        let baseline = try registry.driftBaseline(job: job.name, version: version)
        let reference = try baseline.map { try decodeJSON(ReferenceProfile.self, $0.reference) } ?? trainedOn
        if let label = trainedOn.label, data.rowCount > 0 {
            let (result, change) = DriftDetector.label(label, data.column(label.name), policy: policy)
            targets.append(result)
            if let change { changes.append(change) }
        }
        do {
            let target = try production.target
            let scored = try scorer.output(production, all, purpose: "new-data")
            if let prediction = trainedOn.prediction {
                targets.append(DriftDetector.column(prediction, target.predictionColumn(scored), policy: policy))
            }
            evidence.scores = Self.perBatch(scored, batches, width: target.task == .multiclass ? target.classes.count : 1)
            evidence.estimates = try EstimatedPerformance(job: job, production: production).estimate(
                batches.indices.map { (batches[$0].id, evidence.scores[$0].unlabelled) })
            let output = Array(scored.prefix(data.rowCount * (target.task == .multiclass ? target.classes.count : 1)))
            let truth = try target.truth(data)
            let losses = ServedPerformance.losses(truth, output: output, threshold: production.threshold(job))
            if let settings = job.drift.performance, data.rowCount > 0 {
                (performance, evidence.served, evidence.change) = try servedPerformance(
                    settings, losses: losses, batches: batches, run: run)
                evidence.performanceLeads = true
            }
            // The online detectors watch misclassifications (classification only).
            if useOnline, target.task != .regression, !losses.isEmpty, let referenceAccuracy = production.metrics[.accuracy] {
                var (monitor, seen) = try OnlineMonitor.load(job: job.name, version: version, registry: registry)
                let errors = losses.map { $0 > 0 }
                online = monitor.feed(errors, settings: job.drift, referenceErrorRate: 1 - referenceAccuracy)
                evidence.online = try monitor.record(job: job.name, version: version, rows: seen + errors.count, at: clock.now())
                if evidence.change == nil, let first = online.first(where: { $0.decisive && !$0.rows.isEmpty }), let row = first.rows.first {
                    let index = Self.batchIndex(ofRow: row, batches)
                    if let id = batches[index].id {
                        evidence.change = .init(
                            batch: id, index: index, reason: "\(first.detector) detected a change in production's errors at row \(row) of the new rows")
                    }
                }
            }
        } catch {
            changes.append("production v\(version) cannot score the new data: \(error)")
        }
        // Feature drift on the rows that are new to updater: a batch of joined rows holds rows whose
        // inputs were checked (and announced) when they came without labels.
        let fresh = batches.filter { !$0.joined }
        let compared = fresh.isEmpty
            ? (columns: [ColumnDrift](), schemaChanges: [String]())
            : DriftDetector.compare(
                reference: reference.columns, current: fresh.count == batches.count ? all : Self.allRows(fresh), policy: policy)
        evidence.report = DriftReport(
            columns: compared.columns, targets: targets, schemaChanges: changes + compared.schemaChanges,
            performance: performance, online: online, policy: policy)
        if let baseline {
            let number = (try? registry.run(baseline.runID))?.number ?? 0
            evidence.report.comparedWith = "the inputs of run \(number) (a shift of the inputs acknowledged while v\(version) was in production)"
        }
        return evidence
    }

    /// Production's performance on each batch and the test of each against what production served
    /// before it (in this run and earlier ones). Returns the report's performance result (the
    /// first batch that fell, else all new rows together), the records, and the suspected change.
    func servedPerformance(
        _ settings: DriftSettings.Performance, losses: [Double], batches: [Batch], run: Int64
    ) throws -> (PerformanceDrift?, [ServedBatchRecord], Evidence.SuspectedChange?) {
        let served = ServedPerformance(metric: settings.metric, settings: settings)
        let version = production.record.version
        let earlier = try registry.servedReference(job: job.name, version: version)
        var reference = ServedPerformance.pool(earlier)
        var referenceBatches = earlier.count
        var records: [ServedBatchRecord] = []
        var change: Evidence.SuspectedChange? = nil
        var result: PerformanceDrift? = nil
        var start = 0
        for (index, batch) in batches.enumerated() where batch.table.rowCount > 0 {
            let rows = batch.table.rowCount
            let current = ServedPerformance.Pool(losses: losses[start..<start + rows])
            start += rows
            if let id = batch.id {
                records.append(served.record(job: job.name, batch: id, run: run, version: version, current, at: clock.now()))
            }
            guard change == nil else { continue }
            let (pool, basis) = referenceBatches > 0
                ? (reference, "production v\(version)'s \(served.metric.rawValue) on the \(referenceBatches) batch\(referenceBatches == 1 ? "" : "es") (\(reference.rows) rows) it served")
                : (served.evaluationPool(production.metrics, scaleLike: current), "production v\(version)'s \(served.metric.rawValue) on its \(production.metrics.rows) evaluation rows")
            guard let pool else { continue }
            let test = served.test(reference: pool, current: current, basis: basis)
            if test.drifted, let id = batch.id {
                change = .init(batch: id, index: index, reason: Self.describe(test, batches: batches.count, index: index))
                result = test
            }
            reference = reference + current
            referenceBatches += 1
        }
        if result == nil {
            // No batch fell: the report shows all new rows against the reference from before them.
            let all = ServedPerformance.Pool(losses: losses[...])
            let before = ServedPerformance.pool(earlier)
            let pool = earlier.isEmpty ? served.evaluationPool(production.metrics, scaleLike: all) : before
            let basis = earlier.isEmpty
                ? "production v\(version)'s \(served.metric.rawValue) on its \(production.metrics.rows) evaluation rows"
                : "production v\(version)'s \(served.metric.rawValue) on the \(earlier.count) batch\(earlier.count == 1 ? "" : "es") (\(before.rows) rows) it served"
            result = pool.map { served.test(reference: $0, current: all, basis: basis) }
        }
        return (result, records, change)
    }

    static func describe(_ p: PerformanceDrift, batches: Int, index: Int) -> String {
        let which = batches == 1 ? "the new batch" : "new batch \(index + 1) of \(batches)"
        let verb = p.metric == "rmse" ? "rose" : "fell"
        return "production's \(p.metric) \(verb) from \(round4(p.reference)) to \(round4(p.current)) on \(which) (p = \(sci(p.pValue)); reference: \(p.basis ?? "-"))"
    }

    /// The labelled rows of every batch (at least one), then the rows without labels of every batch.
    static func allRows(_ batches: [Batch]) -> DataTable {
        let labelled = batches.dropFirst().reduce(batches[0].table) { $0.appending($1.table) }
        return batches.compactMap(\.unlabelled).reduce(labelled) { $0.appending($1) }
    }

    /// `output` (of the labelled rows of every batch, then of the unlabelled rows of every batch,
    /// `width` numbers a row) cut back into each batch's two parts.
    static func perBatch(_ output: [Double], _ batches: [Batch], width: Int) -> [(labelled: [Double], unlabelled: [Double])] {
        var labelledStart = 0
        var unlabelledStart = batches.reduce(0) { $0 + $1.table.rowCount } * width
        return batches.map { b in
            let l = b.table.rowCount * width, u = (b.unlabelled?.rowCount ?? 0) * width
            defer { (labelledStart, unlabelledStart) = (labelledStart + l, unlabelledStart + u) }
            return (Array(output[labelledStart..<labelledStart + l]), Array(output[unlabelledStart..<unlabelledStart + u]))
        }
    }

    /// Which batch row `row` (of all new rows) falls in.
    static func batchIndex(ofRow row: Int, _ batches: [Batch]) -> Int {
        var end = 0
        for (i, b) in batches.enumerated() {
            end += b.table.rowCount
            if row < end { return i }
        }
        return batches.count - 1
    }

    /// `updater drift JOB`: the job's new data (pending batches and settled files in the incoming
    /// directory that no run has read yet; else its newest accepted batch) against the production
    /// model, without training or recording anything.
    package static func latest(job: JobConfig, registry: Registry) throws -> (report: DriftReport, files: [String], version: Int) {
        guard let production = try ProductionModel.load(job: job.name, registry: registry) else {
            throw CycleError("\(job.name) has no model in production: there is no reference to compare with")
        }
        var files = try registry.pendingBatches(job: job.name).map { (stored: $0.storedPath, shown: $0.path, id: $0.id) }
        for path in try IncomingScanner.settledFiles(job) {
            guard let stamp = Files.stamp(path),
                try !registry.isKnownFile(job: job.name, path: path, size: stamp.size, mtimeNs: stamp.mtimeNs)
            else { continue }
            files.append((path, path, nil))
        }
        // Without new data, the newest accepted batch; the online detectors have already seen it.
        let alreadySeen = files.isEmpty
        if files.isEmpty, let last = try registry.consumedBatches(job: job.name).last { files = [(last.storedPath, last.path, last.id)] }
        guard !files.isEmpty else { throw CycleError("\(job.name) has no data to check") }
        let schema = try DataSchema(
            job: job, production: production, accepted: try registry.consumedBatches(job: job.name).last?.storedPath,
            candidates: files.map(\.stored))
        let batches = try files.map { file in
            let loaded = try schema.load(file.stored, shownAs: file.shown, badRows: job.data.badRows)
            return Batch(id: file.id, table: loaded.table, unlabelled: loaded.unlabelled)
        }
        let scratch = NSTemporaryDirectory() + "updater-drift-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let scorer = Scorer(job: job, directory: scratch)
        let report = try DriftCheck(job: job, production: production, schema: schema, registry: registry, scorer: scorer)
            .run(on: batches, run: 0, online: !alreadySeen).report
        return (report, files.map(\.shown), production.record.version)
    }
}
