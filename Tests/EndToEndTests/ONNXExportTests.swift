import Foundation
import Testing

/// `updater export --format onnx`, checked by ONNX's own checker and scored by onnxruntime (PyPI)
/// against `updater predict` on the same rows: every built-in model kind and task, with missing
/// values and categories never seen in training.
@Suite("ONNX export, against onnxruntime")
struct ONNXExportTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/onnx/check_onnx.py").path

    struct Check: Decodable {
        var inputs: [String]
        var outputs: [String]
        var rows: Int
        var max_difference: Double
        var label_mismatches: Int
    }

    /// Training rows with a binary, a multiclass and a numeric label; some values missing.
    static func training(rows: Int, seed: UInt64) -> String {
        var g = Synthetic.Generator(state: seed)
        var out = "x1,x2,colour,y,k,v\n"
        let colours = ["red", "green", "blue"]
        for i in 0..<rows {
            let x1 = g.normal(), x2 = g.normal() * 2 + 5
            let colour = colours[Int(g.next() % 3)]
            let y = 1.5 * x1 - 0.5 * (x2 - 5) + (colour == "red" ? 1 : 0) + g.normal() * 0.5 > 0 ? "yes" : "no"
            let k = x1 > 0.5 ? "a" : x1 < -0.5 ? "b" : "c"
            let v = 2 * x1 + x2 + g.normal()
            out += "\(i % 17 == 0 ? "" : String(format: "%.5f", x1)),\(i % 23 == 0 ? "" : String(format: "%.5f", x2)),"
                + "\(i % 29 == 0 ? "" : colour),\(y),\(k),\(String(format: "%.5f", v))\n"
        }
        return out
    }

    /// Rows to score: missing numbers, a missing category and one never seen in training.
    static func scoring(rows: Int, seed: UInt64) -> String {
        var g = Synthetic.Generator(state: seed)
        var out = "x1,x2,colour\n"
        let colours = ["red", "green", "blue", "purple", ""]
        for i in 0..<rows {
            out += "\(i % 7 == 0 ? "" : String(format: "%.5f", g.normal() * 1.5)),\(i % 11 == 0 ? "" : String(format: "%.5f", g.normal() * 2 + 5)),"
                + "\(colours[i % colours.count])\n"
        }
        return out
    }

    static let cases: [(model: String, label: String, exclude: String, task: String?)] = [
        ("logistic_regression", "y", "k,v", nil), ("softmax_regression", "k", "y,v", nil), ("softmax_regression", "y", "k,v", nil),
        ("ridge", "v", "y,k", nil), ("mlp", "y", "k,v", nil), ("mlp", "k", "y,v", nil), ("mlp", "v", "y,k", "regression"),
    ]

    @Test("every model kind and task: onnx.checker passes and onnxruntime agrees with updater predict within 1e-6", arguments: cases.indices)
    func agrees(_ index: Int) throws {
        let c = Self.cases[index]
        let ws = try Workspace()
        try ws.write(Self.training(rows: 600, seed: 1), to: "train.csv")
        try ws.write(Self.scoring(rows: 250, seed: 2), to: "score.csv")
        let trained = try ws.run(
            ["train", "--input", ws.root + "/train.csv", "--label", c.label, "--categorical", "colour", "--exclude", c.exclude,
             "--model", c.model, "--output", ws.root + "/m"] + (c.task.map { ["--task", $0] } ?? []), global: false)
        try #require(trained.status == 0, "\(trained.output)")
        let exported = try ws.run(["export", ws.root + "/m/model.updater", "--format", "onnx", "--output", ws.root + "/m.onnx"], global: false)
        try #require(exported.status == 0, "\(exported.output)")
        #expect(exported.stdout.hasPrefix("wrote \(ws.root)/m.onnx ("))
        let predicted = try ws.run(["predict", ws.root + "/m/model.updater", "--input", ws.root + "/score.csv", "--output", ws.root + "/p.csv"], global: false)
        try #require(predicted.status == 0, "\(predicted.output)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.script, ws.root + "/m.onnx", ws.root + "/score.csv", ws.root + "/p.csv"]
        let r = try Workspace.collect(p)
        try #require(r.status == 0, "check_onnx.py (pip install onnx onnxruntime): \(r.stderr)")
        let check = try JSONDecoder().decode(Check.self, from: Data(r.stdout.utf8))
        #expect(check.max_difference <= 1e-6, "\(c.model) \(c.label): \(check)")
        #expect(check.label_mismatches == 0, "\(check)")
        #expect(check.rows == 250)
        #expect(check.inputs == ["x1", "x2", "colour"], "inputs are named after the feature columns")
        #expect(check.outputs == (c.label == "v" ? ["prediction"] : ["label", "probabilities"]))
    }

    @Test("the same version exports to the same bytes, and a job's version is exported from the registry")
    func fromJob() throws {
        let ws = try Workspace()
        try ws.addJob("churn")
        try ws.write(Synthetic.csv(rows: 1200, seed: 1), to: "incoming/churn/b1.csv")
        #expect(try ws.run(["run", "--once"]).status == 0)
        let a = try ws.run(["export", "churn", "--format", "onnx", "--output", ws.root + "/a.onnx"])
        let b = try ws.run(["export", "churn", "--version", "v1", "--format", "onnx", "--output", ws.root + "/b.onnx"])
        #expect(a.status == 0 && b.status == 0, "\(a.output)\(b.output)")
        #expect(ws.bytes("a.onnx") == ws.bytes("b.onnx") && ws.bytes("a.onnx")?.isEmpty == false)
        let missing = try ws.run(["export", "churn", "--version", "7", "--format", "onnx", "--output", ws.root + "/c.onnx"])
        #expect(missing.status == 1 && missing.stderr.contains("churn has no version 7"), "\(missing.output)")
        let badFormat = try ws.run(["export", "churn", "--format", "pmml", "--output", ws.root + "/c.onnx"])
        #expect(badFormat.status == 64 && badFormat.stderr.contains("pmml"), "\(badFormat.output)")
    }
}
