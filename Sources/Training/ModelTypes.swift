import Dispatch
import Foundation
import Tabular

// The general model types: what a model predicts (``Target``), its weights (``DenseLayer``) and
// its output (``Prediction``), shared by every built-in model.
//
// Note: inside this module (and in modules that import it) `Task` is this enum and shadows Swift
// concurrency's `Task`; write `_Concurrency.Task` for the latter there.

/// The kind of prediction a model makes.
package enum Task: String, Sendable, Codable, CaseIterable {
    /// Two classes; the model gives each row the probability of each.
    case binary
    /// Two or more classes; the model gives each row the probability of each.
    case multiclass
    /// A number per row.
    case regression

    package var isClassification: Bool { self != .regression }
}

/// What a model predicts: the label column, the task, and for classification the classes in sorted
/// order (numeric order when all are numbers), as scikit-learn's `classes_`.
package struct Target: Sendable, Codable, Equatable {
    package var column: String
    package var task: Task
    /// The class names, sorted; empty for regression.
    package var classes: [String]

    package init(column: String, task: Task, classes: [String]) {
        self.column = column
        self.task = task
        self.classes = classes
    }

    /// Chooses the target from the label values present in `table`. Classification needs at least two
    /// distinct values (exactly two for `.binary`); regression needs numbers: a numeric column, or a
    /// text column whose values all read as numbers.
    package static func infer(from table: DataTable, column: String, task: Task) throws -> Target {
        try infer(from: [table], column: column, task: task)
    }

    /// The target of the label values present in any of `tables` (the classes of all of them).
    package static func infer(from tables: [DataTable], column: String, task: Task) throws -> Target {
        var values = Set<String>()
        for table in tables {
            guard let col = table.column(column) else { throw TrainingError("label column \"\(column)\" is missing") }
            if task == .regression {
                if case .categorical(let codes, let levels) = col {
                    let numeric = levels.map { parseDouble($0) != nil }
                    if let row = codes.firstIndex(where: { $0 >= 0 && !numeric[Int($0)] }) {
                        throw TrainingError(
                            "label column \"\(column)\" is not numeric (data row \(row + 1) holds \"\(levels[Int(codes[row])])\"); a regression model needs numbers")
                    }
                }
                continue
            }
            switch col {
            case .numeric(let v):
                for x in v where !x.isNaN { values.insert(formatNumber(x)) }
            case .categorical(let codes, let levels):
                var seen = [Bool](repeating: false, count: levels.count)
                for c in codes where c >= 0 { seen[Int(c)] = true }
                for (i, level) in levels.enumerated() where seen[i] { values.insert(level) }
            }
        }
        if task == .regression { return Target(column: column, task: .regression, classes: []) }
        let sorted = sortedClasses(values)
        let list = sorted.prefix(5).joined(separator: ", ") + (sorted.count > 5 ? ", …" : "")
        switch task {
        case .binary where sorted.count != 2:
            throw TrainingError(
                "label column \"\(column)\" holds \(sorted.count) distinct value\(sorted.count == 1 ? "" : "s")"
                    + (sorted.isEmpty ? "" : " (\(list))") + "; a binary model needs exactly two")
        case .multiclass where sorted.count < 2:
            throw TrainingError(
                "label column \"\(column)\" holds \(sorted.count) distinct value\(sorted.count == 1 ? "" : "s")"
                    + (sorted.isEmpty ? "" : " (\(list))") + "; a classifier needs at least two")
        default:
            return Target(column: column, task: task, classes: sorted)
        }
    }

    /// Class names in numeric order when all are numbers (ties by text), else in text order.
    static func sortedClasses(_ values: Set<String>) -> [String] {
        let numbers = values.map { ($0, parseDouble($0)) }
        if numbers.allSatisfy({ $0.1 != nil }) {
            return numbers.sorted { $0.1! != $1.1! ? $0.1! < $1.1! : $0.0 < $1.0 }.map(\.0)
        }
        return values.sorted()
    }

    /// The class index (into ``classes``) of each row of `table`. Throws on a missing label or a value
    /// that is not one of the classes, naming the row (1-based data row).
    package func encodeClasses(_ table: DataTable) throws -> [Int32] {
        guard task.isClassification else { throw TrainingError("label \"\(column)\" is a regression target; it has no classes") }
        guard let col = table.column(column) else { throw TrainingError("label column \"\(column)\" is missing") }
        let index = Dictionary(classes.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { a, _ in a })
        var out = [Int32](repeating: 0, count: table.rowCount)
        switch col {
        case .categorical(let codes, let levels):
            // Decide once per level, then per row by code.
            let decided = levels.map { index[$0] ?? -1 }
            for (row, code) in codes.enumerated() {
                guard code >= 0 else { throw missing(row: row) }
                let k = decided[Int(code)]
                guard k >= 0 else { throw unknown(levels[Int(code)], row: row) }
                out[row] = k
            }
        case .numeric(let values):
            // A number is the class whose name is its text (1.0 is "1"), found without formatting.
            var byValue: [Double: Int32] = [:]
            for (k, name) in classes.enumerated() {
                if let x = parseDouble(name), formatNumber(x) == name { byValue[x] = Int32(k) }
            }
            for (row, x) in values.enumerated() {
                guard !x.isNaN else { throw missing(row: row) }
                guard let k = byValue[x] else { throw unknown(formatNumber(x), row: row) }
                out[row] = k
            }
        }
        return out
    }

    /// The regression target of each row of `table`. Throws on a missing value or one that is not a
    /// number, naming the row (1-based data row).
    package func encodeValues(_ table: DataTable) throws -> [Double] {
        guard task == .regression else { throw TrainingError("label \"\(column)\" is a \(task.rawValue) target, not a regression one") }
        guard let col = table.column(column) else { throw TrainingError("label column \"\(column)\" is missing") }
        switch col {
        case .numeric(let values):
            if let row = values.firstIndex(where: \.isNaN) { throw missing(row: row) }
            return values
        case .categorical(let codes, let levels):
            let parsed = levels.map { parseDouble($0) }
            var out = [Double](repeating: 0, count: codes.count)
            for (row, code) in codes.enumerated() {
                guard code >= 0 else { throw missing(row: row) }
                guard let x = parsed[Int(code)] else {
                    throw TrainingError("label \"\(column)\" holds \"\(levels[Int(code)])\" in data row \(row + 1), which is not a number")
                }
                out[row] = x
            }
            return out
        }
    }

    private func missing(row: Int) -> TrainingError {
        TrainingError("label \"\(column)\" is missing in data row \(row + 1)")
    }

    private func unknown(_ value: String, row: Int) -> TrainingError {
        let known = classes.prefix(10).map { "\"\($0)\"" }.joined(separator: ", ") + (classes.count > 10 ? ", …" : "")
        return TrainingError("label \"\(column)\" has the new value \"\(value)\" in data row \(row + 1) (the model knows \(known))")
    }
}

/// A dense layer: `outputs × inputs` weights (row-major: the weights of output `k` are
/// `weights[k * inputs ..< (k + 1) * inputs]`) and a bias per output.
package struct DenseLayer: Sendable, Codable, Equatable {
    package var inputs: Int
    package var outputs: Int
    package var weights: [Double]
    package var bias: [Double]

    package init(inputs: Int, outputs: Int, weights: [Double], bias: [Double]) {
        precondition(weights.count == inputs * outputs, "outputs × inputs weights")
        precondition(bias.count == outputs, "one bias per output")
        self.inputs = inputs
        self.outputs = outputs
        self.weights = weights
        self.bias = bias
    }

    /// The weights of output `k`, one per input.
    package func weights(ofOutput k: Int) -> ArraySlice<Double> { weights[k * inputs..<(k + 1) * inputs] }
}

/// How much each class counts in training.
package enum ClassWeights: Sendable, Equatable {
    /// Every row counts once.
    case none
    /// `n_samples / (n_classes * count(class))`, as scikit-learn's `class_weight="balanced"`:
    /// every class weighs the same in total. `n_classes` counts the classes present in the rows.
    case balanced
    /// A weight per class name; classes not listed weigh 1.
    case explicit([String: Double])

    /// The weight of each row, from its class index (see ``Target/encodeClasses(_:)``) into `classes`.
    /// Throws for an explicit weight that names no class or is negative or not finite.
    package func rowWeights(_ classIndex: [Int32], classes: [String]) throws -> [Double] {
        let perClass: [Double]
        switch self {
        case .none:
            return [Double](repeating: 1, count: classIndex.count)
        case .balanced:
            var counts = [Int](repeating: 0, count: classes.count)
            for k in classIndex { counts[Int(k)] += 1 }
            let present = counts.filter { $0 > 0 }.count
            perClass = counts.map { $0 > 0 ? Double(classIndex.count) / (Double(present) * Double($0)) : 0 }
        case .explicit(let weights):
            for (name, w) in weights.sorted(by: { $0.key < $1.key }) {
                guard classes.contains(name) else {
                    throw TrainingError("class weight for \"\(name)\", which is not a class (the classes are \(classes.joined(separator: ", ")))")
                }
                guard w.isFinite, w >= 0 else { throw TrainingError("class weight for \"\(name)\" is \(w); it must be a number ≥ 0") }
            }
            perClass = classes.map { weights[$0] ?? 1 }
        }
        return classIndex.map { perClass[Int($0)] }
    }
}

/// Predictions: per-row probabilities of each class (row-major `rows × classes`) or per-row values.
package enum Prediction: Sendable, Equatable {
    case probabilities(classes: Int, values: [Double])
    case values([Double])
}

/// Applies `layer` to `inputs` (`rows × layer.inputs`, row-major, from ``Preprocessor/transform(_:)``):
/// softmax for multiclass (and for a binary layer with two outputs), the sigmoid of the single output
/// for binary (giving `[1 − p, p]` per row, as scikit-learn's `predict_proba`), the outputs themselves
/// for regression (row-major `rows × outputs`). Large inputs are scored in row blocks on every core.
package func predict(_ layer: DenseLayer, inputs: [Double], task: Task) -> Prediction {
    precondition(layer.inputs > 0 && inputs.count % layer.inputs == 0, "rows × layer.inputs inputs")
    let rows = inputs.count / layer.inputs
    let k = layer.outputs
    let sigmoidBinary = task == .binary && k == 1
    let width = sigmoidBinary ? 2 : k
    var out = [Double](repeating: 0, count: rows * width)
    let blocks = min(max(1, ProcessInfo.processInfo.activeProcessorCount), max(1, rows * k * layer.inputs / 1_000_000))
    inputs.withUnsafeBufferPointer { xs in
        layer.weights.withUnsafeBufferPointer { ws in
            layer.bias.withUnsafeBufferPointer { bs in
                out.withUnsafeMutableBufferPointer { os in
                    let shared = PredictBlocks(
                        x: xs, w: ws, b: bs, out: os, rows: rows, d: layer.inputs, k: k, blocks: blocks,
                        mode: task == .regression ? .identity : sigmoidBinary ? .sigmoid : .softmax)
                    if blocks == 1 {
                        shared.run(block: 0)
                    } else {
                        DispatchQueue.concurrentPerform(iterations: blocks) { b in shared.run(block: b) }
                    }
                }
            }
        }
    }
    return task == .regression ? .values(out) : .probabilities(classes: width, values: out)
}

/// One prediction's shared inputs; each worker writes only its own rows of `out`, which the caller
/// reads after all have finished (hence `@unchecked Sendable`).
private struct PredictBlocks: @unchecked Sendable {
    enum Mode { case identity, sigmoid, softmax }
    let x: UnsafeBufferPointer<Double>
    let w: UnsafeBufferPointer<Double>
    let b: UnsafeBufferPointer<Double>
    let out: UnsafeMutableBufferPointer<Double>
    let rows: Int, d: Int, k: Int, blocks: Int
    let mode: Mode

    func run(block: Int) {
        let lower = rows * block / blocks, upper = rows * (block + 1) / blocks
        for r in lower..<upper {
            let row = x.baseAddress! + r * d
            switch mode {
            case .sigmoid:
                var z = b[0]
                for j in 0..<d { z += w[j] * row[j] }
                let p = sigmoid(z)
                out[2 * r] = 1 - p
                out[2 * r + 1] = p
            case .identity, .softmax:
                let o = out.baseAddress! + r * k
                for c in 0..<k {
                    let wc = w.baseAddress! + c * d
                    var z = b[c]
                    for j in 0..<d { z += wc[j] * row[j] }
                    o[c] = z
                }
                if mode == .softmax { softmaxInPlace(o, k) }
            }
        }
    }
}

/// Replaces `z[0..<k]` by its softmax, shifting by the maximum so that no exponential overflows;
/// returns `log Σ exp(z − max)` and the max, so that `log p_c = z_c − max − logSum`.
@inline(__always) @discardableResult
func softmaxInPlace(_ z: UnsafeMutablePointer<Double>, _ k: Int) -> (max: Double, logSum: Double) {
    var m = -Double.infinity
    for c in 0..<k { m = max(m, z[c]) }
    var sum = 0.0
    for c in 0..<k {
        let e = exp(z[c] - m)
        z[c] = e
        sum += e
    }
    for c in 0..<k { z[c] /= sum }
    return (m, log(sum))
}
