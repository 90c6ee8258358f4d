import ArgumentParser
import Daemon
import Foundation
import Tabular
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on a CSV file with the built-in engine, no job or database needed.",
        discussion: """
            Every column but the label and --exclude is a feature: numeric unless listed in --categorical. Writes the artifact (docs/artifact.md) to DIR/model.updater; `updater predict DIR/model.updater --input X.csv` scores with it. With --warm-start, updates that artifact on the new rows instead (an incremental update: its preprocessing is kept and its weights are the prior; logistic regression only so far).

            Models: logistic_regression (binary), softmax_regression (two or more classes), ridge (numbers). Parameters (--param KEY=VALUE): l2 (default 1; scikit-learn's C = 1/l2, Ridge's alpha = l2), max_iter (500), class_weight (none or balanced, as scikit-learn defines it; classifiers).

            Example:
              updater train --input train.csv --label churned --categorical plan,region --exclude customer_id --output /tmp/m
              updater train --input new.csv --label churned --warm-start /tmp/m/model.updater --output /tmp/m2
              updater train --input houses.csv --label price --model ridge --param l2=10 --output /tmp/r
            """)

    @Option(name: .long, help: "The training CSV file.") var input: String
    @Option(name: .long, help: "The label column.") var label: String
    @Option(name: .long, help: "Comma-separated categorical columns.") var categorical: String?
    @Option(name: .long, help: "Comma-separated columns to leave out.") var exclude: String?
    @Option(name: .long, help: "For binary labels: the value that is the positive class (default: the greater one).") var positive: String?
    @Option(name: .long, help: "The model: logistic_regression, softmax_regression, ridge.") var model: String = "logistic_regression"
    @Option(name: .long, help: "A model parameter KEY=VALUE (repeatable).") var param: [String] = []
    @Option(name: .long, help: "An artifact to update incrementally instead of training from scratch.") var warmStart: String?
    @Option(name: .long, help: "Directory for model.updater (created if needed).") var output: String

    struct Parameters {
        var l2 = 1.0
        var maxIterations = 500
        var classWeights = ClassWeights.none
    }

    func parameters() throws -> Parameters {
        var p = Parameters()
        for item in param {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--param \(item): expected KEY=VALUE") }
            switch parts[0] {
            case "l2":
                guard let x = Double(parts[1]), x >= 0 else { throw ValidationError("--param l2: expected a number ≥ 0, got \(parts[1])") }
                p.l2 = x
            case "max_iter":
                guard let n = Int(parts[1]), n >= 1 else { throw ValidationError("--param max_iter: expected a whole number ≥ 1, got \(parts[1])") }
                p.maxIterations = n
            case "class_weight":
                guard parts[1] == "balanced" || parts[1] == "none" else {
                    throw ValidationError("--param class_weight: expected balanced or none, got \(parts[1])")
                }
                p.classWeights = parts[1] == "balanced" ? .balanced : .none
            default:
                throw ValidationError("--param \(parts[0]): unknown parameter (known: l2, max_iter, class_weight)")
            }
        }
        return p
    }

    func validate() throws {
        guard let kind = ModelKind(rawValue: model), kind != .mlp else {
            throw ValidationError("--model must be logistic_regression, softmax_regression or ridge, not \"\(model)\"")
        }
        if warmStart != nil, kind != .logisticRegression {
            throw ValidationError("--warm-start: only logistic_regression models are updated incrementally so far")
        }
        _ = try parameters()
    }

    func run() throws {
        let kind = ModelKind(rawValue: model)!
        let p = try parameters()
        let categorical = Set(list(self.categorical) + [label])
        let excluded = Set(list(exclude))
        let start = Date()
        do {
            let parent = try warmStart.map { try ModelArtifact.decode(Files.read($0)) }
            // A warm start reads the parent's features with the parent's kinds.
            let kinds: [String: ColumnKind]? = parent.map { p in
                Dictionary(uniqueKeysWithValues: p.preprocessor.numeric.map { ($0.name, ColumnKind.numeric) }
                    + p.preprocessor.categorical.map { ($0.name, ColumnKind.categorical) })
            }
            let table = try CSVReader.read(file: input, options: CSVOptions(required: [label] + (parent?.features ?? [])) { name in
                if name == label { return .categorical }
                if let kinds { return kinds[name] }
                if excluded.contains(name) { return nil }
                return categorical.contains(name) ? .categorical : .numeric
            })
            let loaded = Date()
            let features = parent?.features ?? table.names.filter { $0 != label }
            let trained: Model
            var note = ""
            switch kind {
            case .logisticRegression:
                let options = LogisticRegressionTrainer.Options(l2: p.l2, maxIterations: p.maxIterations, classWeights: p.classWeights)
                let outcome: LogisticRegressionTrainer.Outcome
                if let parent = parent?.logistic {
                    outcome = try LogisticRegressionTrainer.update(parent, on: table, options: options)
                } else {
                    let labels = try LabelEncoding.infer(from: table, column: label, positive: positive)
                    outcome = try LogisticRegressionTrainer.fit(table, features: features, labels: labels, options: options)
                }
                trained = Model(outcome.model)
                note = "\(outcome.iterations) iterations\(outcome.converged ? "" : ", NOT converged")"
            case .softmaxRegression:
                let preprocessor = try Preprocessor.fit(table, features: features)
                var target = try Target.infer(from: table, column: label, task: .multiclass)
                if target.classes.count == 2 { target.task = .binary }
                let fit = try SoftmaxRegressionTrainer.fit(
                    table, preprocessor: preprocessor, target: target,
                    options: .init(l2: p.l2, maxIterations: p.maxIterations, classWeights: p.classWeights))
                trained = Model(kind: .softmaxRegression, preprocessor: preprocessor, target: target, layers: [fit.layer])
                note = "\(target.classes.count) classes, \(fit.iterations) iterations\(fit.converged ? "" : ", NOT converged")"
            case .ridge:
                let preprocessor = try Preprocessor.fit(table, features: features)
                let target = try Target.infer(from: table, column: label, task: .regression)
                let layer = try RidgeTrainer.fit(table, preprocessor: preprocessor, target: target, l2: p.l2)
                trained = Model(kind: .ridge, preprocessor: preprocessor, target: target, layers: [layer])
                note = "exact solution"
            case .mlp:
                throw ValidationError("--model mlp is not available yet")
            }
            let done = Date()
            let path = (output.hasSuffix("/") ? output : output + "/") + "model.updater"
            let bytes = try ModelArtifact.encode(
                trained, metadata: ["trained_from": Files.baseName(input), "mode": parent == nil ? "full" : "incremental"])
            try Files.writeAtomically(bytes, to: path)
            print("""
                trained \(kind.rawValue) on \(table.rowCount) rows × \(trained.preprocessor.width) inputs \
                (\(parent == nil ? "full" : "incremental"), \(note))
                read \(String(format: "%.2f", loaded.timeIntervalSince(start)))s, trained \(String(format: "%.2f", done.timeIntervalSince(loaded)))s
                wrote \(path) (sha256 \(Files.sha256(bytes).prefix(12))…)
                """)
        } catch let e as ValidationError {
            throw e
        } catch {
            throw fail("\(error)")
        }
    }

    func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
