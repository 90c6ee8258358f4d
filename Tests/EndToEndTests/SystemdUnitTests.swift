import Foundation
import Testing

private let systemdAnalyze: String? = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// The shipped unit file, checked by systemd's own tools when they are installed (they work
/// without systemd running as PID 1).
@Suite("systemd/updater.service", .enabled(if: systemdAnalyze != nil, "systemd-analyze is not installed"))
struct SystemdUnitTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The unit with ExecStart pointing at the built binary (verify checks that it exists), in a
    /// fresh directory as updater.service.
    func unitCopy() throws -> String {
        let text = try String(contentsOfFile: Self.repository + "/systemd/updater.service", encoding: .utf8)
        #expect(text.contains("ExecStart=/usr/local/bin/updater run"))
        let dir = NSTemporaryDirectory() + "updater-unit-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/updater.service"
        try text.replacingOccurrences(of: "/usr/local/bin/updater", with: Workspace.binary)
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func analyze(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: systemdAnalyze!)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("systemd-analyze verify prints no warning")
    func verify() throws {
        let unit = try unitCopy()
        let r = try analyze(["verify", unit])
        // verify exits 0 even for an unknown Type=; any output is a warning.
        #expect(r.status == 0 && r.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(r.output)")
    }

    @Test("with the trainers drop-in, systemd-analyze verify prints no warning either, and reads it")
    func verifyDropIn() throws {
        let unit = try unitCopy()
        let dir = unit + ".d"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let dropIn = try String(contentsOfFile: Self.repository + "/systemd/updater.service.d/trainers.conf", encoding: .utf8)
        try dropIn.write(toFile: dir + "/trainers.conf", atomically: true, encoding: .utf8)
        let r = try analyze(["verify", unit])
        #expect(r.status == 0 && r.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(r.output)")
        // The drop-in is read: a wrong key in it is reported.
        try (dropIn + "NoSuchSetting=1\n").write(toFile: dir + "/trainers.conf", atomically: true, encoding: .utf8)
        #expect(try analyze(["verify", unit]).output.contains("NoSuchSetting"))
    }

    @Test("docs/trainers.md's table names the unit's and the drop-in's settings as they are")
    func trainersTable() throws {
        let unit = try String(contentsOfFile: Self.repository + "/systemd/updater.service", encoding: .utf8)
        let dropIn = try String(contentsOfFile: Self.repository + "/systemd/updater.service.d/trainers.conf", encoding: .utf8)
        let doc = try String(contentsOfFile: Self.repository + "/docs/trainers.md", encoding: .utf8)
        let section = try #require(doc.components(separatedBy: "## The systemd unit and trainers").last)
        func lines(_ text: String) -> Set<String> {
            Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") && !$0.hasPrefix("[") })
        }
        let unitLines = lines(unit), dropInLines = lines(dropIn)
        var named = Set<String>()
        for row in section.split(separator: "\n") where row.hasPrefix("| ") && !row.hasPrefix("| In the shipped unit") {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            // The first cell's setting is in the unit, unless it is a default.
            let first = cells[0]
            if first.hasPrefix("`"), !first.contains("(default)"), let setting = first.split(separator: "`").first {
                #expect(unitLines.contains(String(setting)), "docs/trainers.md says the unit has \(setting)")
            }
            // The last cell's setting, when it is a drop-in line, is in the drop-in.
            if let last = cells.last, last.hasPrefix("`"), let setting = last.split(separator: "`").first {
                #expect(dropInLines.contains(String(setting)), "docs/trainers.md says trainers.conf has \(setting)")
                named.insert(String(setting))
            }
        }
        #expect(named == dropInLines, "every line of trainers.conf is in the table: missing \(dropInLines.subtracting(named))")
    }

    @Test("systemd-analyze security --offline=true rates it 2.0 or better")
    func security() throws {
        let unit = try unitCopy()
        let r = try analyze(["security", "--offline=true", "--no-pager", unit])
        let line = r.output.split(separator: "\n").first { $0.contains("Overall exposure level") }
        let score = line.flatMap { $0.split(separator: ":").last?.split(separator: " ").first }.flatMap { Double($0) }
        #expect(score != nil && score! <= 2.0, "\(r.output.suffix(400))")
    }
}
