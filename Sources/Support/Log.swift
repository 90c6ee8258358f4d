import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One-line-per-event log to stderr (unbuffered, so lines are never lost on a crash). With
/// `$JOURNAL_STREAM` set (running under systemd), lines carry journald's `<N>` priority prefix.
package struct Log: Sendable {
    package enum Level: Int, Sendable, Comparable, CaseIterable {
        case debug = 7, info = 6, warning = 4, error = 3

        package static func < (a: Self, b: Self) -> Bool { a.rawValue > b.rawValue }

        var word: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warning"
            case .error: "error"
            }
        }
    }

    package var minimum: Level
    let journald: Bool
    let sink: @Sendable (String) -> Void

    package init(minimum: Level = .info, sink: (@Sendable (String) -> Void)? = nil) {
        self.minimum = minimum
        self.journald = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil
        self.sink = sink ?? { line in
            // One write(2) per line: unbuffered and never interleaved mid-line with other writers.
            var bytes = Array(line.utf8)
            _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }

    /// This log, with every line also appended to the file at `path` (a run's log file).
    package func teeing(to path: String) -> Log {
        let original = sink
        return Log(minimum: minimum, journald: journald) { line in
            original(line)
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            guard fd >= 0 else { return }
            var bytes = Array(line.utf8)
            _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
    }

    init(minimum: Level, journald: Bool, sink: @escaping @Sendable (String) -> Void) {
        self.minimum = minimum
        self.journald = journald
        self.sink = sink
    }

    /// A log that drops everything.
    package static var silent: Log { Log(minimum: .error, sink: { _ in }) }

    package func callAsFunction(_ level: Level, _ message: @autoclosure () -> String) {
        guard level >= minimum else { return }
        let text = message()
        if journald {
            sink("<\(level.rawValue)>\(text)\n")
        } else {
            sink("\(level.word): \(text)\n")
        }
    }
}
