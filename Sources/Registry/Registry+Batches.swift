import Foundation
import GRDB

/// A person's say over a job's batches (`updater batches`), each recorded with who and why.
extension Registry {
    package struct BatchActionError: Error, CustomStringConvertible, Sendable {
        package var description: String
    }

    /// Lets a rejected (or set-aside) batch be read again by the next run, after its cause was fixed
    /// (the job file, say): pending again, its interruptions forgotten.
    @discardableResult
    package func retry(batch id: Int64, job: String, actor: String, reason: String?, now: Date = Date()) throws -> BatchRecord {
        try act(.retry, batch: id, job: job, actor: actor, reason: reason, now: now) { b in
            guard b.status == .rejected else {
                throw BatchActionError(description: "batch \(id) of \(job) is \(b.status.rawValue), not rejected: only a rejected or set-aside batch is retried")
            }
            b.status = .pending
            b.attempts = 0
            b.error = nil
            b.runID = nil
            b.rowCount = nil
        }
    }

    /// Batches a run rejected while the job file had another content (a column read as a number
    /// that holds text, before `data.categorical` was fixed): after the job file changes they are
    /// read again, recorded as a retry by `updater`. Set-aside batches wait for a person.
    package func retryRejectedUnderEarlierJobFile(job: String, fileHash: String, now: Date = Date()) throws -> [BatchRecord] {
        let candidates = try db.read { db in
            try BatchRecord.fetchAll(
                db,
                sql: """
                    SELECT batch.* FROM batch JOIN run ON run.id = batch.run_id
                    WHERE batch.job = ? AND batch.status = 'rejected' AND batch.attempts < ? AND run.job_file_hash != ?
                    ORDER BY batch.id
                    """, arguments: [job, Registry.maxInterruptedAttempts, fileHash])
        }
        return try candidates.map { b in
            try retry(batch: b.id ?? 0, job: job, actor: "updater", reason: "rejected under an earlier job file; the job file changed", now: now)
        }
    }

    /// Takes a consumed batch out of every future training window (bad labels, say), or puts it
    /// back (`include`).
    @discardableResult
    package func exclude(batch id: Int64, job: String, excluded: Bool, actor: String, reason: String?, now: Date = Date()) throws
        -> BatchRecord
    {
        try act(excluded ? .exclude : .include, batch: id, job: job, actor: actor, reason: reason, now: now) { b in
            guard b.status == .consumed else {
                throw BatchActionError(description: "batch \(id) of \(job) is \(b.status.rawValue): only a batch a run has read can be \(excluded ? "excluded from" : "included in") training")
            }
            guard b.excluded != excluded else {
                throw BatchActionError(description: "batch \(id) of \(job) is already \(excluded ? "excluded" : "included")")
            }
            b.excluded = excluded
        }
    }

    private func act(
        _ action: BatchActionRecord.Action, batch id: Int64, job: String, actor: String, reason: String?, now: Date,
        _ change: @Sendable (inout BatchRecord) throws -> Void
    ) throws -> BatchRecord {
        resolved(try db.write { db in
            guard var b = try BatchRecord.fetchOne(db, key: id), b.job == job else {
                throw BatchActionError(description: "\(job) has no batch \(id) (updater batches \(job) lists them)")
            }
            try change(&b)
            try b.update(db)
            var record = BatchActionRecord(job: job, batchID: id, action: action, actor: actor, reason: reason, at: now)
            try record.insert(db)
            return b
        })
    }

    /// The actions people took on `job`'s batches, oldest first.
    package func batchActions(job: String) throws -> [BatchActionRecord] {
        try db.read { db in try BatchActionRecord.filter(Column("job") == job).order(Column("id")).fetchAll(db) }
    }

    /// The paths seen for `job` in its incoming directory, with the batch each last registered as.
    package func knownFile(job: String, path: String) throws -> [(size: Int64, batch: BatchRecord)] {
        try db.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT size, batch_id FROM incoming_file WHERE job = ? AND path = ? ORDER BY seen_at", arguments: [job, path])
            return try rows.compactMap { row -> (Int64, BatchRecord)? in
                guard let batch = try BatchRecord.fetchOne(db, key: row["batch_id"] as Int64) else { return nil }
                return (row["size"], batch)
            }
        }.map { ($0.0, resolved($0.1)) }
    }

    /// Records a stamp of a file that grew after it was read as `batch`, so it is reported once and
    /// not read as a second batch.
    package func noteGrownFile(job: String, path: String, size: Int64, mtimeNs: Int64, sha256: String, batch: Int64, now: Date = Date())
        throws
    {
        try db.write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO incoming_file (job, path, size, mtime_ns, sha256, batch_id, seen_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [job, path, size, mtimeNs, sha256, batch, StoredDate.databaseValue(now)])
        }
    }
}
