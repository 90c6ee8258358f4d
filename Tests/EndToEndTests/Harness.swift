import Foundation
import Synchronization
import Testing

/// The real `updater` binary, run as a child process in a temporary workspace.
/// Sendable: its stored properties are constants; each method starts its own process.
final class Workspace: @unchecked Sendable {
    let root: String
    var jobs: String { root + "/jobs" }
    var state: String { root + "/state" }

    init() throws {
        root = NSTemporaryDirectory() + "updater-e2e-" + UUID().uuidString
        for dir in [root, root + "/jobs", root + "/state"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["UPDATER_BIN"] { return b }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("updater").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        // swift test on Linux: .build/<triple>/debug/updaterPackageTests.xctest, next to `updater`.
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.appendingPathComponent(".build/debug/updater").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    /// Runs `updater ARGS` with this workspace's jobs and state directories (in `directory`, or
    /// the test's own working directory).
    @discardableResult
    func run(_ args: [String], global: Bool = true, in directory: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Workspace.binary)
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var full = args
        if global { full += ["--jobs", jobs, "--state-dir", state] }
        p.arguments = full
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "UPDATER_STATE_DIR")
        env.removeValue(forKey: "STATE_DIRECTORY")
        env.removeValue(forKey: "JOURNAL_STREAM")
        env["USER"] = "tester"
        p.environment = env
        return try Self.collect(p)
    }

    /// Starts `p` and waits for it, with both pipes drained at once: a child that fills one while
    /// the other is read would block.
    static func collect(_ p: Process) throws -> Result {
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stderr = Mutex(Data())
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let data = err.fileHandleForReading.readDataToEndOfFile()
            stderr.withLock { $0 = data }
            done.signal()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        let e = stderr.withLock { $0 }
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Runs a command that must succeed and returns its stdout parsed as JSON.
    func json(_ args: [String]) throws -> Any {
        let r = try run(args + ["--json"])
        #expect(r.status == 0, "\(args): \(r.output)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    }

    func write(_ text: String, to relative: String, age: TimeInterval = 3600) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        // Old enough to be past data.settle_time, unless a test says otherwise.
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-age)], ofItemAtPath: path)
    }

    /// The output of `sqlite3` on the state database.
    func sql(_ query: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sqlite3", state + "/registry.sqlite", query]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func bytes(_ relative: String) -> Data? { FileManager.default.contents(atPath: root + "/" + relative) }
    func bytes(absolute path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Writes `jobs/NAME.toml` reading from `incoming/NAME` and deploying to `deploy/NAME.model`.
    func addJob(_ name: String, extra: String = "", gate: String = Workspace.defaultGate) throws {
        try FileManager.default.createDirectory(atPath: root + "/incoming/" + name, withIntermediateDirectories: true)
        try write(
            """
            [data]
            incoming = "../incoming/\(name)"
            label = "y"
            positive_label = "yes"
            exclude = ["id"]
            categorical = ["colour"]
            holdout = 0.25
            \(extra)

            [deploy]
            path = "../deploy/\(name).model"

            \(gate)
            """, to: "jobs/\(name).toml")
    }

    static let defaultGate = """
        [gate]
        min_rows = 50

        [[gate.rules]]
        metric = "roc_auc"
        min = 0.75

        [[gate.rules]]
        metric = "accuracy"
        min = 0.65
        """
}

/// Synthetic labelled data: y depends on x1, x2 and colour through a fixed logistic rule.
enum Synthetic {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }
        mutating func normal() -> Double { (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) }
    }

    /// `rows` rows; `shift` moves x1 (and x2 unless `shiftX2` is false) by that many standard deviations,
    /// with the labelling rule moving along; `scramble` shuffles the labels.
    static func csv(
        rows: Int, seed: UInt64, shift: Double = 0, shiftX2: Bool = true, scramble: Bool = false, firstID: Int = 0
    ) -> String {
        var g = Generator(state: seed)
        var lines: [(String, String)] = []
        let colours = ["red", "green", "blue"]
        for i in 0..<rows {
            let x1 = g.normal() + shift
            let x2Shift = shiftX2 ? shift : 0
            let x2 = g.normal() * 2 + 5 + 2 * x2Shift
            let colour = colours[Int(g.next() % 3)]
            let z = 1.8 * (x1 - shift) - 0.9 * (x2 - 5 - 2 * x2Shift) + (colour == "red" ? 0.8 : 0)
            let y = g.uniform() < 1 / (1 + exp(-z)) ? "yes" : "no"
            let x2Text = i % 97 == 0 ? "" : String(format: "%.4f", x2)  // some missing values
            lines.append(("id\(firstID + i),\(String(format: "%.4f", x1)),\(x2Text),\(colour)", y))
        }
        if scramble {
            var labels = lines.map(\.1)
            labels.shuffle(using: &g)
            for i in lines.indices { lines[i].1 = labels[i] }
        }
        return "id,x1,x2,colour,y\n" + lines.map { "\($0.0),\($0.1)" }.joined(separator: "\n") + "\n"
    }
}
