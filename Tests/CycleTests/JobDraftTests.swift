import Foundation
import Testing

@testable import Cycle
import JobFiles
import Training

/// `updater init`'s draft: each column's role and why, the task from the label, a gate from a
/// cross-validation, and a file that validates.
@Suite("A job drafted from a sample")
struct JobDraftTests {
    /// A sample whose label follows x and plan; `id`, `const`, `note` and `empty` are not features.
    static func sample(rows: Int = 600, label: (Double, String, Int) -> String) throws -> String {
        var state: UInt64 = 42
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        let plans = ["basic", "plus", "pro"]
        var lines = ["id,const,note,empty,x,plan,y"]
        for i in 0..<rows {
            let x = uniform() * 4 - 2
            let p = Int(uniform() * 3)
            lines.append("\(1000 + i),7,row \(i) says hello,,\(String(format: "%.4f", x)),\(plans[p]),\(label(x, plans[p], i))")
        }
        let path = NSTemporaryDirectory() + "updater-sample-" + UUID().uuidString + ".csv"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func binaryLabel(_ x: Double, _ plan: String, _ i: Int) -> String {
        // A deterministic noisy rule: mostly by x, sometimes flipped.
        let flip = (i * 7919) % 10 == 0
        return (x + (plan == "pro" ? 0.5 : 0) > 0) != flip ? "yes" : "no"
    }

    @Test("columns: identifier-like, constant, free text and empty ones are left out with why; numbers and text become features")
    func roles() throws {
        let path = try Self.sample(label: Self.binaryLabel)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let draft = try JobDraft.make(name: "demo", sample: path, label: "y", task: nil)
        let role = Dictionary(uniqueKeysWithValues: draft.columns.map { ($0.name, $0) })
        #expect(role["y"]?.role == .label)
        #expect(role["id"]?.role == .excluded && role["id"]?.why.hasPrefix("identifier-like") == true, "\(role["id"]!)")
        #expect(role["const"]?.role == .excluded && role["const"]?.why == "constant: 7 in every row")
        #expect(role["note"]?.role == .excluded && role["note"]?.why == "identifier-like: a different text in every row")
        #expect(role["empty"]?.role == .excluded && role["empty"]?.why == "every value is missing")
        #expect(role["x"]?.role == .numeric)
        #expect(role["plan"]?.role == .categorical && role["plan"]?.why == "text, 3 values (\"basic\", \"plus\", \"pro\")")
        #expect(draft.task == .binary && draft.positiveLabel == "yes")
    }

    @Test("the gate's bounds are the cross-validated mean less two standard deviations, and the file validates")
    func gate() throws {
        let path = try Self.sample(label: Self.binaryLabel)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let draft = try JobDraft.make(name: "demo", sample: path, label: "y", task: nil)
        #expect(draft.estimates.map(\.metric) == [.rocAUC, .accuracy])
        for e in draft.estimates {
            #expect(!e.isMaximum)
            #expect(e.bound == ((e.mean - 2 * e.standardDeviation) * 100).rounded(.down) / 100, "\(e)")
            #expect(e.mean > 0.8, "the rule is learnable: \(e)")
        }
        #expect(draft.changeMetric == .rocAUC && draft.change == -0.01)
        let config = try JobDraft.validated(draft.text, name: "demo")
        #expect(config.gate.rules.count == 3)
        #expect(config.data.categorical == ["plan"] && config.data.exclude == ["id", "const", "note", "empty"])
        #expect(config.warnings.isEmpty)
    }

    @Test("the task follows the label: many numbers are regression (an RMSE maximum), a few whole numbers multiclass")
    func tasks() throws {
        let regression = try Self.sample { x, _, i in String(format: "%.3f", 3 * x + Double(i % 5) * 0.1) }
        defer { try? FileManager.default.removeItem(atPath: regression) }
        let r = try JobDraft.make(name: "r", sample: regression, label: "y", task: nil)
        #expect(r.task == .regression && r.positiveLabel == nil)
        #expect(r.estimates.first?.metric == .rmse && r.estimates.first?.isMaximum == true)
        #expect(r.changeMetric == .rmse && r.change < 0)
        _ = try JobDraft.validated(r.text, name: "r")

        let multiclass = try Self.sample { x, _, _ in x < -0.7 ? "1" : x < 0.7 ? "2" : "3" }
        defer { try? FileManager.default.removeItem(atPath: multiclass) }
        let m = try JobDraft.make(name: "m", sample: multiclass, label: "y", task: nil)
        #expect(m.task == .multiclass && m.estimates.map(\.metric) == [.accuracy, .macroF1])
        _ = try JobDraft.validated(m.text, name: "m")
    }

    @Test("without --label, a column named like a label is taken; else the message lists the columns")
    func labelGuess() throws {
        let path = try Self.sample(label: Self.binaryLabel)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try JobDraft.make(name: "g", sample: path, label: nil, task: nil).label == "y")
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: ",y\n", with: ",churned\n")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: DraftError.self) { try JobDraft.make(name: "g", sample: path, label: nil, task: nil) }
        #expect(error?.description.hasSuffix("which column is the label? Name it with --label (columns: id, const, note, empty, x, plan, churned)") == true)
    }
}
