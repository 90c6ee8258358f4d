import Foundation
import Support
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Notices new files in the incoming directories of jobs with `schedule.on_new_data`: through
/// inotify where the kernel and the file system support it, else by comparing each directory's
/// listing (names, sizes, modification times) every ``pollInterval`` seconds (10 by default). It only records when
/// a job's directory last changed; the run loop decides when that makes a run (after the debounce).
final class IncomingWatcher: Sendable {
    static let defaultPollInterval: TimeInterval = 10
    let pollInterval: TimeInterval

    private struct State {
        /// Directory → the jobs reading it.
        var directories: [String: [String]] = [:]
        /// inotify watch descriptor → directory.
        var watches: [Int32: String] = [:]
        /// Directories inotify cannot watch, with their last listing's signature.
        var polled: [String: Int] = [:]
        var lastPoll = Date.distantPast
        /// Job → when its directory last changed.
        var changed: [String: Date] = [:]
    }

    private let fd: Int32
    private let state = Mutex(State())
    private let stopped = Atomic<Bool>(false)

    /// `inotify: false` polls every directory (what happens where inotify is unavailable).
    init(inotify: Bool = true, pollInterval: TimeInterval = IncomingWatcher.defaultPollInterval) {
        self.pollInterval = pollInterval
        fd = inotify ? inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) : -1
        let thread = Thread { [self] in loop() }
        thread.name = "incoming-watcher"
        thread.start()
    }

    deinit { if fd >= 0 { close(fd) } }

    func stop() { stopped.store(true, ordering: .relaxed) }

    /// Watches exactly these jobs' directories (job name → directory), replacing the previous set.
    /// Returns the directories that are polled because inotify cannot watch them.
    @discardableResult
    func watch(_ jobs: [String: String]) -> [String] {
        var byDirectory: [String: [String]] = [:]
        for (job, dir) in jobs { byDirectory[dir, default: []].append(job) }
        return state.withLock { s in
            for (wd, dir) in s.watches where byDirectory[dir] == nil {
                inotify_rm_watch(fd, wd)
                s.watches[wd] = nil
            }
            s.polled = s.polled.filter { byDirectory[$0.key] != nil }
            let watched = Set(s.watches.values)
            for dir in byDirectory.keys where !watched.contains(dir) && s.polled[dir] == nil {
                let mask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_CREATE) | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF)
                let wd = fd >= 0 ? inotify_add_watch(fd, dir, mask) : -1
                if wd >= 0 { s.watches[wd] = dir } else { s.polled[dir] = Self.signature(dir) }
            }
            s.directories = byDirectory
            return s.polled.keys.sorted()
        }
    }

    /// When `job`'s directory last changed, if it has since the watcher started watching it.
    func lastChange(_ job: String) -> Date? { state.withLock { $0.changed[job] } }

    private func noteChange(_ dir: String, _ s: inout State) {
        let now = Date()
        for job in s.directories[dir] ?? [] { s.changed[job] = now }
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !stopped.load(ordering: .relaxed) {
            if fd >= 0 {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 500) > 0 {
                    let n = read(fd, &buffer, buffer.count)
                    if n > 0 { handle(buffer, count: n) }
                }
            } else {
                usleep(500_000)
            }
            state.withLock { s in
                guard !s.polled.isEmpty, Date().timeIntervalSince(s.lastPoll) >= pollInterval else { return }
                s.lastPoll = Date()
                for (dir, old) in s.polled {
                    let new = Self.signature(dir)
                    if new != old {
                        s.polled[dir] = new
                        noteChange(dir, &s)
                    }
                }
            }
        }
    }

    private func handle(_ buffer: [UInt8], count: Int) {
        state.withLock { s in
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= count {
                let (wd, mask, length) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, Int) in
                    let e = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    return (e.wd, e.mask, Int(e.len))
                }
                offset += header + length
                guard let dir = s.watches[wd] else { continue }
                if mask & (UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_IGNORED)) != 0 {
                    // The directory went away: poll it until it is back (then a run reports it).
                    s.watches[wd] = nil
                    s.polled[dir] = Self.signature(dir)
                }
                noteChange(dir, &s)
            }
        }
    }

    /// A hash of a directory's listing: names, sizes and modification times.
    static func signature(_ dir: String) -> Int {
        var hasher = Hasher()
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        for name in names {
            hasher.combine(name)
            if let stamp = Files.stamp(dir + "/" + name) {
                hasher.combine(stamp.size)
                hasher.combine(stamp.mtimeNs)
            }
        }
        hasher.combine(names.count)
        return hasher.finalize()
    }
}
