import Foundation
import Support
import JobFiles
import Logging
import Registry
import Synchronization

/// Finds new CSV files in a job's incoming directory and registers each once, by content.
///
/// A file is considered only when its name ends in `.csv`, does not start with `.`, it is a regular
/// file (not a symbolic link), and it has not been modified for `data.settle_time` (so a file still
/// being written is left for a later scan, and `updater status` says it is settling). Its bytes
/// are copied into the state directory, so later runs never depend on the incoming file. A file
/// that grows after it was read is reported, not read again as a second batch. What is skipped for
/// good is said once, at warning level.
package struct IncomingScanner {
    let registry: Registry
    let state: StateDirectory
    let log: Logger

    /// The `.csv` files in the job's incoming directory (not hidden), in name order, that have not
    /// been modified for `data.settle_time`.
    package static func settledFiles(_ job: JobConfig, now: Date = Date(), log: Logger = .silent) throws -> [String] {
        try survey(job, now: now, log: log).settled
    }

    /// What the job's incoming directory holds: files ready to read, files still settling, and
    /// files that are never read, each with why. Hidden files (a producer's temporary name) are
    /// left out silently.
    package static func survey(_ job: JobConfig, now: Date = Date(), log: Logger = .silent) throws -> IncomingSurvey {
        try survey(job.data.incoming, what: "incoming directory", settleSeconds: job.data.settleSeconds, now: now, log: log)
    }

    /// The same for any directory whose files are read as they settle (data.labels too).
    static func survey(_ dir: String, what: String, settleSeconds: Double, now: Date, log: Logger) throws -> IncomingSurvey {
        guard Files.isDirectory(dir) else { throw FileError(dir, "\(what) does not exist") }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
        let settleNs = Int64(settleSeconds * 1e9)
        let nowNs = Int64(now.timeIntervalSince1970 * 1e9)
        var survey = IncomingSurvey()
        func skip(_ path: String, _ reason: String, _ hint: String) {
            warnOnce(log, path, "\(reason): not read (\(hint))")
            survey.skipped.append(.init(path: path, reason: reason))
        }
        for path in names.map({ dir + "/" + $0 }) {
            if Files.isSymbolicLink(path) {
                skip(path, "is a symbolic link", "producers should write files into the incoming directory itself")
                continue
            }
            if Files.isDirectory(path) {
                skip(path, "is a directory", "files are read from the \(what) itself, not its subdirectories")
                continue
            }
            guard path.lowercased().hasSuffix(".csv") else {
                skip(path, "is not a .csv file", "only files named *.csv are read; a producer's temporary file should start with a dot")
                continue
            }
            guard let stamp = Files.stamp(path) else { continue }
            // A modification time ahead of the clock (a producer's clock, a network file system) says
            // nothing about whether the file settled: it is read as it is, and said so.
            if stamp.mtimeNs - nowNs > 1_000_000_000 {
                warnOnce(log, path, "was modified in the future (clock skew?); read now, since its age cannot be judged")
                survey.settled.append(path)
            } else if nowNs - stamp.mtimeNs < settleNs {
                log.debug("\(path) is still changing; read later")
                survey.settling.append(.init(path: path, readyInSeconds: Double(settleNs - (nowNs - stamp.mtimeNs)) / 1e9))
            } else {
                survey.settled.append(path)
            }
        }
        return survey
    }

    /// Paths already warned about by this process, so a file skipped for good is said once.
    private static let warned = Mutex<Set<String>>([])

    static func warnOnce(_ log: Logger, _ path: String, _ message: String) {
        guard warned.withLock({ $0.insert(path + message).inserted }) else { return }
        log.warning("\(path) \(message)")
    }

    /// Registers every settled, unseen file; returns what it found, with the number of new batches.
    @discardableResult
    func scan(_ job: JobConfig, now: Date = Date()) throws -> IncomingSurvey {
        var survey = try Self.survey(job, now: now, log: log)
        for path in survey.settled {
            guard let before = Files.stamp(path) else { continue }
            if try registry.isKnownFile(job: job.name, path: path, size: before.size, mtimeNs: before.mtimeNs) { continue }
            let bytes: [UInt8]
            do {
                bytes = try Files.read(path)
            } catch {
                log.warning("cannot read \(path): \(error)")
                continue
            }
            guard let after = Files.stamp(path), after == before, Int64(bytes.count) == after.size else {
                log.debug("\(path) changed while being read; read later")
                continue
            }
            let sha = Files.sha256(bytes)
            if let earlier = try grewAfterRead(job, path: path, bytes: bytes) {
                log.warning("\(path) grew after it was read as batch \(earlier.id ?? 0); the rows it gained are not read (producers should write under a hidden name and rename when done)")
                try registry.noteGrownFile(
                    job: job.name, path: path, size: after.size, mtimeNs: after.mtimeNs, sha256: sha, batch: earlier.id ?? 0, now: now)
                continue
            }
            let stored = state.batchPath(job: job.name, sha256: sha)
            if !Files.exists(stored) { try Files.writeAtomically(bytes, to: stored) }
            let (batch, isNew) = try registry.registerFile(
                job: job.name, path: path, size: after.size, mtimeNs: after.mtimeNs, sha256: sha, storedPath: stored,
                now: now)
            if isNew {
                survey.added += 1
                log.info("new batch \(batch.id ?? 0) from \(path) (\(bytes.count) bytes)")
            } else {
                log.info("\(path) has the same content as batch \(batch.id ?? 0) (\(batch.path)); not read again")
            }
        }
        return survey
    }

    /// The batch this path was read as earlier, when the file now holds that batch's bytes and more:
    /// a file still being written when it was read (a writer that paused longer than
    /// `data.settle_time`). Reading it again would train on its first rows twice.
    func grewAfterRead(_ job: JobConfig, path: String, bytes: [UInt8]) throws -> BatchRecord? {
        for (size, batch) in try registry.knownFile(job: job.name, path: path).reversed() where size < Int64(bytes.count) {
            guard let earlier = try? Files.read(batch.storedPath), bytes.starts(with: earlier) else { continue }
            return batch
        }
        return nil
    }
}

/// What a job's incoming directory holds, as `IncomingScanner.survey` found it.
package struct IncomingSurvey: Sendable, Encodable {
    /// A file modified within `data.settle_time`: read once it has not changed for that long.
    package struct Settling: Sendable, Encodable {
        package var path: String
        package var readyInSeconds: Double
        enum CodingKeys: String, CodingKey { case path, readyInSeconds = "ready_in_seconds" }
    }

    /// A file that is never read, and why.
    package struct Skipped: Sendable, Encodable {
        package var path: String
        package var reason: String
    }

    /// Files ready to be read, in name order.
    package var settled: [String] = []
    package var settling: [Settling] = []
    package var skipped: [Skipped] = []
    /// New batches registered by the scan that made this survey.
    package var added = 0

    /// "1 file still settling (b.csv, readable in 1.5 s)", or nil.
    package var settlingSummary: String? {
        guard let first = settling.min(by: { $0.readyInSeconds < $1.readyInSeconds }) else { return nil }
        let name = first.path.split(separator: "/").last.map(String.init) ?? first.path
        let count = settling.count == 1 ? "1 file" : "\(settling.count) files"
        return "\(count) still settling (\(name)\(settling.count > 1 ? " and others" : ""), readable in \(String(format: "%.1f", first.readyInSeconds)) s; data.settle_time)"
    }

    enum CodingKeys: String, CodingKey { case settling, skipped }
}
