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
/// being written is left for a later scan). Its bytes are copied into the state directory, so
/// later runs never depend on the incoming file. A file that grows after it was read is reported,
/// not read again as a second batch. What is skipped for good is said once, at warning level.
package struct IncomingScanner {
    let registry: Registry
    let state: StateDirectory
    let log: Logger

    /// The `.csv` files in the job's incoming directory (not hidden), in name order, that have not
    /// been modified for `data.settle_time`.
    package static func settledFiles(_ job: JobConfig, now: Date = Date(), log: Logger = .silent) throws -> [String] {
        let dir = job.data.incoming
        guard Files.isDirectory(dir) else { throw FileError(dir, "incoming directory does not exist") }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
            !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".csv")
        }.sorted()
        let settleNs = Int64(job.data.settleSeconds * 1e9)
        let nowNs = Int64(now.timeIntervalSince1970 * 1e9)
        return names.map { dir + "/" + $0 }.filter { path in
            if Files.isSymbolicLink(path) {
                warnOnce(log, path, "is a symbolic link: not read (producers should write files into the incoming directory itself)")
                return false
            }
            guard let stamp = Files.stamp(path) else { return false }
            // A modification time ahead of the clock (a producer's clock, a network file system) says
            // nothing about whether the file settled: it is read as it is, and said so.
            if stamp.mtimeNs - nowNs > 1_000_000_000 {
                warnOnce(log, path, "was modified in the future (clock skew?); read now, since its age cannot be judged")
                return true
            }
            if nowNs - stamp.mtimeNs < settleNs {
                log.debug("\(path) is still changing; read later")
                return false
            }
            return true
        }
    }

    /// Paths already warned about by this process, so a file skipped for good is said once.
    private static let warned = Mutex<Set<String>>([])

    static func warnOnce(_ log: Logger, _ path: String, _ message: String) {
        guard warned.withLock({ $0.insert(path + message).inserted }) else { return }
        log.warning("\(path) \(message)")
    }

    /// Registers every settled, unseen file; returns the number of new batches.
    @discardableResult
    func scan(_ job: JobConfig, now: Date = Date()) throws -> Int {
        var added = 0
        for path in try Self.settledFiles(job, now: now, log: log) {
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
                added += 1
                log.info("new batch \(batch.id ?? 0) from \(path) (\(bytes.count) bytes)")
            } else {
                log.info("\(path) has the same content as batch \(batch.id ?? 0) (\(batch.path)); not read again")
            }
        }
        return added
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
