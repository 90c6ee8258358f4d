import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// updater's log lines: one per event, `LEVEL: JOB: run N: message`, where the job and the run
/// come from the logger's metadata (`job`, `run`), so that a line can be filtered by them and a
/// message never repeats them. Any other metadata follows the message as `key=value`.
///
/// ```swift
/// var log = Logger.daemon(level: .info)
/// log[metadataKey: "job"] = "churn"
/// log.info("drift severe")            // info: churn: drift severe
/// ```
package enum LogLine {
    /// The line for an event, without a trailing newline.
    package static func format(_ level: Logger.Level, _ message: Logger.Message, _ metadata: Logger.Metadata, priority: Bool) -> String {
        var line = priority ? "<\(journaldPriority(level))>" : "\(word(level)): "
        if let job = metadata["job"] { line += "\(job): " }
        if let run = metadata["run"] { line += "run \(run): " }
        line += message.description
        let rest = metadata.filter { $0.key != "job" && $0.key != "run" }.sorted { $0.key < $1.key }
        if !rest.isEmpty { line += " (" + rest.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")" }
        return line
    }

    /// journald's priorities (`<N>` prefixes on stderr when `$JOURNAL_STREAM` is set).
    package static func journaldPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    static func word(_ level: Logger.Level) -> String {
        switch level {
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        case .critical: "critical"
        }
    }
}

/// Writes each line with one write(2), so it is never buffered (a crash loses nothing) and never
/// interleaved mid-line with another writer; the file stays open until the last handler using it
/// is gone.
package final class LineSink: Sendable {
    let fd: Int32
    let owned: Bool

    /// Standard error.
    package static let standardError = LineSink(fd: 2, owned: false)

    init(fd: Int32, owned: Bool) {
        self.fd = fd
        self.owned = owned
    }

    /// Appends to the file at `path` (created 0640 if needed).
    package convenience init(appendingTo path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw FileError(path, "cannot open the log file: \(errnoText())") }
        self.init(fd: fd, owned: true)
    }

    deinit { if owned { close(fd) } }

    package func write(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}

/// A `LogHandler` writing updater's lines to a ``LineSink``: stderr (with journald's priority
/// prefixes under systemd), or a run's own log file.
package struct LineLogHandler: LogHandler {
    package var logLevel: Logger.Level
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    let sink: LineSink
    let priority: Bool

    package init(sink: LineSink, level: Logger.Level, priority: Bool = false) {
        self.sink = sink
        self.logLevel = level
        self.priority = priority
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let own = event.metadata { all.merge(own) { _, new in new } }
        sink.write(LogLine.format(event.level, event.message, all, priority: priority))
    }
}

extension Logger {
    /// The daemon's and the CLI's log: stderr, with journald's priorities when `$JOURNAL_STREAM` is
    /// set (running under systemd).
    package static func daemon(level: Logger.Level, environment: [String: String] = ProcessInfo.processInfo.environment) -> Logger {
        let priority = environment["JOURNAL_STREAM"] != nil
        return Logger(label: "updater") { _ in LineLogHandler(sink: .standardError, level: level, priority: priority) }
    }

    /// A log that drops everything.
    package static var silent: Logger { Logger(label: "updater", factory: { _ in SwiftLogNoOpLogHandler() }) }

    /// This log, with every line also written to `sink` (a run's own log file); metadata kept.
    package func teeing(to sink: LineSink) -> Logger {
        let base = handler
        var file = LineLogHandler(sink: sink, level: base.logLevel)
        file.metadata = base.metadata
        var teed = Logger(label: label) { _ in MultiplexLogHandler([base, file]) }
        teed.logLevel = logLevel
        return teed
    }

    /// This log with `job` (and `run`) as metadata.
    package func scoped(job: String, run: Int64? = nil) -> Logger {
        var l = self
        l[metadataKey: "job"] = "\(job)"
        if let run { l[metadataKey: "run"] = "\(run)" }
        return l
    }
}
