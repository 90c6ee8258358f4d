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
}
