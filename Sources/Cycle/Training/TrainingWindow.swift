import Drift
import Foundation
import JobFiles
import Logging
import Registry
import Support
import Tabular

/// The batches accepted by earlier runs that a training may draw on: from the start of the current
/// concept (or the job's first batch), newest first until `training.window_rows` training rows
/// (and within `training.window_days`), kept in arrival order.
struct EarlierBatches {
    var batches: [SplitBatch]

    /// `since`: the first batch of the current concept, nil for no limit. A stored batch that no
    /// longer loads with the current columns is left out, with a warning.
    static func load(
        _ job: JobConfig, since start: Int64?, schema: DataSchema, registry: Registry, now: Date, log: Logger
    ) throws -> EarlierBatches {
        var out: [SplitBatch] = []
        var count = 0
        let oldest = job.training.windowDays.map { now.addingTimeInterval(-Double($0) * 86_400) } ?? .distantPast
        // A batch read before the job had data.id keeps the split it was read with (by its content
        // and row), so that adding data.id never turns its evaluation rows into training rows.
        let byID = job.data.id == nil ? [] : try registry.loggedBatches(job: job.name)
        for batch in try registry.consumedBatches(job: job.name).reversed() where count < job.training.windowRows {
            guard batch.firstSeenAt >= oldest, batch.id ?? 0 >= start ?? Int64.min else { break }
            do {
                let loaded = try schema.load(batch.storedPath, shownAs: batch.path, badRows: .asBefore)
                let ids = batch.joined || byID.contains(batch.id ?? -1) ? loaded.ids : nil
                let split = SplitBatch(batch, loaded.table, ids: ids, job: job)
                out.append(split)
                count += split.train.rowCount
            } catch {
                log.warning("stored batch \(batch.id ?? 0) no longer fits the model's columns and is left out of training: \(error)")
            }
        }
        return EarlierBatches(batches: out.reversed())
    }

    /// Training rows the concept starting at `start` holds among the earlier batches, without
    /// reading them (for the warm-up rule).
    static func trainingRows(_ job: JobConfig, since start: Int64?, registry: Registry, now: Date) throws -> Int {
        let oldest = job.training.windowDays.map { now.addingTimeInterval(-Double($0) * 86_400) } ?? .distantPast
        return try registry.consumedBatches(job: job.name)
            .filter { $0.firstSeenAt >= oldest && $0.id ?? 0 >= start ?? Int64.min }
            .reduce(0) { $0 + SplitBatch.trainingRows(sha256: $1.sha256, rows: $1.rowCount ?? 0, job: job) }
    }
}

/// The rows a candidate trains on, with fingerprints of exactly which and a sentence saying why.
///
/// - Full: the training rows of the window's batches, oldest first, then the new ones; only the
///   newest `window_rows` are kept. After a suspected change of concept the window holds only the
///   batches from the change on; otherwise it starts at the current concept's first batch.
/// - Incremental: the new training rows plus a replay sample of `replay_fraction` × the parent's
///   training rows, drawn from the earlier batches with the seed and the run.
struct TrainingWindow {
    var table: DataTable
    /// The replay sample (incremental only), also the last rows of `table`.
    var replay: DataTable?
    var fingerprint: String
    var replayFingerprint: String?
    /// The first batch of the window and how many batches it spans.
    var fromBatch: Int64?
    var batches: Int
    /// Which rows, and why these.
    var reason: String

    static func select(
        _ plan: TrainingPlan, concept start: Int64?, new: [SplitBatch], earlier: EarlierBatches, production: ProductionModel?,
        job: JobConfig, run: Int64
    ) throws -> TrainingWindow {
        let t = job.training
        if plan.mode == .incremental, let parent = production {
            let older = concatenated(earlier.batches.map(\.train))
            let k = Int((t.replayFraction * Double(parent.record.trainingRows)).rounded())
            let seed = t.seed ^ UInt64(run)
            let picked = sampleIndexes(older?.rowCount ?? 0, k, seed: seed)
            let replay = older.map { $0.rows(picked) }
            guard let table = concatenated([concatenated(new.map(\.train)), replay].compactMap { $0 }) else {
                throw CycleError("no training rows")
            }
            let replayLines = earlier.batches.map { "\($0.record.sha256):train" } + ["replay:\(picked.count):seed:\(seed)"]
            return TrainingWindow(
                table: table, replay: replay, fingerprint: fingerprint(new), replayFingerprint: Files.sha256(replayLines.joined(separator: "\n")),
                fromBatch: new.first?.record.id, batches: new.count,
                reason: "the \(new.count) new batch\(new.count == 1 ? "" : "es") and \(picked.count) rows replayed from \(earlier.batches.count) earlier one\(earlier.batches.count == 1 ? "" : "s") (replay_fraction \(t.replayFraction) of v\(parent.record.version)'s \(parent.record.trainingRows) rows)")
        }
        var parts = earlier.batches + new
        var why: String
        switch plan.purpose {
        case .conceptChange(let batch):
            parts = new.filter { ($0.record.id ?? 0) >= batch }
            why = "only the rows from batch \(batch), where production's performance fell, on: older rows belong to the concept before the change"
        case .reference(let k?):
            parts = Array(parts.suffix(k))
            why = "the newest \(k) batch\(k == 1 ? "" : "es") (reference policy oracle)"
        case .reference(nil):
            why = "the newest rows, whatever the concept (reference policy every)"
        default:
            why = start.map { "the rows since the change of concept at batch \($0)" } ?? "the rows since the job's first batch (no change of concept so far)"
        }
        guard var table = concatenated(parts.map(\.train)) else { throw CycleError("no training rows: no accepted batches yet") }
        var lines = parts.map { "\($0.record.sha256):train" }
        if table.rowCount > t.windowRows {
            table = table.rows(Array((table.rowCount - t.windowRows)..<table.rowCount))
            lines.append("tail:\(t.windowRows)")
            why += ", the newest \(t.windowRows) of them (window_rows)"
            // Batches whose rows all fell out of the window are not part of it.
            var kept = 0, count = 0
            for p in parts.reversed() where kept < t.windowRows {
                kept += p.train.rowCount
                count += 1
            }
            parts = Array(parts.suffix(count))
        }
        let reason = "\(table.rowCount) training rows of \(parts.count) batch\(parts.count == 1 ? "" : "es")"
            + (parts.first?.record.id.map { " from batch \($0)" } ?? "") + ": " + why
        return TrainingWindow(
            table: table, replay: nil, fingerprint: Files.sha256(lines.joined(separator: "\n")), replayFingerprint: nil,
            fromBatch: parts.first?.record.id, batches: parts.count, reason: reason)
    }

    static func fingerprint(_ batches: [SplitBatch]) -> String {
        Files.sha256(batches.map { "\($0.record.sha256):train" }.joined(separator: "\n"))
    }
}

/// The rows every candidate of a run is judged on: the held-out rows of the new batches (after a
/// suspected change, of those from the change on); without new batches (a requested retrain),
/// those of the newest earlier batches, up to `gate.min_rows`; or the job's holdout file.
enum EvaluationRows {
    static func select(
        _ job: JobConfig, plan: TrainingPlan, new: [SplitBatch], earlier: EarlierBatches, schema: DataSchema
    ) throws -> DataTable {
        if case .file(let path) = job.data.holdout { return try schema.load(path, shownAs: path, badRows: job.data.badRows, labelled: true).table }
        var fromNew = new
        if case .conceptChange(let batch) = plan.purpose { fromNew = new.filter { ($0.record.id ?? 0) >= batch } }
        // New batches whose rows all came without labels hold no evaluation rows.
        var parts = fromNew.compactMap(\.eval).filter { $0.rowCount > 0 }
        if parts.isEmpty {
            var rows = 0
            for b in earlier.batches.reversed() where rows < max(job.gate.minRows, 1) {
                guard let e = b.eval else { continue }
                parts.append(e)
                rows += e.rowCount
            }
        }
        guard let table = concatenated(parts) ?? new.first?.train.emptyCopy ?? earlier.batches.first?.train.emptyCopy else {
            throw CycleError("no training rows: no accepted batches yet")
        }
        return table
    }
}
