import Foundation
import Logging
import Testing

@testable import Support

@Suite("Log lines")
struct LoggingTests {
    @Test("job and run come from metadata, in front of the message; other metadata follows it")
    func format() {
        #expect(LogLine.format(.info, "drift severe", ["job": "churn", "run": "3"], priority: false) == "info: churn: run 3: drift severe")
        #expect(LogLine.format(.warning, "stopped", [:], priority: false) == "warning: stopped")
        #expect(LogLine.format(.error, "x", ["job": "a", "endpoint": "ops"], priority: false) == "error: a: x (endpoint=ops)")
    }

    @Test("under systemd each line starts with journald's priority instead of the level's name")
    func journald() {
        #expect(LogLine.format(.error, "boom", ["job": "j"], priority: true) == "<3>j: boom")
        #expect([Logger.Level.debug, .info, .notice, .warning, .error, .critical].map(LogLine.journaldPriority) == [7, 6, 5, 4, 3, 2])
    }

    @Test("a run's lines also go to its log file, kept open, with the run's metadata")
    func runLogFile() throws {
        let path = NSTemporaryDirectory() + "updater-log-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        let quiet = try LineSink(appendingTo: "/dev/null")
        let daemon = Logger(label: "test") { _ in LineLogHandler(sink: quiet, level: .info) }
        let log = daemon.scoped(job: "churn", run: 7).teeing(to: try LineSink(appendingTo: path))
        log.info("started")
        log.debug("not at info level")
        log.warning("careful")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "info: churn: run 7: started\nwarning: churn: run 7: careful\n", "\(text)")
    }
}
