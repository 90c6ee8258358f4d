import Foundation
import GRDB

/// One row production scored (or that arrived before any model) of a job with `data.id`: the
/// prediction log. Its label is known at arrival (`label_source` "batch"), joined later from a label
/// file ("labels"), or not yet.
package struct PredictionRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "prediction"
    package var id: Int64?
    package var job: String
    package var batchID: Int64
    /// The row's data row number in its batch file (1-based).
    package var row: Int
    package var rowID: String
    /// The version in production that scored it; nil when none was.
    package var version: Int?
    /// Binary: the positive class's probability; multiclass: the predicted class's; regression: the value.
    package var score: Double?
    /// The class it predicted (nil for regression: the value is `score`).
    package var prediction: String?
    package var label: String?
    /// "batch" (it came with its label) or "labels" (joined from a label file).
    package var labelSource: String?
    package var labelFileID: Int64?
    /// `version`'s loss on the row once its label is known: 1 misclassified, 0 right; or the squared error.
    package var loss: Double?
    /// The batch of joined rows it was made a training and evaluation row in.
    package var joinedBatchID: Int64?
    package var at: Date

    enum CodingKeys: String, CodingKey {
        case id, job, row, version, score, prediction, label, loss, at
        case batchID = "batch_id", rowID = "row_id", labelSource = "label_source", labelFileID = "label_file_id"
        case joinedBatchID = "joined_batch_id"
    }

    package init(
        job: String, batchID: Int64, row: Int, rowID: String, version: Int?, score: Double?, prediction: String?, label: String?, at: Date
    ) {
        (self.job, self.batchID, self.row, self.rowID, self.version, self.score, self.prediction) = (job, batchID, row, rowID, version, score, prediction)
        (self.label, self.labelSource, self.at) = (label, label == nil ? nil : "batch", at)
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// The loss of the version that scored the row, given its label: for a class, 1 when it
    /// predicted another, else 0; for a value, the squared error. Nil when no version scored it.
    package func loss(label: String) -> Double? {
        guard version != nil else { return nil }
        if let prediction { return prediction == label ? 0 : 1 }
        guard let score, let y = Double(label) else { return nil }
        return (score - y) * (score - y)
    }
}

/// A label file read from `data.labels`, registered once by content, and what its lines did.
package struct LabelFileRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, MutablePersistableRecord {
    package static let databaseTableName = "label_file"
    package var id: Int64?
    package var job: String
    package var path: String
    package var storedPath: String
    package var size: Int64
    package var mtimeNs: Int64
    package var sha256: String
    /// Labels it holds, one per id (of an id given twice in it, the later line's).
    package var rows = 0
    /// Labels given to rows waiting for theirs.
    package var joined = 0
    /// Labels for ids no batch has brought yet: kept, and joined when the row arrives.
    package var unseen = 0
    /// Labels that replaced another for the same row: an earlier file's, not yet made a training row,
    /// or an earlier line's of this file. The later one wins.
    package var relabelled = 0
    /// Labels for rows that came with a label or were already joined and trained on: recorded here, not used.
    package var ignored = 0
    /// Why the file could not be read; nothing of it was applied.
    package var error: String?
    package var firstSeenAt: Date

    enum CodingKeys: String, CodingKey {
        case id, job, path, size, sha256, rows, joined, unseen, relabelled, ignored, error
        case storedPath = "stored_path", mtimeNs = "mtime_ns", firstSeenAt = "first_seen_at"
    }

    package init(job: String, path: String, storedPath: String, size: Int64, mtimeNs: Int64, sha256: String, at: Date) {
        (self.job, self.path, self.storedPath, self.size, self.mtimeNs, self.sha256, self.firstSeenAt) = (job, path, storedPath, size, mtimeNs, sha256, at)
    }

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// "joined 180, for ids not seen yet 12, relabelled 3, ignored 5 (came labelled or already trained on)".
    package var summary: String {
        if let error { return "not applied: \(error)" }
        var parts = ["\(rows) label\(rows == 1 ? "" : "s"): \(joined) joined"]
        if unseen > 0 { parts.append("\(unseen) for ids not seen yet (joined when their rows arrive)") }
        if relabelled > 0 { parts.append("\(relabelled) replaced an earlier label of the same row (the later one wins)") }
        if ignored > 0 { parts.append("\(ignored) ignored (the row came with a label, or an earlier label already made it a training row)") }
        return parts.joined(separator: ", ")
    }
}

/// Production's estimated performance on one batch's rows without labels.
package struct EstimatedBatchRecord: Codable, Sendable, Equatable, FetchableRecord, StoredDates, PersistableRecord {
    package static let databaseTableName = "estimated_batch"
    package var job: String
    package var batchID: Int64
    package var runID: Int64
    package var version: Int
    package var rows: Int
    /// JSON of the estimate (metrics, intervals, reference levels).
    package var estimate: String
    /// Whether the estimate fell past the gate's minimum or the reference level (an event was sent).
    package var dropped: Bool
    package var at: Date

    enum CodingKeys: String, CodingKey {
        case job, version, rows, estimate, dropped, at
        case batchID = "batch_id", runID = "run_id"
    }

    package init(job: String, batchID: Int64, runID: Int64, version: Int, rows: Int, estimate: String, dropped: Bool, at: Date) {
        (self.job, self.batchID, self.runID, self.version, self.rows, self.estimate, self.dropped, self.at) = (job, batchID, runID, version, rows, estimate, dropped, at)
    }
}

/// Production's realized performance on one batch once labels of its rows arrived later.
package struct RealizedBatch: Sendable, Equatable, FetchableRecord, StoredDates, Codable {
    package var batchID: Int64
    package var version: Int
    /// Rows of the batch that came without a label, and how many of them have one now.
    package var rows: Int
    package var labelled: Int
    package var lossSum: Double
    package var lossSumSquares: Double
    /// The scores are values (regression): the loss is the squared error.
    package var regression: Bool

    enum CodingKeys: String, CodingKey {
        case version, rows, labelled, regression
        case batchID = "batch_id", lossSum = "loss_sum", lossSumSquares = "loss_sum_squares"
    }

    /// `accuracy` (1 − mean loss), or `rmse` (√ mean squared error) for regression.
    package var metric: String { regression ? "rmse" : "accuracy" }
    package var value: Double {
        let mean = lossSum / Double(max(labelled, 1))
        return regression ? mean.squareRoot() : 1 - mean
    }
}

extension Registry {
    /// The label file already registered for this path, size and modification time, or with this content.
    package func knownLabelFile(job: String, path: String, size: Int64, mtimeNs: Int64, sha256: String? = nil) throws -> LabelFileRecord? {
        try db.read { db in
            if let same = try LabelFileRecord.filter(Column("job") == job && Column("path") == path && Column("size") == size && Column("mtime_ns") == mtimeNs).fetchOne(db) {
                return same
            }
            guard let sha256 else { return nil }
            return try LabelFileRecord.filter(Column("job") == job && Column("sha256") == sha256).fetchOne(db)
        }
    }

    /// Records a label file that could not be read, so it is said once and shown by `updater batches`.
    package func rejectLabelFile(_ file: LabelFileRecord, error: String) throws {
        var f = file
        f.storedPath = stored(f.storedPath)
        f.error = error
        try db.write { db in try f.insert(db) }
    }

    /// Applies a label file's labels (id, label; a repeated id: the later line) in one transaction
    /// with its record: each label goes to the newest row with its id that waits for one; a row
    /// labelled by an earlier file and not yet made a training row takes the later label; a label
    /// for a row that came labelled or was already trained on is counted and ignored; a label for an
    /// id not seen yet is kept until its row arrives.
    package func applyLabels(_ file: LabelFileRecord, labels: [(id: String, label: String)]) throws -> LabelFileRecord {
        var f = file
        f.storedPath = stored(f.storedPath)
        return try db.write { db in
            try f.insert(db)
            var last: [String: String] = [:]
            var order: [String] = []
            for (id, label) in labels {
                // An id given twice in one file: the later line wins, and it is counted as relabelled.
                if last.updateValue(label, forKey: id) == nil { order.append(id) } else { f.relabelled += 1 }
            }
            f.rows = order.count
            for id in order {
                let label = last[id]!
                let rows = try PredictionRecord.filter(Column("job") == f.job && Column("row_id") == id).order(Column("id").desc).fetchAll(db)
                // The newest row with this id that can still take a label, else the newest.
                guard var row = rows.first(where: { $0.labelSource != "batch" && $0.joinedBatchID == nil }) ?? rows.first else {
                    // A label kept from an earlier file for this id is replaced: that file's label no
                    // longer waits, this one does.
                    if let earlier = try Int64.fetchOne(
                        db, sql: "SELECT label_file_id FROM pending_label WHERE job = ? AND row_id = ?", arguments: [f.job, id])
                    {
                        try db.execute(sql: "UPDATE label_file SET unseen = unseen - 1 WHERE id = ?", arguments: [earlier])
                        f.relabelled += 1
                    }
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO pending_label (job, row_id, label, label_file_id) VALUES (?, ?, ?, ?)",
                        arguments: [f.job, id, label, f.id])
                    f.unseen += 1
                    continue
                }
                if row.labelSource == "batch" || row.joinedBatchID != nil {
                    f.ignored += 1
                    continue
                }
                if row.label != nil { f.relabelled += 1 } else { f.joined += 1 }
                row.label = label
                row.labelSource = "labels"
                row.labelFileID = f.id
                row.loss = row.loss(label: label)
                try row.update(db)
            }
            try f.update(db)
            return f
        }
    }

    /// Rows whose labels arrived and that no batch of joined rows holds yet, oldest first.
    package func rowsAwaitingJoin(job: String) throws -> [PredictionRecord] {
        try db.read { db in
            try PredictionRecord.filter(Column("job") == job && Column("label_source") == "labels" && Column("joined_batch_id") == nil)
                .order(Column("batch_id"), Column("row")).fetchAll(db)
        }
    }

    /// Registers a batch updater made of rows whose labels arrived (its file already written), and
    /// marks them as its rows, in one transaction.
    package func registerJoinedBatch(
        job: String, path: String, storedPath: String, size: Int64, sha256: String, rows: [Int64], now: Date
    ) throws -> BatchRecord {
        let storedPath = stored(storedPath)
        let batch = try db.write { db in
            var batch = BatchRecord(
                id: nil, job: job, path: path, storedPath: storedPath, size: size, sha256: sha256, rowCount: nil, firstSeenAt: now,
                status: .pending, error: nil, runID: nil)
            batch.joined = true
            try batch.insert(db)
            for chunk in stride(from: 0, to: rows.count, by: 500) {
                let ids = rows[chunk..<min(chunk + 500, rows.count)]
                try db.execute(
                    sql: "UPDATE prediction SET joined_batch_id = ? WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                    arguments: StatementArguments([batch.id] + ids.map { $0 as (any DatabaseValueConvertible)? }))
            }
            return batch
        }
        return resolved(batch)
    }

    /// Inserts prediction rows and gives those whose id has a label waiting (from a label file that
    /// came first) that label. Part of a run's consumption.
    static func log(_ db: Database, _ predictions: [PredictionRecord]) throws {
        for var p in predictions {
            guard let pending = try Row.fetchOne(db, sql: "SELECT label, label_file_id FROM pending_label WHERE job = ? AND row_id = ?", arguments: [p.job, p.rowID])
            else {
                try p.insert(db)
                continue
            }
            if p.label != nil {
                // The row came with its own label: the one that waited for it is not used.
                try db.execute(sql: "DELETE FROM pending_label WHERE job = ? AND row_id = ?", arguments: [p.job, p.rowID])
                try db.execute(sql: "UPDATE label_file SET ignored = ignored + 1, unseen = unseen - 1 WHERE id = ?", arguments: [pending["label_file_id"] as Int64?])
            } else {
                let label: String = pending["label"]
                p.label = label
                p.labelSource = "labels"
                p.labelFileID = pending["label_file_id"]
                p.loss = p.loss(label: label)
                try db.execute(sql: "DELETE FROM pending_label WHERE job = ? AND row_id = ?", arguments: [p.job, p.rowID])
                try db.execute(sql: "UPDATE label_file SET joined = joined + 1, unseen = unseen - 1 WHERE id = ?", arguments: [p.labelFileID])
            }
            try p.insert(db)
        }
    }

    /// The prediction log of a job, newest batch first; of one batch when `batch` is given.
    package func predictions(job: String, batch: Int64? = nil, limit: Int? = nil) throws -> [PredictionRecord] {
        try db.read { db in
            var q = PredictionRecord.filter(Column("job") == job)
            if let batch { q = q.filter(Column("batch_id") == batch) }
            q = q.order(Column("batch_id").desc, Column("row"))
            if let limit { q = q.limit(limit) }
            return try q.fetchAll(db)
        }
    }

    /// The batches whose rows are in the prediction log (read while the job had data.id).
    package func loggedBatches(job: String) throws -> Set<Int64> {
        try db.read { db in Set(try Int64.fetchAll(db, sql: "SELECT DISTINCT batch_id FROM prediction WHERE job = ?", arguments: [job])) }
    }

    package func labelFiles(job: String) throws -> [LabelFileRecord] {
        try db.read { db in try LabelFileRecord.filter(Column("job") == job).order(Column("id")).fetchAll(db) }
    }

    /// Labels kept for ids no batch has brought yet.
    package func pendingLabels(job: String) throws -> Int {
        try db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pending_label WHERE job = ?", arguments: [job]) ?? 0 }
    }

    /// Production's realized performance per batch on its rows that came without a label, by the
    /// version that scored them, once some of their labels arrived; oldest batch first.
    package func realizedPerformance(job: String) throws -> [RealizedBatch] {
        try db.read { db in
            try RealizedBatch.fetchAll(
                db,
                sql: """
                    SELECT batch_id, version, COUNT(*) AS rows, COUNT(loss) AS labelled, MAX(prediction IS NULL) AS regression,
                           COALESCE(SUM(loss), 0) AS loss_sum, COALESCE(SUM(loss * loss), 0) AS loss_sum_squares
                    FROM prediction
                    WHERE job = ? AND version IS NOT NULL AND (label_source IS NULL OR label_source = 'labels')
                    GROUP BY batch_id, version HAVING COUNT(loss) > 0 ORDER BY batch_id
                    """, arguments: [job])
        }
    }

    /// Per batch with logged rows: how many, how many came without a label, how many of those have
    /// one now, and whether its scores are values (regression).
    package struct PredictionCounts: Sendable, FetchableRecord, StoredDates, Decodable {
        package var batch: Int64
        package var rows: Int
        package var unlabelled: Int
        package var labelledLater: Int
        package var regression: Bool

        package init(batch: Int64, rows: Int, unlabelled: Int, labelledLater: Int, regression: Bool) {
            (self.batch, self.rows, self.unlabelled, self.labelledLater, self.regression) = (batch, rows, unlabelled, labelledLater, regression)
        }

        enum CodingKeys: String, CodingKey {
            case batch = "batch_id", rows, unlabelled, regression
            case labelledLater = "labelled_later"
        }
    }

    package func predictionCounts(job: String) throws -> [PredictionCounts] {
        try db.read { db in
            try PredictionCounts.fetchAll(
                db,
                sql: """
                    SELECT batch_id, COUNT(*) AS rows,
                           SUM(label_source IS NULL OR label_source = 'labels') AS unlabelled,
                           COALESCE(SUM(label_source = 'labels'), 0) AS labelled_later,
                           MAX(prediction IS NULL AND score IS NOT NULL) AS regression
                    FROM prediction WHERE job = ? GROUP BY batch_id ORDER BY batch_id
                    """, arguments: [job])
        }
    }

    package func estimates(job: String) throws -> [EstimatedBatchRecord] {
        try db.read { db in try EstimatedBatchRecord.filter(Column("job") == job).order(Column("batch_id")).fetchAll(db) }
    }
}
