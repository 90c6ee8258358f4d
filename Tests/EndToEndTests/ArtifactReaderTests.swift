import Foundation
import Testing

/// docs/artifact.md's Python reader, as printed there, against the binary.
@Suite("The documented Python reader of model files")
struct ArtifactReaderTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The reader: the first ```python block of docs/artifact.md.
    func reader(in ws: Workspace) throws -> String {
        let doc = try String(contentsOf: Self.repo.appendingPathComponent("docs/artifact.md"), encoding: .utf8)
        let start = try #require(doc.range(of: "```python\n"))
        let end = try #require(doc.range(of: "\n```", range: start.upperBound..<doc.endIndex))
        let path = ws.root + "/score_updater_model.py"
        try String(doc[start.upperBound..<end.lowerBound]).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func python(_ args: [String]) throws -> Workspace.Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return .init(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    @Test("it scores byte for byte as updater predict does, and refuses a file with a flipped bit, as updater does")
    func sameScores() throws {
        let ws = try Workspace()
        try ws.write(Synthetic.csv(rows: 800, seed: 1), to: "train.csv")
        try ws.write(Synthetic.csv(rows: 100, seed: 2), to: "score.csv")
        let trained = try ws.run(
            ["train", "--input", ws.root + "/train.csv", "--label", "y", "--categorical", "colour", "--exclude", "id",
             "--positive", "yes", "--output", ws.root + "/m"], global: false)
        #expect(trained.status == 0, "\(trained.output)")
        let model = ws.root + "/m/model.updater"
        let script = try reader(in: ws)
        let py = try python([script, model, ws.root + "/score.csv"])
        let ours = try ws.run(["predict", model, "--input", ws.root + "/score.csv"], global: false)
        #expect(py.status == 0 && ours.status == 0, "\(py.stderr) \(ours.stderr)")
        #expect(py.stdout == ours.stdout && py.stdout.hasPrefix("score,label\n"))

        var bytes = try #require(ws.bytes("m/model.updater"))
        bytes[bytes.count / 2] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: ws.root + "/damaged.updater"))
        let pyDamaged = try python([script, ws.root + "/damaged.updater", ws.root + "/score.csv"])
        #expect(pyDamaged.status != 0 && pyDamaged.stderr.contains("damaged model file"), "\(pyDamaged.output)")
        let oursDamaged = try ws.run(["predict", ws.root + "/damaged.updater", "--input", ws.root + "/score.csv"], global: false)
        #expect(oursDamaged.status == 1 && oursDamaged.stderr.contains("damaged"), "\(oursDamaged.output)")
        #expect(oursDamaged.stdout.isEmpty)
    }
}
