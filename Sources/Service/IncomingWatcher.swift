import CSystemShim
import Foundation
import ServiceLifecycle
import Support
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Notices changes in the directories the daemon cares about, as they happen: new files in the
/// incoming directories of jobs with `schedule.on_new_data`, and writes to the state directory's
/// registry by other processes (`updater trigger`, `pause`, `cancel`, `webhooks redeliver`, …).
///
/// inotify where the kernel and the file system support it; an incoming directory inotify cannot
/// watch is compared by listing (names, sizes, modification times) every ``pollInterval`` seconds
/// (10 by default), and without inotify the registry is looked at every second. It records when a
/// job's directory last changed and calls ``onChange`` at once; the scheduler decides when that
/// makes a run (after the debounce). Its thread sleeps in `poll(2)` until something happens. As a
/// `Service` it watches until the daemon shuts down.
final class IncomingWatcher: Service, Sendable {
    static let defaultPollInterval: TimeInterval = 10
    /// How often the registry is looked at when inotify cannot watch the state directory.
    static let registryPollInterval: TimeInterval = 1
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
        /// The state directory's watch descriptor, or true when it is polled.
        var stateWatch: Int32 = -1
        var stateDirectory: String?
        var statePolled = false
    }

    private let fd: Int32
    /// A pipe written to wake the thread (stop, or a new set of directories).
    /// The pipe that wakes the watcher's thread (close-on-exec and non-blocking from creation).
    let wakeRead: Int32
    let wakeWrite: Int32
    private let state = Mutex(State())
    private let stopped = Atomic<Bool>(false)
    private let callback = Mutex<(@Sendable (Change) -> Void)?>(nil)

    enum Change: Sendable {
        /// A job's incoming directory changed.
        case incoming(job: String)
        /// The registry was written (by this process or another).
        case registry
        /// The state directory itself was deleted or moved away.
        case stateDirectory
    }

    /// `inotify: false` polls every directory (what happens where inotify is unavailable).
    init(inotify: Bool = true, pollInterval: TimeInterval = IncomingWatcher.defaultPollInterval) {
        self.pollInterval = pollInterval
        fd = inotify ? inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) : -1
        // Close-on-exec from the start: a trainer spawned meanwhile must not inherit the ends.
        var ends: [Int32] = [-1, -1]
        _ = updater_pipe_cloexec_nonblock(&ends)
        (wakeRead, wakeWrite) = (ends[0], ends[1])
        let thread = Thread { [self] in loop() }
        thread.name = "incoming-watcher"
        thread.start()
    }

    deinit {
        if fd >= 0 { close(fd) }
        if wakeRead >= 0 { close(wakeRead) }
        if wakeWrite >= 0 { close(wakeWrite) }
    }

    /// Called on the watcher's thread for every change noticed.
    var onChange: (@Sendable (Change) -> Void)? {
        get { callback.withLock { $0 } }
        set { callback.withLock { $0 = newValue } }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        signalThread()
    }

    /// Watches until the service group shuts down (or is cancelled).
    func run() async throws {
        try? await gracefulShutdown()
        stop()
    }

    private func signalThread() {
        var one: UInt8 = 1
        _ = write(wakeWrite, &one, 1)
    }

    /// Watches exactly these jobs' directories (job name → directory), replacing the previous set.
    /// Returns the directories that are polled because inotify cannot watch them.
    @discardableResult
    func watch(_ jobs: [String: String]) -> [String] {
        watch(directories: jobs.mapValues { [$0] })
    }

    /// The same with several directories a job (its incoming directory and its labels directory).
    @discardableResult
    func watch(directories jobs: [String: [String]]) -> [String] {
        var byDirectory: [String: [String]] = [:]
        for (job, dirs) in jobs {
            for dir in Set(dirs) { byDirectory[dir, default: []].append(job) }
        }
        let polled = state.withLock { s in
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
        signalThread()
        return polled
    }

    /// Also watches the registry in `directory` (the state directory): any write to its database
    /// is a ``Change/registry``.
    func watchRegistry(in directory: String) {
        state.withLock { s in
            s.stateDirectory = directory
            // IN_MODIFY comes with each write, which can be before the writer's commit is visible
            // (SQLite publishes a commit in its memory-mapped WAL index, which makes no event): a
            // reader woken by the last write may still see the old state. IN_CLOSE_WRITE comes when
            // another process (updater trigger, pause, resume, rollback) closes the database after
            // its commit, so the scheduler looks again then.
            let mask = UInt32(IN_MODIFY) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF)
            let wd = fd >= 0 ? inotify_add_watch(fd, directory, mask) : -1
            if wd >= 0 { s.stateWatch = wd } else { s.statePolled = true }
        }
        signalThread()
    }

    /// When `job`'s directory last changed, if it has since the watcher started watching it.
    func lastChange(_ job: String) -> Date? { state.withLock { $0.changed[job] } }

    private func noteChange(_ dir: String, _ s: inout State) -> [String] {
        let now = Date()
        let jobs = s.directories[dir] ?? []
        for job in jobs { s.changed[job] = now }
        return jobs
    }

    private func notify(_ changes: [Change]) {
        guard !changes.isEmpty, let callback = onChange else { return }
        for c in changes { callback(c) }
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !stopped.load(ordering: .relaxed) {
            // Sleep until inotify or the wake-up descriptor has something, or a polled directory
            // (or a polled registry) is due.
            let (polling, registryPolled) = state.withLock { (!$0.polled.isEmpty, $0.statePolled) }
            var timeout: Int32 = -1
            if polling { timeout = Int32(pollInterval * 1000) }
            if registryPolled { timeout = timeout < 0 ? Int32(Self.registryPollInterval * 1000) : min(timeout, Int32(Self.registryPollInterval * 1000)) }
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            if fd >= 0 { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready > 0, fds[0].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &drain, drain.count) > 0 {}
            }
            if ready > 0, fds.count > 1, fds[1].revents != 0 {
                let n = read(fd, &buffer, buffer.count)
                if n > 0 { notify(handle(buffer, count: n)) }
            }
            var changes: [Change] = []
            state.withLock { s in
                if s.statePolled { changes.append(.registry) }
                guard !s.polled.isEmpty, Date().timeIntervalSince(s.lastPoll) >= pollInterval else { return }
                s.lastPoll = Date()
                for (dir, old) in s.polled {
                    let new = Self.signature(dir)
                    if new != old {
                        s.polled[dir] = new
                        changes += noteChange(dir, &s).map { .incoming(job: $0) }
                    }
                }
            }
            notify(changes)
        }
    }

    private func handle(_ buffer: [UInt8], count: Int) -> [Change] {
        state.withLock { s in
            var changes: [Change] = []
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= count {
                let (wd, mask, length) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, Int) in
                    let e = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    return (e.wd, e.mask, Int(e.len))
                }
                offset += header + length
                if wd == s.stateWatch {
                    let gone = mask & (UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_IGNORED)) != 0
                    changes.append(gone ? .stateDirectory : .registry)
                    continue
                }
                guard let dir = s.watches[wd] else { continue }
                if mask & (UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_IGNORED)) != 0 {
                    // The directory went away: poll it until it is back (then a run reports it).
                    s.watches[wd] = nil
                    s.polled[dir] = Self.signature(dir)
                }
                changes += noteChange(dir, &s).map { .incoming(job: $0) }
            }
            return changes
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
