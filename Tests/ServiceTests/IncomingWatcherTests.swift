import Foundation
import Synchronization
import Testing

@testable import Service

@Suite("Watching incoming directories")
struct IncomingWatcherTests {
    func directory() throws -> String {
        let dir = NSTemporaryDirectory() + "updater-watch-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Waits (bounded) until `job`'s directory is seen to change after `since`.
    func changed(_ watcher: IncomingWatcher, _ job: String, since: Date, seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let t = watcher.lastChange(job), t >= since { return true }
            usleep(50_000)
        }
        return false
    }

    @Test("inotify: a file written or renamed into the directory is a change of every job reading it")
    func inotify() throws {
        let dir = try directory()
        let watcher = IncomingWatcher()
        defer { watcher.stop() }
        #expect(watcher.watch(["a": dir, "b": dir]).isEmpty, "inotify watches a local directory")
        #expect(watcher.lastChange("a") == nil)
        let before = Date()
        try Data("x\n".utf8).write(to: URL(fileURLWithPath: dir + "/.part"))
        #expect(rename(dir + "/.part", dir + "/b1.csv") == 0)
        #expect(changed(watcher, "a", since: before) && changed(watcher, "b", since: before))
        // A job no longer watched sees no more changes.
        watcher.watch(["a": dir])
        let later = Date()
        try Data("y\n".utf8).write(to: URL(fileURLWithPath: dir + "/b2.csv"))
        #expect(changed(watcher, "a", since: later))
        #expect((watcher.lastChange("b") ?? .distantPast) < later)
    }

    @Test("a job's second directory (its data.labels) is watched too: a label file is a change of the job")
    func labelsDirectory() throws {
        let incoming = try directory(), labels = try directory()
        let watcher = IncomingWatcher()
        defer { watcher.stop() }
        #expect(watcher.watch(directories: ["late": [incoming, labels]]).isEmpty)
        let before = Date()
        try Data("id,y\nid1,yes\n".utf8).write(to: URL(fileURLWithPath: labels + "/l1.csv"))
        #expect(changed(watcher, "late", since: before))
    }

    @Test("the registry's writes are noticed, and each change is reported to onChange at once")
    func registry() throws {
        let state = try directory()
        let watcher = IncomingWatcher()
        defer { watcher.stop() }
        let seen = Mutex(0)
        watcher.onChange = { change in if case .registry = change { seen.withLock { $0 += 1 } } }
        watcher.watchRegistry(in: state)
        try Data("x".utf8).write(to: URL(fileURLWithPath: state + "/registry.sqlite-wal"))
        let deadline = Date().addingTimeInterval(10)
        while seen.withLock({ $0 }) == 0, Date() < deadline { usleep(20_000) }
        #expect(seen.withLock { $0 } > 0)
    }

    @Test("polling fallback: a new file is noticed at the next listing")
    func polling() throws {
        let dir = try directory(), other = try directory()
        let watcher = IncomingWatcher(inotify: false, pollInterval: 0.2)
        defer { watcher.stop() }
        #expect(Set(watcher.watch(["p": dir, "q": other])) == [dir, other], "without inotify the directories are polled")
        // A change of one directory is noticed; the other, listed in the same pass, did not change.
        let start = Date()
        try Data("x\n".utf8).write(to: URL(fileURLWithPath: other + "/b1.csv"))
        #expect(changed(watcher, "q", since: start))
        #expect(watcher.lastChange("p") == nil, "no change, no event")
        let before = Date()
        try Data("x\n".utf8).write(to: URL(fileURLWithPath: dir + "/b1.csv"))
        #expect(changed(watcher, "p", since: before))
    }

    @Test("the wake-up pipe is close-on-exec and non-blocking from its creation, so no trainer inherits it")
    func wakePipe() {
        let watcher = IncomingWatcher()
        for fd in [watcher.wakeRead, watcher.wakeWrite] {
            #expect(fd >= 0)
            #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
            #expect(fcntl(fd, F_GETFL) & O_NONBLOCK != 0)
        }
    }
}
