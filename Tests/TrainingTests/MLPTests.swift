import Foundation
import Tabular
import Testing

@testable import Training

/// Small seeded data sets for the MLP tests (debug builds are slow: a few hundred rows each).
enum MLPData {
    /// `rows` points uniform in [−1, 1]², labelled "same" when x1 and x2 have the same sign, else "diff"
    /// (XOR), or by `label` when given.
    static func xor(rows: Int, seed: UInt64, label: ((Double, Double) -> Bool)? = nil) -> DataTable {
        var g = SplitMix64(seed: seed)
        var x1: [Double] = [], x2: [Double] = [], y: [Int32] = []
        for _ in 0..<rows {
            let a = 2 * g.nextUnit() - 1, b = 2 * g.nextUnit() - 1
            x1.append(a)
            x2.append(b)
            y.append((label ?? { $0 * $1 > 0 })(a, b) ? 1 : 0)
        }
        return DataTable(
            names: ["x1", "x2", "y"], columns: [.numeric(x1), .numeric(x2), .categorical(codes: y, levels: ["diff", "same"])])
    }

    /// Three classes from a numeric feature and a categorical one: the colour shifts which class each
    /// side of x = 0 gets, so the class depends on their interaction.
    static func colours(rows: Int, seed: UInt64) -> DataTable {
        var g = SplitMix64(seed: seed)
        let colours = ["red", "green", "blue"], classes = ["A", "B", "C"]
        var x: [Double] = [], colour: [Int32] = [], y: [Int32] = []
        for _ in 0..<rows {
            let v = 4 * g.nextUnit() - 2
            let c = g.next(below: 3)
            x.append(v)
            colour.append(Int32(c))
            y.append(Int32((c + (v > 0 ? 1 : 0)) % 3))
        }
        return DataTable(
            names: ["x", "colour", "y"],
            columns: [.numeric(x), .categorical(codes: colour, levels: colours), .categorical(codes: y, levels: classes)])
    }

    /// y = sin(x) + N(0, noise²), x uniform in [−2π, 2π] (two periods: a line explains ~15 % of it).
    static func sine(rows: Int, seed: UInt64, noise: Double = 0.1) -> DataTable {
        var g = SplitMix64(seed: seed)
        var x: [Double] = [], y: [Double] = []
        for _ in 0..<rows {
            let v = (2 * g.nextUnit() - 1) * 2 * Double.pi
            // Box–Muller.
            let u1 = max(g.nextUnit(), 1e-300), u2 = g.nextUnit()
            let normal = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            x.append(v)
            y.append(sin(v) + noise * normal)
        }
        return DataTable(names: ["x", "y"], columns: [.numeric(x), .numeric(y)])
    }

    /// Labels that do not depend on the features (a coin per row): nothing to learn, so the
    /// validation loss stops improving after a few epochs.
    static func noise(rows: Int, seed: UInt64) -> DataTable {
        xor(rows: rows, seed: seed) { _, _ in false }.replacingLabels(seed: seed)
    }
}

extension DataTable {
    fileprivate func replacingLabels(seed: UInt64) -> DataTable {
        var g = SplitMix64(seed: seed ^ 0xABCD)
        let y = (0..<rowCount).map { _ in Int32(g.next(below: 2)) }
        return DataTable(
            names: names, columns: Array(columns.dropLast()) + [.categorical(codes: y, levels: ["diff", "same"])])
    }
}

/// The fraction of rows whose most probable class is their label.
func accuracy(_ prediction: Prediction, _ labels: [Int32]) -> Double {
    guard case .probabilities(let k, let p) = prediction else { return .nan }
    var right = 0
    for (r, label) in labels.enumerated() {
        var best = 0
        for c in 1..<k where p[r * k + c] > p[r * k + best] { best = c }
        if best == Int(label) { right += 1 }
    }
    return Double(right) / Double(labels.count)
}

/// Mean log-loss of the labels under the predicted probabilities.
func logLoss(_ prediction: Prediction, _ labels: [Int32]) -> Double {
    guard case .probabilities(let k, let p) = prediction else { return .nan }
    var total = 0.0
    for (r, label) in labels.enumerated() { total -= log(max(p[r * k + Int(label)], 1e-15)) }
    return total / Double(labels.count)
}

func rSquared(_ prediction: Prediction, _ y: [Double]) -> Double {
    guard case .values(let v) = prediction else { return .nan }
    let mean = y.reduce(0, +) / Double(y.count)
    var residual = 0.0, total = 0.0
    for (p, t) in zip(v, y) {
        residual += (t - p) * (t - p)
        total += (t - mean) * (t - mean)
    }
    return 1 - residual / total
}

func bits(_ layers: [DenseLayer]) -> [[UInt64]] { layers.map { ($0.weights + $0.bias).map(\.bitPattern) } }

/// Counts its calls, thread-safely.
final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count
    }
}

@Suite("Multilayer perceptron")
struct MLPTests {
    static let xorOptions = MLPTrainer.Options(hiddenLayers: [16], learningRate: 0.01, batchSize: 32, maxEpochs: 150, seed: 7)

    @Test("learns XOR, which logistic regression cannot")
    func learnsXor() throws {
        let train = MLPData.xor(rows: 400, seed: 1), test = MLPData.xor(rows: 400, seed: 2)
        let pre = try Preprocessor.fit(train, features: ["x1", "x2"])
        let target = try Target.infer(from: train, column: "y", task: .binary)
        #expect(target.classes == ["diff", "same"])
        let outcome = try MLPTrainer.fit(train, preprocessor: pre, target: target, options: Self.xorOptions)
        let labels = try target.encodeClasses(test)
        let mlp = accuracy(predict(outcome.layers, inputs: try pre.transform(test), task: .binary), labels)

        let logistic = try LogisticRegressionTrainer.fit(
            train, features: ["x1", "x2"], labels: LabelEncoding(column: "y", negative: "diff", positive: "same"), options: .init())
        let scores = try logistic.model.predictProbabilities(test)
        let linear = Double(zip(scores, labels).filter { ($0 > 0.5) == ($1 == 1) }.count) / Double(labels.count)

        #expect(mlp > 0.95, "MLP accuracy \(mlp)")
        #expect(abs(linear - 0.5) < 0.1, "logistic regression accuracy \(linear)")
        #expect(outcome.layers.map(\.outputs) == [16, 1])
        #expect(outcome.bestValidationLoss < 0.2)
    }

    @Test("learns three classes from a numeric and a categorical feature")
    func learnsThreeClasses() throws {
        let train = MLPData.colours(rows: 450, seed: 3), test = MLPData.colours(rows: 300, seed: 4)
        let pre = try Preprocessor.fit(train, features: ["x", "colour"])
        #expect(pre.width == 5)  // x, three colours, the unseen-colour bucket
        let target = try Target.infer(from: train, column: "y", task: .multiclass)
        let outcome = try MLPTrainer.fit(
            train, preprocessor: pre, target: target,
            options: .init(hiddenLayers: [16], learningRate: 0.01, batchSize: 32, maxEpochs: 150, seed: 1))
        #expect(outcome.layers.map(\.outputs) == [16, 3])
        let prediction = predict(outcome.layers, inputs: try pre.transform(test), task: .multiclass)
        guard case .probabilities(let k, let p) = prediction else {
            Issue.record("no probabilities")
            return
        }
        #expect(k == 3)
        for r in 0..<test.rowCount { #expect(abs(p[(r * 3)..<(r * 3 + 3)].reduce(0, +) - 1) < 1e-12) }
        let mlp = accuracy(prediction, try target.encodeClasses(test))
        // A linear model sees the colour and the side of x only additively.
        let linear = try SoftmaxRegressionTrainer.fit(train, preprocessor: pre, target: target, options: .init())
        let softmax = accuracy(predict(linear.layer, inputs: try pre.transform(test), task: .multiclass), try target.encodeClasses(test))
        #expect(mlp > 0.95, "MLP accuracy \(mlp)")
        #expect(mlp > softmax + 0.15, "MLP \(mlp) vs softmax regression \(softmax)")
    }

    @Test("regression on y = sin(x) + noise beats ridge by a wide margin")
    func regressionBeatsRidge() throws {
        let train = MLPData.sine(rows: 300, seed: 5), test = MLPData.sine(rows: 300, seed: 6)
        let pre = try Preprocessor.fit(train, features: ["x"])
        let target = try Target.infer(from: train, column: "y", task: .regression)
        let outcome = try MLPTrainer.fit(
            train, preprocessor: pre, target: target,
            options: .init(hiddenLayers: [32, 32], learningRate: 0.01, batchSize: 32, maxEpochs: 150, seed: 3))
        let y = try target.encodeValues(test)
        let x = try pre.transform(test)
        let mlp = rSquared(predict(outcome.layers, inputs: x, task: .regression), y)
        let ridge = rSquared(predict(try RidgeTrainer.fit(train, preprocessor: pre, target: target, l2: 1), inputs: x, task: .regression), y)
        #expect(mlp > 0.9, "MLP R² \(mlp)")
        #expect(ridge < 0.3, "ridge R² \(ridge)")
        #expect(outcome.layers.map(\.outputs) == [32, 32, 1])
    }

    @Test("a seed gives the same weights bit for bit, on one thread or on every core")
    func deterministic() throws {
        let train = MLPData.xor(rows: 300, seed: 8)
        let pre = try Preprocessor.fit(train, features: ["x1", "x2"])
        let target = try Target.infer(from: train, column: "y", task: .binary)
        var options = MLPTrainer.Options(hiddenLayers: [8, 8], dropout: 0.1, batchSize: 128, maxEpochs: 8, seed: 11)
        let first = try MLPTrainer.fit(train, preprocessor: pre, target: target, options: options)
        let second = try MLPTrainer.fit(train, preprocessor: pre, target: target, options: options)
        #expect(bits(first.layers) == bits(second.layers))
        #expect(first.bestValidationLoss.bitPattern == second.bestValidationLoss.bitPattern)
        // Every minibatch on one thread, or every one dispatched to the cores: the same row blocks,
        // added in the same order.
        let serial = try MLPTrainer.train(
            from: nil, train, preprocessor: pre, target: target, options: options, minimumParallelWork: .max)
        let parallel = try MLPTrainer.train(
            from: nil, train, preprocessor: pre, target: target, options: options, minimumParallelWork: 0)
        #expect(bits(serial.layers) == bits(first.layers))
        #expect(bits(parallel.layers) == bits(first.layers))
        options.seed = 12
        let other = try MLPTrainer.fit(train, preprocessor: pre, target: target, options: options)
        #expect(bits(other.layers) != bits(first.layers))
    }

    @Test("early stopping stops when the validation loss plateaus")
    func earlyStopping() throws {
        let train = MLPData.noise(rows: 300, seed: 9)
        let pre = try Preprocessor.fit(train, features: ["x1", "x2"])
        let target = try Target.infer(from: train, column: "y", task: .binary)
        let outcome = try MLPTrainer.fit(
            train, preprocessor: pre, target: target,
            options: .init(hiddenLayers: [16], learningRate: 0.01, batchSize: 32, maxEpochs: 200, patience: 5, seed: 2))
        #expect(outcome.stoppedEarly)
        #expect(outcome.epochs < 200 && outcome.epochs >= 6, "\(outcome.epochs) epochs")
        // Nothing to learn: about log 2 per row at best.
        #expect(outcome.bestValidationLoss > 0.5)
        // Without early stopping's patience running out, the same fit runs every epoch.
        let full = try MLPTrainer.fit(
            train, preprocessor: pre, target: target,
            options: .init(hiddenLayers: [16], batchSize: 100, maxEpochs: 3, patience: 5, seed: 2))
        #expect(!full.stoppedEarly && full.epochs == 3)
        // The patience counts the epochs after the best one: with a tol no epoch can meet, the first
        // sets the best loss and `patience` more run, on the validation loss or, with no validation
        // rows, on the training loss (scikit-learn's `n_iter_no_change` runs one more).
        for fraction in [0.1, 0] {
            let strict = try MLPTrainer.fit(
                train, preprocessor: pre, target: target,
                options: .init(hiddenLayers: [4], batchSize: 100, validationFraction: fraction, patience: 3, tol: 10, seed: 2))
            #expect(strict.stoppedEarly && strict.epochs == 4, "validationFraction \(fraction): \(strict.epochs) epochs")
            #expect(strict.bestValidationLoss.isFinite && strict.bestValidationLoss > 0.5)
        }
    }

    @Test("dropout still trains, and changes the weights")
    func dropout() throws {
        let train = MLPData.xor(rows: 400, seed: 1), test = MLPData.xor(rows: 400, seed: 2)
        let pre = try Preprocessor.fit(train, features: ["x1", "x2"])
        let target = try Target.infer(from: train, column: "y", task: .binary)
        var options = Self.xorOptions
        options.hiddenLayers = [32]
        let plain = try MLPTrainer.fit(train, preprocessor: pre, target: target, options: options)
        options.dropout = 0.2
        let dropped = try MLPTrainer.fit(train, preprocessor: pre, target: target, options: options)
        #expect(bits(plain.layers) != bits(dropped.layers))
        let acc = accuracy(predict(dropped.layers, inputs: try pre.transform(test), task: .binary), try target.encodeClasses(test))
        #expect(acc > 0.9, "accuracy with dropout \(acc)")
    }

    @Test("shouldStop stops the training with its reason")
    func shouldStop() throws {
        let train = MLPData.xor(rows: 100, seed: 1)
        let pre = try Preprocessor.fit(train, features: ["x1", "x2"])
        let target = try Target.infer(from: train, column: "y", task: .binary)
        let calls = CallCounter()
        var options = MLPTrainer.Options(hiddenLayers: [4], maxEpochs: 50)
        options.shouldStop = { calls.next() > 3 ? "time limit" : nil }
        #expect(throws: TrainingError("training stopped after 3 epochs: time limit")) {
            try MLPTrainer.fit(train, preprocessor: pre, target: target, options: options)
        }
        options.shouldStop = { "cancelled" }
        #expect(throws: TrainingError("training stopped after 0 epochs: cancelled")) {
            try MLPTrainer.fit(train, preprocessor: pre, target: target, options: options)
        }
    }

    @Test("a warm-start update keeps the layer shapes and fits the new data")
    func warmStart() throws {
        let old = MLPData.xor(rows: 400, seed: 1)
        let pre = try Preprocessor.fit(old, features: ["x1", "x2"])
        let target = try Target.infer(from: old, column: "y", task: .binary)
        var options = Self.xorOptions
        options.maxEpochs = 60
        let parent = try MLPTrainer.fit(old, preprocessor: pre, target: target, options: options)
        // The concept moves: the boundary along x2 shifts from 0 to 0.5.
        let new = MLPData.xor(rows: 300, seed: 10) { a, b in (a > 0) == (b > 0.5) }
        let labels = try target.encodeClasses(new)
        let x = try pre.transform(new)
        let before = logLoss(predict(parent.layers, inputs: x, task: .binary), labels)
        let updated = try MLPTrainer.update(parent.layers, on: new, preprocessor: pre, target: target, options: options)
        #expect(updated.layers.map(\.inputs) == parent.layers.map(\.inputs))
        #expect(updated.layers.map(\.outputs) == parent.layers.map(\.outputs))
        #expect(bits(updated.layers) != bits(parent.layers))
        #expect(updated.bestValidationLoss < before / 2, "validation loss \(updated.bestValidationLoss), parent's loss on the new data \(before)")
        let after = logLoss(predict(updated.layers, inputs: x, task: .binary), labels)
        #expect(after < before / 2)
        // The shapes come from the parent: other hidden layers are refused.
        options.hiddenLayers = [8]
        #expect(throws: TrainingError.self) {
            try MLPTrainer.update(parent.layers, on: new, preprocessor: pre, target: target, options: options)
        }
    }

    @Test(
        "bad options are refused, naming the option",
        arguments: [
            ("hiddenLayers", MLPTrainer.Options(hiddenLayers: [])),
            ("hiddenLayers", MLPTrainer.Options(hiddenLayers: [4, 4, 4, 4])),
            ("hiddenLayers", MLPTrainer.Options(hiddenLayers: [4, 0])),
            ("dropout", MLPTrainer.Options(dropout: 1)),
            ("batchSize", MLPTrainer.Options(batchSize: 0)),
            ("learningRate", MLPTrainer.Options(learningRate: 0)),
            ("validationFraction", MLPTrainer.Options(validationFraction: 1)),
        ])
    func badOptions(name: String, options: MLPTrainer.Options) throws {
        let train = MLPData.xor(rows: 20, seed: 1)
        let pre = try Preprocessor.fit(train, features: ["x1", "x2"])
        let target = try Target.infer(from: train, column: "y", task: .binary)
        let error = #expect(throws: TrainingError.self) {
            try MLPTrainer.fit(train, preprocessor: pre, target: target, options: options)
        }
        #expect(error?.message.hasPrefix(name + " ") == true, "\(error?.message ?? "no error")")
    }

    @Test("predict over layers: one layer as the single-layer predict, hidden layers through ReLU")
    func predictLayers() throws {
        let one = DenseLayer(inputs: 2, outputs: 3, weights: [0.5, -1, 2, 0.25, -0.75, 1.5], bias: [0.1, -0.2, 0.3])
        let x = [1.0, 2, -0.5, 0.25, 3, -1]
        for task in [Task.multiclass, .regression] {
            #expect(predict([one], inputs: x, task: task) == predict(one, inputs: x, task: task))
        }
        let binary = DenseLayer(inputs: 2, outputs: 1, weights: [0.7, -0.3], bias: [0.2])
        #expect(predict([binary], inputs: x, task: .binary) == predict(binary, inputs: x, task: .binary))
        // Two layers: ReLU(one(x)), then the binary output.
        let out = DenseLayer(inputs: 3, outputs: 1, weights: [1, -2, 0.5], bias: [-0.1])
        guard case .probabilities(2, let p) = predict([one, out], inputs: x, task: .binary) else {
            Issue.record("not two probabilities per row")
            return
        }
        for r in 0..<3 {
            var z = out.bias[0]
            for k in 0..<3 {
                let w: [Double] = Array(one.weights(ofOutput: k))
                let pre: Double = one.bias[k] + w[0] * x[2 * r] + w[1] * x[2 * r + 1]
                z += out.weights[k] * max(0, pre)
            }
            let expected: Double = 1 / (1 + exp(-z))
            #expect(abs(p[2 * r + 1] - expected) < 1e-15)
            #expect(abs(p[2 * r] + p[2 * r + 1] - 1) < 1e-15)
        }
    }
}
