import Foundation

/// Small labelled streams for the cycle's tests, written as CSV batches: SEA's concept (River's
/// `synth.SEA`: three inputs uniform on [0, 10], y = 1 when x1 + x2 ≤ θ, some labels flipped), with
/// θ switching at given batches, or the inputs moving while θ stays.
struct Stream {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    }

    let directory: String

    /// `thresholds[i]` is batch i's θ; `offsets[i]` moves x1 and x2 of batch i while θ stays: the
    /// inputs shift, the concept does not.
    init(batches: Int, rows: Int, thresholds: [Double], offsets: [Double]? = nil, noise: Double = 0.1, seed: UInt64 = 1) throws {
        directory = NSTemporaryDirectory() + "updater-stream-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var g = Generator(state: seed)
        for b in 0..<batches {
            let offset = offsets?[b] ?? 0
            var text = "x1,x2,x3,y\n"
            for _ in 0..<rows {
                let x1 = g.uniform() * 10 + offset, x2 = g.uniform() * 10 + offset, x3 = g.uniform() * 10
                var y = x1 + x2 <= thresholds[b]
                if g.uniform() < noise { y.toggle() }
                text += String(format: "%.4f,%.4f,%.4f,%d\n", x1, x2, x3, y ? 1 : 0)
            }
            try text.write(toFile: directory + String(format: "/batch-%03d.csv", b + 1), atomically: true, encoding: .utf8)
        }
    }

    var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted().map { directory + "/" + $0 }
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// A regression stream: y = slope·x1 + x2 + noise, the slope switching at batch `change`.
    static func regression(batches: Int, rows: Int, change: Int, seed: UInt64 = 3) throws -> Stream {
        let directory = NSTemporaryDirectory() + "updater-stream-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var g = Generator(state: seed)
        for b in 0..<batches {
            let slope = b + 1 < change ? 2.0 : -2.0
            var text = "x1,x2,y\n"
            for _ in 0..<rows {
                let x1 = g.uniform() * 4 - 2, x2 = g.uniform() * 4 - 2
                let noise = (g.uniform() + g.uniform() + g.uniform() - 1.5) * 0.5
                text += String(format: "%.4f,%.4f,%.4f\n", x1, x2, slope * x1 + x2 + noise)
            }
            try text.write(toFile: directory + String(format: "/batch-%03d.csv", b + 1), atomically: true, encoding: .utf8)
        }
        return Stream(directory: directory)
    }

    init(directory: String) { self.directory = directory }

    /// θ = 8, then 10.5 from batch `change` (1-based) on.
    static func abrupt(batches: Int, rows: Int, change: Int, seed: UInt64 = 1) throws -> Stream {
        try Stream(batches: batches, rows: rows, thresholds: (1...batches).map { $0 < change ? 8 : 10.5 }, seed: seed)
    }
}

/// A job file in a temporary directory, as a user writes it.
struct JobFile {
    let directory: String
    let path: String

    init(name: String = "sea", windowRows: Int = 8000, extra: String = "", regression: Bool = false) throws {
        directory = NSTemporaryDirectory() + "updater-job-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/incoming", withIntermediateDirectories: true)
        path = directory + "/\(name).toml"
        try """
            [data]
            incoming = "incoming"
            label = "y"
            \(regression ? "task = \"regression\"" : "positive_label = \"1\"")

            [training]
            window_rows = \(windowRows)
            \(extra)

            [[gate.rules]]
            metric = "\(regression ? "rmse" : "accuracy")"
            change = \(regression ? -0.05 : -0.01)

            [deploy]
            path = "deploy/\(name).model"
            """.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
