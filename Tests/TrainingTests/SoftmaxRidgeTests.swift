import Foundation
import Tabular
import Testing

@testable import Training

/// `Fixtures/softmax_ridge.json`, written by `scripts/fixtures/make_multiclass_ridge_fixtures.py`.
struct SoftmaxRidgeFixture: Decodable {
    struct Values<T: Decodable>: Decodable {
        var name: String
        var values: [T]
    }
    struct Case: Decodable {
        var name: String
        var kind: String
        var l2: Double
        var class_weight: String?
        var numeric: [Values<Double>]
        var categorical: [Values<String>]
        var labels: [String]?
        var targets: [Double]?
        var classes: [String]?
        var numeric_mean: [String: Double]
        var numeric_std: [String: Double]
        var inputs: [String]
        var coef: [[Double]]
        var intercept: [Double]
        var predictions: [Double]
    }
    var cases: [Case]

    static func load() throws -> SoftmaxRidgeFixture {
        let url = try #require(Bundle.module.url(forResource: "softmax_ridge", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(SoftmaxRidgeFixture.self, from: Data(contentsOf: url))
    }

    static func named(_ name: String) throws -> Case {
        try #require(try load().cases.first { $0.name == name })
    }

    static func names(kind: String) -> [String] {
        ((try? load().cases) ?? []).filter { $0.kind == kind }.map(\.name)
    }
}

extension SoftmaxRidgeFixture.Case {
    var features: [String] { numeric.map(\.name) + categorical.map(\.name) }

    /// The case as the CSV reader would load it: categorical levels (and text labels) in order of
    /// first appearance, a numeric target for ridge.
    var table: DataTable {
        var names: [String] = []
        var columns: [Column] = []
        for c in numeric {
            names.append(c.name)
            columns.append(.numeric(c.values))
        }
        for c in categorical {
            names.append(c.name)
            columns.append(textColumn(c.values))
        }
        names.append("y")
        columns.append(labels.map(textColumn) ?? .numeric(targets!))
        return DataTable(names: names, columns: columns)
    }

    var classWeights: ClassWeights {
        switch class_weight {
        case nil: .none
        case "balanced": .balanced
        case let other?: preconditionFailure("unknown class_weight \(other)")
        }
    }
}

func textColumn(_ values: [String]) -> Column {
    var levels: [String] = []
    var index: [String: Int32] = [:]
    let codes = values.map { v -> Int32 in
        if let c = index[v] { return c }
        levels.append(v)
        index[v] = Int32(levels.count - 1)
        return Int32(levels.count - 1)
    }
    return .categorical(codes: codes, levels: levels)
}

@Suite("Softmax and ridge regression agree with scikit-learn")
struct SoftmaxRidgeTests {
    /// Checks a fitted layer against the case: every stored input's weight per output, the
    /// unseen-category inputs at 0, the intercepts, and the predictions of the training rows.
    func check(
        _ layer: DenseLayer, _ pre: Preprocessor, _ c: SoftmaxRidgeFixture.Case, task: Task, tolerance: Double
    ) throws {
        for (i, n) in c.numeric.map(\.name).enumerated() {
            #expect(abs(pre.numeric[i].mean - c.numeric_mean[n]!) <= 1e-12)
            #expect(abs(pre.numeric[i].scale - c.numeric_std[n]!) <= 1e-12)
        }
        let names = pre.inputNames
        #expect(layer.inputs == names.count)
        #expect(layer.outputs == c.coef.count)
        for (k, row) in c.coef.enumerated() {
            let weights = Array(layer.weights(ofOutput: k))
            for (input, expected) in zip(c.inputs, row) {
                let j = try #require(names.firstIndex(of: input))
                #expect(abs(weights[j] - expected) <= tolerance, "output \(k), \(input): \(weights[j]) vs \(expected)")
            }
            // The unseen-category bucket is never active in training, so L2 keeps its weight at 0.
            for (j, name) in names.enumerated() where name.hasSuffix("=<other>") {
                #expect(abs(weights[j]) <= 1e-12, "output \(k), \(name)")
            }
            #expect(abs(layer.bias[k] - c.intercept[k]) <= tolerance, "intercept \(k): \(layer.bias[k]) vs \(c.intercept[k])")
        }
        let prediction = predict(layer, inputs: try pre.transform(c.table), task: task)
        let values: [Double]
        switch prediction {
        case .probabilities(let classes, let v):
            #expect(classes == (c.classes?.count ?? -1))
            values = v
        case .values(let v):
            values = v
        }
        #expect(values.count == c.predictions.count)
        let worst = zip(values, c.predictions).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= tolerance, "largest prediction difference \(worst)")
    }

    @Test(
        "softmax coefficients, intercepts and probabilities match LogisticRegression(C = 1/l2), multinomial",
        arguments: SoftmaxRidgeFixture.names(kind: "softmax"))
    func softmaxMatchesScikitLearn(name: String) throws {
        let c = try SoftmaxRidgeFixture.named(name)
        let table = c.table
        let pre = try Preprocessor.fit(table, features: c.features)
        let target = try Target.infer(from: table, column: "y", task: .multiclass)
        #expect(target.classes == c.classes)
        let fit = try SoftmaxRegressionTrainer.fit(
            table, preprocessor: pre, target: target,
            options: .init(l2: c.l2, maxIterations: 10_000, classWeights: c.classWeights))
        #expect(fit.converged)
        // An L-BFGS optimum: agree to 1e-6 (the reference is the exact optimum, to ~1e-13).
        try check(fit.layer, pre, c, task: .multiclass, tolerance: 1e-6)
        #expect(abs(fit.layer.bias.reduce(0, +)) <= 1e-12, "intercepts sum to 0")
    }

    @Test("ridge coefficients, intercept and predictions match Ridge(alpha = l2)", arguments: SoftmaxRidgeFixture.names(kind: "ridge"))
    func ridgeMatchesScikitLearn(name: String) throws {
        let c = try SoftmaxRidgeFixture.named(name)
        let table = c.table
        let pre = try Preprocessor.fit(table, features: c.features)
        let target = try Target.infer(from: table, column: "y", task: .regression)
        #expect(target == Target(column: "y", task: .regression, classes: []))
        let layer = try RidgeTrainer.fit(table, preprocessor: pre, target: target, l2: c.l2)
        // Both sides solve the normal equations exactly.
        try check(layer, pre, c, task: .regression, tolerance: 1e-9)
    }

    @Test("balanced class weights are scikit-learn's: the weighted binary objective is stationary at its fit")
    func balancedWeightsBinary() throws {
        let c = try SoftmaxRidgeFixture.named("logistic_balanced")
        let table = c.table
        let pre = try Preprocessor.fit(table, features: c.features)
        let target = try Target.infer(from: table, column: "y", task: .binary)
        #expect(target.classes == c.classes)
        let y = try target.encodeClasses(table)
        let s = try ClassWeights.balanced.rowWeights(y, classes: target.classes)
        // n / (2 · count): 600 / (2 · 514) for "no", 600 / (2 · 86) for "yes".
        let counts = [y.filter { $0 == 0 }.count, y.filter { $0 == 1 }.count]
        #expect(s[y.firstIndex(of: 0)!] == 600 / (2 * Double(counts[0])))
        #expect(s[y.firstIndex(of: 1)!] == 600 / (2 * Double(counts[1])))
        // The gradient of Σ s_i logloss_i + l2/2 ‖w‖² at the reference coefficients.
        let x = try pre.transform(table)
        let names = pre.inputNames
        var w = [Double](repeating: 0, count: names.count)
        for (input, v) in zip(c.inputs, c.coef[0]) { w[names.firstIndex(of: input)!] = v }
        var gradient = w.map { c.l2 * $0 }
        var gBias = 0.0
        for r in 0..<table.rowCount {
            var z = c.intercept[0]
            for j in 0..<w.count { z += w[j] * x[r * w.count + j] }
            let residual = s[r] * (sigmoid(z) - Double(y[r]))
            for j in 0..<w.count { gradient[j] += residual * x[r * w.count + j] }
            gBias += residual
        }
        #expect(gradient.map(abs).max()! <= 1e-9)
        #expect(abs(gBias) <= 1e-9)
        // The same weights through the general prediction: [1 − p, p] per row, as predict_proba.
        let layer = DenseLayer(inputs: w.count, outputs: 1, weights: w, bias: c.intercept)
        guard case .probabilities(2, let p) = predict(layer, inputs: x, task: .binary) else {
            Issue.record("binary prediction is two probabilities per row")
            return
        }
        #expect(zip(p, c.predictions).map { abs($0 - $1) }.max()! <= 1e-12)
    }

    @Test("training is deterministic: the same data gives the same layer")
    func deterministic() throws {
        for name in ["softmax_four_classes_categorical", "ridge_categorical"] {
            let c = try SoftmaxRidgeFixture.named(name)
            let pre = try Preprocessor.fit(c.table, features: c.features)
            if c.kind == "softmax" {
                let target = try Target.infer(from: c.table, column: "y", task: .multiclass)
                let a = try SoftmaxRegressionTrainer.fit(c.table, preprocessor: pre, target: target, options: .init())
                let b = try SoftmaxRegressionTrainer.fit(c.table, preprocessor: pre, target: target, options: .init())
                #expect(a.layer == b.layer)
                #expect(a.iterations == b.iterations)
            } else {
                let target = try Target.infer(from: c.table, column: "y", task: .regression)
                let a = try RidgeTrainer.fit(c.table, preprocessor: pre, target: target, l2: c.l2)
                #expect(try RidgeTrainer.fit(c.table, preprocessor: pre, target: target, l2: c.l2) == a)
            }
        }
    }

    @Test("a stop request (time limit, cancellation) ends the training with its reason")
    func stops() throws {
        let c = try SoftmaxRidgeFixture.named("softmax_three_numeric")
        let pre = try Preprocessor.fit(c.table, features: c.features)
        let target = try Target.infer(from: c.table, column: "y", task: .multiclass)
        #expect(throws: TrainingError("training stopped after 0 iterations: time limit of 1 s reached")) {
            try SoftmaxRegressionTrainer.fit(
                c.table, preprocessor: pre, target: target, options: .init(shouldStop: { "time limit of 1 s reached" }))
        }
    }

    // MARK: Target

    @Test("classes are sorted as text, or numerically when all are numbers")
    func classOrder() throws {
        let text = DataTable(names: ["y"], columns: [textColumn(["beta", "alpha", "gamma", "alpha"])])
        let t = try Target.infer(from: text, column: "y", task: .multiclass)
        #expect(t == Target(column: "y", task: .multiclass, classes: ["alpha", "beta", "gamma"]))
        #expect(try t.encodeClasses(text) == [1, 0, 2, 0])

        let numbersAsText = DataTable(names: ["y"], columns: [textColumn(["10", "9", "2", "9"])])
        #expect(try Target.infer(from: numbersAsText, column: "y", task: .multiclass).classes == ["2", "9", "10"])
        let numbers = DataTable(names: ["y"], columns: [.numeric([10, 9, 2, 9, -1.5])])
        let n = try Target.infer(from: numbers, column: "y", task: .multiclass)
        #expect(n.classes == ["-1.5", "2", "9", "10"])
        #expect(try n.encodeClasses(numbers) == [3, 2, 1, 2, 0])
        // Mixed numbers and text sort as text.
        let mixed = DataTable(names: ["y"], columns: [textColumn(["10", "9", "x"])])
        #expect(try Target.infer(from: mixed, column: "y", task: .multiclass).classes == ["10", "9", "x"])
        // The fixture's numeric labels 1, 2, 10 in scikit-learn's order.
        let c = try SoftmaxRidgeFixture.named("softmax_three_numeric")
        #expect(try Target.infer(from: c.table, column: "y", task: .multiclass).classes == ["1", "2", "10"])
    }

    @Test("a binary target needs exactly two classes, a multiclass one at least two")
    func classCounts() throws {
        let three = DataTable(names: ["y"], columns: [textColumn(["a", "b", "c"])])
        #expect(throws: TrainingError("label column \"y\" holds 3 distinct values (a, b, c); a binary model needs exactly two")) {
            try Target.infer(from: three, column: "y", task: .binary)
        }
        let one = DataTable(names: ["y"], columns: [textColumn(["a", "a"])])
        #expect(throws: TrainingError("label column \"y\" holds 1 distinct value (a); a classifier needs at least two")) {
            try Target.infer(from: one, column: "y", task: .multiclass)
        }
        let two = DataTable(names: ["y"], columns: [textColumn(["yes", "no"])])
        #expect(try Target.infer(from: two, column: "y", task: .binary).classes == ["no", "yes"])
        #expect(throws: TrainingError("label column \"z\" is missing")) { try Target.infer(from: two, column: "z", task: .binary) }
    }

    @Test("a regression label that is not numeric is refused with a clear message")
    func regressionNeedsNumbers() throws {
        let t = DataTable(names: ["y"], columns: [textColumn(["1.5", "abc", "2"])])
        #expect(throws: TrainingError("label column \"y\" is not numeric (data row 2 holds \"abc\"); a regression model needs numbers")) {
            try Target.infer(from: t, column: "y", task: .regression)
        }
        // Numbers read as text are numbers.
        let text = DataTable(names: ["y"], columns: [textColumn(["1.5", "-2", "1e3"])])
        let target = try Target.infer(from: text, column: "y", task: .regression)
        #expect(try target.encodeValues(text) == [1.5, -2, 1000])
    }

    @Test("a missing or unknown label names its data row")
    func missingLabel() throws {
        let classes = DataTable(names: ["y"], columns: [.categorical(codes: [0, 1, -1, 0], levels: ["a", "b"])])
        let target = Target(column: "y", task: .multiclass, classes: ["a", "b", "c"])
        #expect(throws: TrainingError("label \"y\" is missing in data row 3")) { try target.encodeClasses(classes) }
        let unknown = DataTable(names: ["y"], columns: [textColumn(["a", "c", "d"])])
        #expect(throws: TrainingError("label \"y\" has the new value \"d\" in data row 3 (the model knows \"a\", \"b\", \"c\")")) {
            try target.encodeClasses(unknown)
        }
        let numbers = DataTable(names: ["y"], columns: [.numeric([1, 2, .nan])])
        let numeric = Target(column: "y", task: .multiclass, classes: ["1", "2", "3"])
        #expect(throws: TrainingError("label \"y\" is missing in data row 3")) { try numeric.encodeClasses(numbers) }
        let regression = Target(column: "y", task: .regression, classes: [])
        #expect(throws: TrainingError("label \"y\" is missing in data row 3")) { try regression.encodeValues(numbers) }
        let text = DataTable(names: ["y"], columns: [.categorical(codes: [0, -1], levels: ["1"])])
        #expect(throws: TrainingError("label \"y\" is missing in data row 2")) { try regression.encodeValues(text) }
    }

    @Test("a target survives JSON")
    func targetCodable() throws {
        let t = Target(column: "species", task: .multiclass, classes: ["a", "b", "c"])
        #expect(try JSONDecoder().decode(Target.self, from: JSONEncoder().encode(t)) == t)
        let layer = DenseLayer(inputs: 2, outputs: 1, weights: [1, -2], bias: [0.5])
        #expect(try JSONDecoder().decode(DenseLayer.self, from: JSONEncoder().encode(layer)) == layer)
    }

    // MARK: Class weights, prediction, refusals

    @Test("explicit class weights: listed classes get theirs, others 1; an unknown class is refused")
    func explicitWeights() throws {
        let w = try ClassWeights.explicit(["b": 3]).rowWeights([0, 1, 2, 1], classes: ["a", "b", "c"])
        #expect(w == [1, 3, 1, 3])
        #expect(throws: TrainingError("class weight for \"z\", which is not a class (the classes are a, b, c)")) {
            try ClassWeights.explicit(["z": 2]).rowWeights([0], classes: ["a", "b", "c"])
        }
        #expect(throws: TrainingError.self) { try ClassWeights.explicit(["a": -1]).rowWeights([0], classes: ["a", "b"]) }
        // Balanced: 4 rows, 2 classes present (c is absent): 4 / (2 · 3) and 4 / (2 · 1).
        #expect(try ClassWeights.balanced.rowWeights([0, 0, 0, 1], classes: ["a", "b", "c"]) == [4.0 / 6, 4.0 / 6, 4.0 / 6, 2])
    }

    @Test("prediction: a stable softmax, a sigmoid giving [1 − p, p] for one binary output, identity for regression")
    func prediction() {
        let softmax = DenseLayer(inputs: 1, outputs: 3, weights: [1000, 0, -1000], bias: [0, 0, 0])
        guard case .probabilities(3, let p) = predict(softmax, inputs: [1, -1, 0], task: .multiclass) else {
            Issue.record("three probabilities per row")
            return
        }
        #expect(p.allSatisfy { $0.isFinite })
        #expect(Array(p[0..<3]) == [1, 0, 0])
        #expect(Array(p[3..<6]) == [0, 0, 1])
        #expect(p[6..<9].allSatisfy { abs($0 - 1.0 / 3) <= 1e-15 })

        let binary = DenseLayer(inputs: 2, outputs: 1, weights: [1, -1], bias: [0.5])
        guard case .probabilities(2, let q) = predict(binary, inputs: [0, 0, 800, 0], task: .binary) else {
            Issue.record("two probabilities per row")
            return
        }
        let p0 = 1 / (1 + exp(-0.5))
        #expect(abs(q[0] - (1 - p0)) <= 1e-15 && abs(q[1] - p0) <= 1e-15)
        #expect(q[2] == 0 && q[3] == 1)

        let regression = DenseLayer(inputs: 2, outputs: 1, weights: [2, -1], bias: [0.5])
        #expect(predict(regression, inputs: [1, 1, 0, 3], task: .regression) == .values([1.5, -2.5]))
    }

    @Test("each trainer refuses the other's target, and ridge needs l2 > 0")
    func refusals() throws {
        let c = try SoftmaxRidgeFixture.named("ridge_four_numeric")
        let pre = try Preprocessor.fit(c.table, features: c.features)
        let regression = try Target.infer(from: c.table, column: "y", task: .regression)
        #expect(throws: TrainingError("softmax regression predicts classes; the target \"y\" is a regression target")) {
            try SoftmaxRegressionTrainer.fit(c.table, preprocessor: pre, target: regression, options: .init())
        }
        #expect(throws: TrainingError("ridge regression needs l2 > 0 (got 0.0)")) {
            try RidgeTrainer.fit(c.table, preprocessor: pre, target: regression, l2: 0)
        }
        let s = try SoftmaxRidgeFixture.named("softmax_three_numeric")
        let classes = try Target.infer(from: s.table, column: "y", task: .multiclass)
        #expect(throws: TrainingError("ridge regression predicts numbers; the target \"y\" is a multiclass target")) {
            try RidgeTrainer.fit(s.table, preprocessor: try Preprocessor.fit(s.table, features: s.features), target: classes, l2: 1)
        }
    }
}
