import Foundation
import Testing

@Suite("The daemon's footprint")
struct FootprintTests {
    @Test("an idle daemon that sends no webhook never maps libcurl (loaded at the first delivery, not linked)")
    func noCurlUntilNeeded() throws {
        let ws = try Workspace()
        try ws.addJob("alpha")
        let daemon = try DaemonProcess(ws, notify: nil)
        #expect(daemon.waitForLog("watching 1 job"), "\(daemon.log)")
        let maps = (try? String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/maps", encoding: .utf8)) ?? ""
        #expect(maps.contains("updater"), "no memory map of the daemon")
        #expect(!maps.contains("libcurl"), "\(maps.split(separator: "\n").filter { $0.contains("curl") })")
        #expect(daemon.stop() == 0, "\(daemon.log)")
    }
}
