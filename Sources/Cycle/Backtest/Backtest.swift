import Drift
import Evaluation
import Foundation
import JobFiles
import Registry
import Support
import Tabular
import Trainers
import Training

/// `updater backtest`: replays a directory of labelled batches, in name order, through a job's real
/// cycle (the same drift check, policy, training engine, gate and promotion) in a scratch state
/// directory with an in-memory registry, and measures it prequentially: before each batch is
/// delivered, the model in production scores it. Nothing of the job's real state, deploy path or
/// webhooks is touched.
package struct Backtest {
    /// A policy to replay: the job's own, or a reference.
    package enum Policy: Sendable, Equatable {
        case job
        case never
        case every
        /// Knows where each concept starts (1-based batch numbers of the replay; batch 1 starts the
        /// first) and retrains on the new concept's batches only, after each of its first four.
        case oracle(changes: [Int])

        package var name: String {
            switch self {
            case .job: "job"
            case .never: "never"
            case .every: "every"
            case .oracle: "oracle"
            }
        }
    }

    /// What happened at one batch.
    package struct BatchResult: Sendable, Codable, Equatable {
        package var batch: Int
        package var file: String
        /// The version in production when the batch arrived, and its metrics on it (prequential).
        package var productionVersion: Int?
        package var metrics: [String: Double]?
        package var severity: String?
        package var decision: String?
        package var reason: String?
        /// The outcome of the cycle (`promoted`, `rejected`, `no_drift`, `shift`, `failed`, …).
        package var outcome: String
        package var candidateVersion: Int?
        package var trainingRows: Int
        /// The batch (of the replay) the training window started at.
        package var windowFrom: Int?
        package var cpuSeconds: Double
        /// A suspected change of concept confirmed by the candidate at this batch.
        package var change: Bool
        /// With late labels: production's performance estimated on the batch before its labels came
        /// (binary jobs), and whether the estimate fell far enough to be announced.
        package var estimated: [String: Double]? = nil
        package var estimatedDrop: Bool? = nil

        enum CodingKeys: String, CodingKey {
            case batch, file, metrics, severity, decision, reason, outcome, change
            case productionVersion = "production_version", candidateVersion = "candidate_version"
            case trainingRows = "training_rows", windowFrom = "window_from", cpuSeconds = "cpu_seconds"
            case estimated, estimatedDrop = "estimated_drop"
        }
    }

    /// One policy's replay.
    package struct Replay: Sendable, Codable, Equatable {
        package var label: String
        package var policy: String
        package var jobFile: String
        /// Mean of each prequential metric over the batches a model scored.
        package var means: [String: Double]
        package var trainingRows: Int
        package var cpuSeconds: Double
        package var versions: Int
        package var promotions: Int
        package var rejections: Int
        /// For each change of concept the job's policy confirmed (1-based batch): batches until this
        /// policy's main metric was back within `drift.performance.min_drop` of its level before it
        /// (nil: not within the replay).
        package var recovery: [Recovery]
        package var batches: [BatchResult]

        enum CodingKeys: String, CodingKey {
            case label, policy, means, versions, promotions, rejections, recovery, batches
            case jobFile = "job_file", trainingRows = "training_rows", cpuSeconds = "cpu_seconds"
        }
    }

    package struct Recovery: Sendable, Codable, Equatable {
        package var change: Int
        package var batches: Int?
    }

    /// The batch files of `directory`: `*.csv`, not hidden, in name order.
    package static func batchFiles(in directory: String) throws -> [String] {
        guard Files.isDirectory(directory) else { throw FileError(directory, "batches directory does not exist") }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".csv") }.sorted()
        guard !names.isEmpty else { throw FileError(directory, "holds no .csv batch") }
        return names.map { directory + "/" + $0 }
    }

    /// The metrics a replay measures for a task: accuracy and ROC-AUC (binary), accuracy
    /// (multiclass), RMSE (regression). The first is the main one.
    package static func metrics(for task: Training.Task) -> [MetricName] {
        switch task {
        case .binary: [.accuracy, .rocAUC]
        case .multiclass: [.accuracy]
        case .regression: [.rmse]
        }
    }

    package let job: JobConfig
    package let files: [String]
    package let label: String
    /// Labels of batch t arrive with batch t + `labelDelay` (0: every batch comes labelled): each
    /// batch is delivered without its label column, and its labels later as a label file of
    /// data.labels, joined by id (the job's data.id, else a row id the replay adds).
    package var labelDelay = 0

    package init(job: JobConfig, files: [String], label: String, labelDelay: Int = 0) {
        self.job = job
        self.files = files
        self.label = label
        self.labelDelay = labelDelay
    }

    /// The column a replay with late labels joins them by when the job has no data.id.
    static let replayID = "updater_backtest_row"

    /// Replays every batch under `policy`; `progress(done, total)` after each.
    package func replay(_ policy: Policy, progress: (Int, Int) -> Void = { _, _ in }) throws -> Replay {
        let scratch = NSTemporaryDirectory() + "updater-backtest-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try Files.makeDirectories(scratch + "/incoming")
        try Files.makeDirectories(scratch + "/deploy")
        var local = job
        local.data.incoming = scratch + "/incoming"
        local.data.settleSeconds = 0
        local.deploy.path = scratch + "/deploy/" + Files.baseName(job.deploy.path)
        // No serving system hears of a replay: no deploy command, no ONNX file to make.
        local.deploy.command = nil
        local.deploy.formats = [.updater]
        local.webhooks = []
        if labelDelay > 0 {
            local.data.id = job.data.id ?? Self.replayID
            local.data.labels = scratch + "/labels"
            try Files.makeDirectories(scratch + "/labels")
        }
        var lateLabels: [[UInt8]] = []
        let registry = try Registry.inMemory()
        let state = StateDirectory(path: scratch + "/state")
        var cycle = UpdateCycle(registry: registry, state: state, log: .silent, engine: TrainingEngine(concurrency: 1))
        switch policy {
        case .job, .oracle: break
        case .never: cycle.reference = .never
        case .every: cycle.reference = .every
        }
        let measured = Self.metrics(for: job.data.task)
        var results: [BatchResult] = []
        for (i, file) in files.enumerated() {
            if case .oracle(let changes) = policy {
                // The newest concept's start, and whether this batch is one of its first four.
                let start = ([1] + changes).filter { $0 <= i + 1 }.max() ?? 1
                cycle.reference = i + 1 - start < 4 ? .recent(batches: i + 2 - start) : .never
            }
            let production = try ProductionModel.load(job: local.name, registry: registry)
            let scores = try production.map { try score(file, production: $0, registry: registry, measured: measured) }
            let name = String(format: "%05d-", i + 1) + Files.baseName(file)
            if labelDelay > 0 {
                let (features, labels) = try split(file, batch: i + 1, id: local.data.id!)
                try Files.writeAtomically(features, to: local.data.incoming + "/" + name)
                lateLabels.append(labels)
                if i >= labelDelay {
                    try Files.writeAtomically(lateLabels[i - labelDelay], to: local.data.labels! + "/" + String(format: "%05d-labels.csv", i + 1 - labelDelay))
                }
            } else {
                try Files.writeAtomically(try Files.read(file), to: local.data.incoming + "/" + name)
            }
            let outcome = cycle.run(local)
            let run = try outcome.runID.flatMap { try registry.run($0) }
            let report = try run?.driftReport.map { try decodeJSON(DriftReport.self, $0) }
            let trained = run?.candidateVersion != nil
            let confirmed = try outcome.runID.map { id in try registry.conceptChanges(job: local.name).contains { $0.runID == id && $0.state == .confirmed } } ?? false
            // Batches are delivered as NNNNN-NAME.csv: the number is the batch of the replay.
            let from = try run?.windowFromBatch.flatMap { id in
                try registry.batches(of: local.name).first { $0.id == id }.flatMap { Int(Files.baseName($0.path).prefix(5)) }
            }
            var result = BatchResult(
                batch: i + 1, file: Files.baseName(file), productionVersion: production?.record.version, metrics: scores ?? nil,
                severity: report?.severity.rawValue, decision: run?.decision, reason: run?.reason ?? outcome.message, outcome: outcome.kind.rawValue,
                candidateVersion: run?.candidateVersion, trainingRows: trained ? run?.trainingRows ?? 0 : 0, windowFrom: trained ? from : nil,
                cpuSeconds: trained ? run?.cpuSeconds ?? 0 : 0, change: confirmed)
            if labelDelay > 0, let id = try registry.batches(of: local.name).first(where: { Files.baseName($0.path) == name })?.id,
                let e = try registry.estimates(job: local.name).first(where: { $0.batchID == id }),
                let estimate = try? decodeJSON(PerformanceEstimate.self, e.estimate)
            {
                result.estimated = Dictionary(estimate.metrics.map { ($0.metric, $0.value) }, uniquingKeysWith: { a, _ in a })
                result.estimatedDrop = e.dropped
            }
            results.append(result)
            progress(i + 1, files.count)
        }
        let versions = try registry.versions(of: local.name)
        let history = try registry.history(of: local.name)
        var means: [String: Double] = [:]
        for m in measured {
            let values = results.compactMap { $0.metrics?[m.rawValue] }.filter { !$0.isNaN }
            if !values.isEmpty { means[m.rawValue] = values.reduce(0, +) / Double(values.count) }
        }
        return Replay(
            label: label, policy: policy.name, jobFile: job.file, means: means,
            trainingRows: results.reduce(0) { $0 + $1.trainingRows }, cpuSeconds: results.reduce(0) { $0 + $1.cpuSeconds },
            versions: versions.count, promotions: history.count, rejections: versions.filter { $0.status == .rejected }.count,
            recovery: [], batches: results)
    }

    /// A batch as it arrives when its labels come later: without the label column (with a row id
    /// column when the job has no data.id), and its label file (`id,label`).
    func split(_ file: String, batch: Int, id: String) throws -> (features: [UInt8], labels: [UInt8]) {
        let text = try CSVReader.read(file: file, options: CSVOptions { _ in .categorical })
        var table = text
        if table.index(of: id) == nil {
            let ids = Column.text((0..<table.rowCount).map { "\(batch)-\($0 + 1)" })
            table = DataTable(names: [id] + table.names, columns: [ids] + table.columns)
        }
        guard table.index(of: job.data.label) != nil else { throw FileError(file, "has no label column \"\(job.data.label)\"") }
        let features = CSVWriter.encode(table, columns: table.names.filter { $0 != job.data.label })
        return (features, CSVWriter.encode(table, columns: [id, job.data.label]))
    }

    /// Production's metrics on a batch before it is delivered; nil when it cannot be read or scored.
    func score(_ file: String, production: ProductionModel, registry: Registry, measured: [MetricName]) throws -> [String: Double]? {
        do {
            let schema = try DataSchema(job: job, production: production, accepted: nil, candidates: [file])
            let table = try schema.load(file, shownAs: file, badRows: job.data.badRows, labelled: true).table
            let scorer = Scorer(job: job, directory: NSTemporaryDirectory() + "updater-backtest-score-\(getpid())")
            let output = try scorer.output(production, table, purpose: "backtest")
            let computed = try production.target.truth(table).metrics(output, threshold: production.threshold(job))
            var out: [String: Double] = [:]
            for m in measured { out[m.rawValue] = computed.value(of: m) ?? .nan }
            return out
        } catch {
            return nil
        }
    }

    /// Fills in each replay's recovery after the changes of concept `changes` (1-based batches):
    /// batches until its main metric was back within `tolerance` (for a lower-is-better metric,
    /// relative) of the best level any of `replays` held over three batches in a row of that concept.
    /// Measuring against the best policy's level, not the level before the change, keeps a concept
    /// that is harder than the last one from counting as never recovered.
    package static func recovery(_ replays: inout [Replay], changes: [Int], metric: MetricName, tolerance: Double) {
        let higher = metric.definition.higherIsBetter
        let series = replays.map { r in r.batches.map { $0.metrics?[metric.rawValue].flatMap { $0.isNaN ? nil : $0 } } }
        let count = series.first?.count ?? 0
        let recoveries: [[Recovery]] = series.map { values in
            changes.map { change in
                let end = changes.first { $0 > change } ?? count + 1
                var best: Double? = nil
                for values in series where end - change >= 3 {
                    for b in change...(end - 3) {
                        let window = (b..<b + 3).compactMap { values[$0 - 1] }
                        guard window.count == 3 else { continue }
                        let mean = window.reduce(0, +) / 3
                        best = best.map { higher ? max($0, mean) : min($0, mean) } ?? mean
                    }
                }
                guard let level = best else { return Recovery(change: change, batches: nil) }
                for b in change..<end {
                    guard let v = values[b - 1] else { continue }
                    if higher ? v >= level - tolerance : v <= level * (1 + tolerance) { return Recovery(change: change, batches: b - change) }
                }
                return Recovery(change: change, batches: nil)
            }
        }
        for i in replays.indices { replays[i].recovery = recoveries[i] }
    }
}
