import Foundation
import Tabular
import Testing

@testable import Training

struct LogRegFixture: Decodable {
    struct Case: Decodable {
        var name: String
        var l2: Double
        var numeric: [String: [Double]]
        var categorical: [String: [String]]
        var labels: [Int]
        var coef_numeric: [String: Double]
        var coef_categorical: [String: [String: Double]]
        var intercept: Double
        var scores: [Double]
        var numeric_mean: [String: Double]
        var numeric_std: [String: Double]
    }
    var cases: [Case]

    static func load() throws -> LogRegFixture {
        let url = try #require(Bundle.module.url(forResource: "logistic_regression", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(LogRegFixture.self, from: Data(contentsOf: url))
    }
}

extension LogRegFixture.Case {
    var numericNames: [String] { numeric.keys.sorted() }
    var categoricalNames: [String] { categorical.keys.sorted() }

    var table: DataTable {
        var names: [String] = []
        var columns: [Column] = []
        for n in numericNames {
            names.append(n)
            columns.append(.numeric(numeric[n]!))
        }
        for n in categoricalNames {
            let values = categorical[n]!
            let levels = Array(Set(values)).sorted()
            names.append(n)
            columns.append(.categorical(codes: values.map { Int32(levels.firstIndex(of: $0)!) }, levels: levels))
        }
        names.append("y")
        columns.append(.categorical(codes: labels.map { Int32($0) }, levels: ["0", "1"]))
        return DataTable(names: names, columns: columns)
    }
}

@Suite("Logistic regression agrees with scikit-learn")
struct LogisticRegressionTests {
    static let names = (try? LogRegFixture.load().cases.map(\.name)) ?? []

    @Test("coefficients, intercept and scores match LogisticRegression(C = 1/l2)", arguments: names)
    func matchesScikitLearn(name: String) throws {
        let c = try #require(try LogRegFixture.load().cases.first { $0.name == name })
        let features = c.numericNames + c.categoricalNames
        let outcome = try LogisticRegressionTrainer.fit(
            c.table, features: features, labels: LabelEncoding(column: "y", negative: "0", positive: "1"),
            options: .init(l2: c.l2, maxIterations: 10_000))
        #expect(outcome.converged)
        let model = outcome.model
        // scikit-learn's lbfgs stops with a gradient of ~4e-6; our optimum is tighter, so agree to 1e-6.
        for (i, n) in c.numericNames.enumerated() {
            #expect(abs(model.preprocessor.numeric[i].mean - c.numeric_mean[n]!) <= 1e-12)
            #expect(abs(model.preprocessor.numeric[i].scale - c.numeric_std[n]!) <= 1e-12)
            #expect(abs(model.coefficients[i] - c.coef_numeric[n]!) <= 1e-6, "\(n)")
        }
        var offset = c.numericNames.count
        for n in c.categoricalNames {
            let levels = model.preprocessor.categorical.first { $0.name == n }!.levels
            for (k, level) in levels.enumerated() {
                #expect(abs(model.coefficients[offset + k] - c.coef_categorical[n]![level]!) <= 1e-6, "\(n)=\(level)")
            }
            // The unseen-category bucket is never active in training, so L2 keeps its weight at 0.
            #expect(abs(model.coefficients[offset + levels.count]) <= 1e-9)
            offset += levels.count + 1
        }
        #expect(abs(model.intercept - c.intercept) <= 1e-6)
        let scores = try model.predictProbabilities(c.table)
        for (s, e) in zip(scores, c.scores) { #expect(abs(s - e) <= 1e-6) }
    }

    @Test("training is deterministic: the same data gives the same artifact bytes")
    func deterministic() throws {
        let c = try #require(try LogRegFixture.load().cases.first)
        let labels = LabelEncoding(column: "y", negative: "0", positive: "1")
        let a = try LogisticRegressionTrainer.fit(c.table, features: c.numericNames, labels: labels, options: .init())
        let b = try LogisticRegressionTrainer.fit(c.table, features: c.numericNames, labels: labels, options: .init())
        #expect(try ModelArtifact.encode(Model(a.model)) == ModelArtifact.encode(Model(b.model)))
    }

    @Test("an incremental update keeps the parent's preprocessing and stays near the parent on little data")
    func incrementalKeepsPreprocessing() throws {
        let c = try #require(try LogRegFixture.load().cases.first)
        let labels = LabelEncoding(column: "y", negative: "0", positive: "1")
        let full = try LogisticRegressionTrainer.fit(c.table, features: c.numericNames, labels: labels, options: .init())
        let few = c.table.rows(Array(0..<20))
        let updated = try LogisticRegressionTrainer.update(full.model, on: few, options: .init(l2: 10))
        let scratch = try LogisticRegressionTrainer.fit(few, features: c.numericNames, labels: labels, options: .init(l2: 10))
        #expect(updated.model.preprocessor == full.model.preprocessor)
        func distance(_ m: LogisticModel) -> Double {
            zip(m.coefficients, full.model.coefficients).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        }
        #expect(distance(updated.model) < distance(scratch.model))
    }

    @Test("missing numeric values are imputed with an indicator, unseen categories go to the bucket")
    func preprocessing() throws {
        let t = DataTable(
            names: ["x", "k"],
            columns: [.numeric([1, .nan, 3]), .categorical(codes: [0, 1, -1], levels: ["b", "a"])])
        let p = try Preprocessor.fit(t, features: ["x", "k"])
        #expect(p.inputNames == ["x", "x=<missing>", "k=a", "k=b", "k=<other>"])
        let new = DataTable(names: ["x", "k"], columns: [.numeric([.nan]), .categorical(codes: [0], levels: ["zzz"])])
        #expect(try p.transform(new) == [0, 1, 0, 0, 1])
    }

    @Test("a single-class label is refused with a clear message")
    func singleClass() {
        let t = DataTable(names: ["y"], columns: [.categorical(codes: [0, 0], levels: ["yes"])])
        #expect(throws: TrainingError.self) { try LabelEncoding.infer(from: t, column: "y", positive: nil) }
    }

    @Test("the positive label defaults to the greater value, numerically for numbers")
    func positiveLabel() throws {
        let t = DataTable(names: ["y"], columns: [.categorical(codes: [0, 1], levels: ["10", "9"])])
        #expect(try LabelEncoding.infer(from: t, column: "y", positive: nil).positive == "10")
        let s = DataTable(names: ["y"], columns: [.categorical(codes: [0, 1], levels: ["yes", "no"])])
        #expect(try LabelEncoding.infer(from: s, column: "y", positive: nil).positive == "yes")
        #expect(try LabelEncoding.infer(from: s, column: "y", positive: "no").positive == "no")
    }
}
