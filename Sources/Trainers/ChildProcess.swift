import Foundation
import Logging
import Support

#if canImport(Glibc)
import Glibc
#endif

/// A command updater runs for someone else (an external trainer, a deploy hook): in its own process
/// group, in a working directory, with exactly the environment given, stdin from `/dev/null`, stdout
/// and stderr into a log, every other descriptor closed, default signal dispositions and an empty
/// signal mask (the daemon ignores SIGTERM itself; a child must not inherit that). It gets a time
/// limit: SIGTERM to the whole group when it is reached (or when the caller cancels), SIGKILL
/// `graceSeconds` later; and when it ends, however it ends, the whole group is killed, so no
/// grandchild outlives it.
package struct ChildProcess: Sendable {
    package var command: [String]
    package var environment: [String: String]
    package var workingDirectory: String
    package var timeLimit: Double
    package var graceSeconds: Double
    /// Where the runner reports signals it sends (debug level).
    package var log: Logger = .silent

    package init(
        command: [String], environment: [String: String], workingDirectory: String, timeLimit: Double, graceSeconds: Double = 10,
        log: Logger = .silent
    ) {
        (self.command, self.environment, self.workingDirectory) = (command, environment, workingDirectory)
        (self.timeLimit, self.graceSeconds, self.log) = (timeLimit, graceSeconds, log)
    }

    /// Why the command could not be started or waited for.
    package struct Failure: Error, CustomStringConvertible, Sendable {
        package var message: String
        package var description: String { message }
    }

    package enum Stop: Sendable, Equatable { case timedOut, cancelled }

    /// How it ended and what it cost.
    package struct Ended: Sendable {
        package var exited: Bool
        package var exitCode: Int32
        package var signal: Int32
        /// Why updater stopped it, if it did.
        package var stop: Stop?
        /// Whether SIGKILL was needed after SIGTERM.
        package var killSent: Bool
        package var wallSeconds: Double
        /// User plus system CPU time of the command and every descendant it waited for.
        package var cpuSeconds: Double
        /// The largest resident set of the command or of any descendant it waited for.
        package var peakMemoryBytes: Int

        /// Ended by itself with status 0.
        package var succeeded: Bool { stop == nil && exited && exitCode == 0 }

        /// "exit status 3 after 1.20s", "timed out after 60s (SIGTERM)", …
        package func summary(limit: Double, grace: Double) -> String {
            switch stop {
            case .timedOut?:
                return "no result within the time limit of \(ChildProcess.seconds(limit)); "
                    + (killSent ? "SIGTERM, then SIGKILL after \(ChildProcess.seconds(grace))" : "stopped by SIGTERM")
            case .cancelled?:
                return "cancelled after \(ChildProcess.seconds(wallSeconds)); "
                    + (killSent ? "SIGTERM, then SIGKILL after \(ChildProcess.seconds(grace))" : "stopped by SIGTERM")
            case nil:
                return exited ? "exit status \(exitCode) after \(ChildProcess.seconds(wallSeconds))"
                    : "signal \(signal) (\(ChildProcess.signalName(signal))) after \(ChildProcess.seconds(wallSeconds))"
            }
        }
    }

    /// Starts the command and waits for it (see ``wait(_:cancelled:)``).
    package func run(logFD: Int32, cancelled: @Sendable () -> Bool = { false }) throws -> Ended {
        let pid = try start(logFD: logFD)
        return try wait(pid, cancelled: cancelled)
    }

    /// Starts the command with its stdout and stderr into `logFD`; returns its pid (also its process group).
    package func start(logFD: Int32) throws -> pid_t {
        guard !command.isEmpty, !command[0].isEmpty else { throw Failure(message: "the command is empty") }
        guard timeLimit > 0, timeLimit.isFinite, graceSeconds >= 0, graceSeconds.isFinite else {
            throw Failure(message: "the time limit must be positive and the grace period not negative")
        }
        let executable = try resolveExecutable()
        return try spawn(executable: executable, logFD: logFD)
    }

    /// Waits for `pid`, enforcing the time limit and watching `cancelled`, then kills what is left
    /// of its process group and reaps it.
    package func wait(_ pid: pid_t, cancelled: @Sendable () -> Bool = { false }) throws -> Ended {
        let start = Self.now()
        // Poll without reaping (WNOWAIT), so the pid, and with it the process-group id, stays ours
        // until the group has been killed.
        var stop: Stop?
        var termSentAt = 0.0
        var killSent = false
        var nap: useconds_t = 1_000
        let program = command.first ?? ""
        while true {
            var info = siginfo_t()
            let r = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
            if r == 0 && info._sifields._sigchld.si_pid != 0 { break }
            if r != 0 && errno != EINTR { break }  // ECHILD: nothing left to wait for; wait4 below says so
            let t = Self.now()
            if stop == nil {
                if t - start >= timeLimit {
                    stop = .timedOut
                } else if cancelled() {
                    stop = .cancelled
                }
                if stop != nil {
                    Self.signalGroup(pid, SIGTERM)
                    termSentAt = t
                    log.debug("\(program) (pid \(pid)): \(stop == .timedOut ? "time limit reached" : "cancelled"): SIGTERM to its process group")
                }
            } else if !killSent && t - termSentAt >= graceSeconds {
                Self.signalGroup(pid, SIGKILL)
                killSent = true
                log.debug("\(program) (pid \(pid)): still running \(Self.seconds(graceSeconds)) after SIGTERM: SIGKILL")
            }
            usleep(nap)
            nap = min(nap * 2, 20_000)
        }
        // Whatever happened, nothing of the group survives it.
        Self.signalGroup(pid, SIGKILL)
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            if errno == EINTR { continue }
            throw Failure(message: "cannot wait for pid \(pid): \(errnoText())")
        }
        let wall = Self.now() - start
        let cpu = Self.seconds(usage.ru_utime) + Self.seconds(usage.ru_stime)
        let peak = Int(usage.ru_maxrss) * 1024  // kilobytes on Linux
        return Ended(
            exited: (status & 0x7f) == 0, exitCode: (status >> 8) & 0xff, signal: status & 0x7f, stop: stop, killSent: killSent,
            wallSeconds: wall, cpuSeconds: cpu, peakMemoryBytes: peak)
    }

    /// The executable to spawn: a path with a slash (relative ones against the working directory), or
    /// a name looked up in the environment's PATH.
    func resolveExecutable() throws -> String {
        let first = command[0]
        let base = Files.absolute(workingDirectory)
        func executable(_ p: String) -> Bool {
            var st = stat()
            return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && access(p, X_OK) == 0
        }
        if first.contains("/") {
            let full = first.hasPrefix("/") ? first : base + "/" + first
            guard Files.exists(full) else { throw Failure(message: "\(full) does not exist") }
            guard executable(full) else { throw Failure(message: "\(full) is not an executable file") }
            return full
        }
        for dir in (environment["PATH"] ?? "").split(separator: ":", omittingEmptySubsequences: false).map(String.init) {
            let d = dir.isEmpty ? base : (dir.hasPrefix("/") ? dir : base + "/" + dir)
            if executable(d + "/" + first) { return d + "/" + first }
        }
        throw Failure(message: "\(first) was not found in the PATH given to it")
    }

    /// posix_spawn with: its own process group, cwd = the working directory, stdin /dev/null,
    /// stdout+stderr = the log, no other descriptor, default signal handling, empty signal mask.
    func spawn(executable: String, logFD: Int32) throws -> pid_t {
        guard let addChdir = SpawnExtensions.addChdir else {
            throw Failure(message: "posix_spawn_file_actions_addchdir_np is not available (glibc 2.29 or later is needed)")
        }
        let cwd = Files.absolute(workingDirectory)
        guard Files.isDirectory(cwd) else { throw Failure(message: "working directory \(cwd) is not a directory") }

        var actions = posix_spawn_file_actions_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { throw Failure(message: "posix_spawn_file_actions_init failed") }
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        guard posix_spawnattr_init(&attributes) == 0 else { throw Failure(message: "posix_spawnattr_init failed") }
        defer { posix_spawnattr_destroy(&attributes) }

        var rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if rc == 0 { rc = posix_spawn_file_actions_adddup2(&actions, logFD, 1) }
        if rc == 0 { rc = posix_spawn_file_actions_adddup2(&actions, logFD, 2) }
        if rc == 0 { rc = addChdir(&actions, cwd) }
        if rc == 0, let closeFrom = SpawnExtensions.addCloseFrom { rc = closeFrom(&actions, 3) }
        guard rc == 0 else { throw Failure(message: "cannot prepare the child's file actions: \(String(cString: strerror(rc)))") }

        var defaults = sigset_t()
        sigfillset(&defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        rc = posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        if rc == 0 { rc = posix_spawnattr_setpgroup(&attributes, 0) }
        if rc == 0 { rc = posix_spawnattr_setsigdefault(&attributes, &defaults) }
        if rc == 0 { rc = posix_spawnattr_setsigmask(&attributes, &mask) }
        guard rc == 0 else { throw Failure(message: "cannot prepare the child's attributes: \(String(cString: strerror(rc)))") }

        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.keys.sorted().map { strdup("\($0)=\(environment[$0]!)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        rc = argv.withUnsafeBufferPointer { a in
            envp.withUnsafeBufferPointer { e in
                posix_spawn(&pid, executable, &actions, &attributes, a.baseAddress!, e.baseAddress!)
            }
        }
        guard rc == 0 else {
            let hint = rc == ENOEXEC ? " (a script needs a #! line, or run it through its interpreter)" : ""
            throw Failure(message: "cannot start \(executable): \(String(cString: strerror(rc)))\(hint)")
        }
        return pid
    }

    /// Sends `sig` to the process group led by `pid`; to `pid` alone if the group is gone (the leader
    /// may have moved itself to another group).
    package static func signalGroup(_ pid: pid_t, _ sig: Int32) {
        if kill(-pid, sig) != 0 && errno == ESRCH {
            _ = kill(pid, sig)
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func seconds(_ tv: timeval) -> Double { Double(tv.tv_sec) + Double(tv.tv_usec) / 1e6 }

    package static func seconds(_ s: Double) -> String {
        s < 10 ? String(format: "%.2fs", s) : String(format: "%.0fs", s)
    }

    package static func signalName(_ sig: Int32) -> String {
        switch sig {
        case SIGKILL: "SIGKILL, perhaps the kernel's out-of-memory killer"
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGILL: "SIGILL"
        case SIGFPE: "SIGFPE"
        case SIGHUP: "SIGHUP"
        case SIGPIPE: "SIGPIPE"
        default: "signal \(sig)"
        }
    }
}

/// glibc's spawn extensions, declared only under `_GNU_SOURCE`, which the Swift Glibc module does not
/// define: looked up at run time instead.
private enum SpawnExtensions {
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc 2.29.
    static let addChdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChdir.self) }
    /// glibc 2.34; without it the child relies on every other descriptor being close-on-exec.
    static let addCloseFrom: AddCloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: AddCloseFrom.self) }

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        guard let handle = dlopen(nil, RTLD_NOW) else { return nil }
        return dlsym(handle, name)
    }
}
