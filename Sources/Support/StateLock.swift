import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The exclusive lock one `updater run` holds on its state directory, so that two never process
/// the same batches. The lock is `flock(2)` on `STATE/lock`: the kernel releases it when the
/// process dies, even by kill -9, so a stale lock file never blocks a restart.
package final class StateLock: Sendable {
    let fd: Int32

    /// Takes the lock or throws, naming the process that holds it.
    package init(state: StateDirectory) throws {
        try Files.makeDirectories(state.path)
        let path = state.path + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path, "cannot open the lock file: \(errnoText())") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let pid = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw FileError(state.path, "another updater run (pid \(pid)) is using this state directory")
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
        self.fd = fd
    }

    deinit { close(fd) }

    /// The process id of the `updater run` holding the lock on `state`, or nil when none does. Read
    /// from the kernel's lock table (`/proc/locks`), so asking never takes the lock, not even for a
    /// moment in which a starting daemon would find it taken.
    package static func holder(of state: StateDirectory) -> Int32? {
        let path = state.path + "/lock"
        var info = stat()
        guard stat(path, &info) == 0, let table = try? String(contentsOfFile: "/proc/locks", encoding: .utf8),
            let written = (try? String(contentsOfFile: path, encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        else { return nil }
        // "1: FLOCK  ADVISORY  WRITE 4711 08:01:1234567 0 EOF": the holder's pid, then device:inode.
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 6, fields[1] == "FLOCK", fields[3] == "WRITE", Int32(fields[4]) == written,
                fields[5].split(separator: ":").last.flatMap({ UInt64($0) }) == UInt64(info.st_ino)
            else { continue }
            return written
        }
        return nil
    }
}
