import Foundation
import Support
import JobFiles
import Logging
import Registry

/// Finds new CSV files in a job's incoming directory and registers each once, by content.
///
/// A file is considered only when its name ends in `.csv`, does not start with `.`, and it has not
/// been modified for `data.settle_time` (so a file still being written is left for a later scan).
/// Its bytes are copied into the state directory, so later runs never depend on the incoming file.
struct IncomingScanner {
    let registry: Registry
    let state: StateDirectory
    let log: Logger

    /// The `.csv` files in the job's incoming directory (not hidden), in name order, that have not
    /// been modified for `data.settle_time`.
    static func settledFiles(_ job: JobConfig, now: Date = Date(), log: Logger = .silent) throws -> [String] {
        let dir = job.data.incoming
        guard Files.isDirectory(dir) else { throw FileError(dir, "incoming directory does not exist") }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
            !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".csv")
        }.sorted()
        let settleNs = Int64(job.data.settleSeconds * 1e9)
        let nowNs = Int64(now.timeIntervalSince1970 * 1e9)
        return names.map { dir + "/" + $0 }.filter { path in
            guard let stamp = Files.stamp(path) else { return false }
            if nowNs - stamp.mtimeNs < settleNs {
                log.debug("\(path) is still changing; read later")
                return false
            }
            return true
        }
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
}
