import Drift
import Evaluation
import Foundation
import Support
import JobFiles
import Registry
import Tabular
import Training

/// The drift check of new rows against the production model: feature drift, schema changes,
/// label and prediction drift, concept drift through accuracy, and the online detectors.
package struct DriftCheck {
    let job: JobConfig
    let production: ProductionModel
    let schema: DataSchema
    let registry: Registry
    let scorer: Scorer

    /// The report, and the online detectors' state after these rows (to save with the run).
    /// `online: false` leaves the detectors out (for rows they have already seen).
    func run(on data: DataTable, online useOnline: Bool = true) throws -> (report: DriftReport, online: OnlineDetectorRecord?) {
        let policy = job.drift.policy
        let version = production.record.version
        var changes = schema.addedFeatures.map { "new feature column \"\($0)\" (not used by v\(version))" }
        var performance: PerformanceDrift? = nil
        var online: [OnlineDetection] = []
        var onlineRecord: OnlineDetectorRecord? = nil
        var targets: [ColumnDrift] = []
        if let problem = production.referenceProblem { changes.append(problem) }
        let reference = production.reference ?? ReferenceProfile(columns: [])
        if let label = reference.label {
            let (result, change) = DriftDetector.label(label, data.column(label.name), policy: policy)
            targets.append(result)
            if let change { changes.append(change) }
        }
        do {
            let target = try production.target
            let output = try scorer.output(production, data, purpose: "new-data")
            if let prediction = reference.prediction {
                targets.append(DriftDetector.column(prediction, target.predictionColumn(output), policy: policy))
            }
            // Concept drift: the production model's errors on the new labelled rows (classification).
            if let errors = try misclassified(target, output, data) {
                let accuracy = Double(errors.filter { !$0 }.count) / Double(max(errors.count, 1))
                let referenceAccuracy = production.metrics[.accuracy]
                if let p = job.drift.performance, let referenceAccuracy {
                    performance = DriftDetector.accuracyDrop(
                        reference: referenceAccuracy, referenceRows: production.metrics.rows, current: accuracy,
                        currentRows: errors.count, minDrop: p.minDrop, alpha: p.pValue)
                }
                if useOnline, let referenceAccuracy {
                    var (monitor, seen) = try OnlineMonitor.load(job: job.name, version: version, registry: registry)
                    online = monitor.feed(errors, settings: job.drift, referenceErrorRate: 1 - referenceAccuracy)
                    onlineRecord = try monitor.record(job: job.name, version: version, rows: seen + errors.count)
                }
            }
        } catch {
            changes.append("production v\(version) cannot score the new data: \(error)")
        }
        let compared = DriftDetector.compare(reference: reference.columns, current: data, policy: policy)
        let report = DriftReport(
            columns: compared.columns, targets: targets, schemaChanges: changes + compared.schemaChanges,
            performance: performance, online: online, policy: policy)
        return (report, onlineRecord)
    }

    /// Whether the production model got each row wrong: at its decision threshold (binary), by its
    /// most probable class (multiclass); nil for regression, which has no accuracy.
    func misclassified(_ target: Target, _ output: [Double], _ data: DataTable) throws -> [Bool]? {
        switch target.task {
        case .binary:
            let threshold = production.threshold(job)
            return zip(try production.labels.encode(data), output).map { $0 != ($1 >= threshold) }
        case .multiclass:
            let predicted = MulticlassMetrics.predictions(probabilities: output, classes: target.classes.count)
            return zip(try target.encodeClasses(data), predicted).map { $0 != $1 }
        case .regression:
            return nil
        }
    }

    /// `updater drift JOB`: the job's new data (pending batches and settled files in the incoming
    /// directory that no run has read yet; else its newest accepted batch) against the production
    /// model, without training or recording anything.
    package static func latest(job: JobConfig, registry: Registry) throws -> (report: DriftReport, files: [String], version: Int) {
        guard let production = try ProductionModel.load(job: job.name, registry: registry) else {
            throw CycleError("\(job.name) has no model in production: there is no reference to compare with")
        }
        var files = try registry.pendingBatches(job: job.name).map { (stored: $0.storedPath, shown: $0.path) }
        for path in try IncomingScanner.settledFiles(job) {
            guard let stamp = Files.stamp(path),
                try !registry.isKnownFile(job: job.name, path: path, size: stamp.size, mtimeNs: stamp.mtimeNs)
            else { continue }
            files.append((path, path))
        }
        // Without new data, the newest accepted batch; the online detectors have already seen it.
        let alreadySeen = files.isEmpty
        if files.isEmpty, let last = try registry.consumedBatches(job: job.name).last { files = [(last.storedPath, last.path)] }
        guard !files.isEmpty else { throw CycleError("\(job.name) has no data to check") }
        let schema = try DataSchema(
            job: job, production: production, accepted: try registry.consumedBatches(job: job.name).last?.storedPath,
            candidates: files.map(\.stored))
        let tables = try files.map { try schema.load($0.stored, shownAs: $0.shown) }
        let data = tables.dropFirst().reduce(tables[0]) { $0.appending($1) }
        let scratch = NSTemporaryDirectory() + "updater-drift-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let scorer = Scorer(job: job, directory: scratch)
        let report = try DriftCheck(job: job, production: production, schema: schema, registry: registry, scorer: scorer)
            .run(on: data, online: !alreadySeen).report
        return (report, files.map(\.shown), production.record.version)
    }
}
