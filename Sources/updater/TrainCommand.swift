import ArgumentParser
import Cycle
import Service
import Foundation
import Support
import Tabular
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on a CSV file with the built-in engine, no job or database needed.",
        discussion: """
            Every column but the label and --exclude is a feature: numeric unless listed in --categorical. Writes the artifact (docs/artifact.md) to DIR/model.updater; `updater predict DIR/model.updater --input X.csv` scores with it. With --warm-start, updates that artifact on the new rows instead (an incremental update: its preprocessing is kept and its weights are the prior; logistic regression only so far).

            Models: logistic_regression (binary), softmax_regression (two or more classes), ridge (numbers), mlp (a multilayer perceptron for classes, or numbers with --task regression). Parameters (--param KEY=VALUE): l2 (default 1; scikit-learn's C = 1/l2, Ridge's alpha = l2; for mlp the weight penalty, default 0.0001), max_iter (500), class_weight (none or balanced, as scikit-learn defines it; classifiers); for mlp also hidden_layers (32; e.g. 64,32), dropout (0), learning_rate (0.001), batch_size (200), max_epochs (200), patience (10), validation_fraction (0.1, for early stopping), seed (0).

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
    @Option(name: .long, help: "The model: logistic_regression, softmax_regression, ridge, mlp.") var model: String = "logistic_regression"
    @Option(name: .long, help: "For mlp: binary, multiclass or regression (default: classification by the label's values).") var task: String?
    @Option(name: .long, help: "A model parameter KEY=VALUE (repeatable).") var param: [String] = []
    @Option(name: .long, help: "An artifact to update incrementally instead of training from scratch.") var warmStart: String?
    @Option(name: .long, help: "Directory for model.updater (created if needed).") var output: String

    struct Parameters {
        var l2: Double? = nil
        var maxIterations = 500
        var classWeights = ClassWeights.none
        var mlp = MLPTrainer.Options()
    }

    func parameters() throws -> Parameters {
        var p = Parameters()
        for item in param {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--param \(item): expected KEY=VALUE") }
            func number(_ range: ClosedRange<Double>) throws -> Double {
                guard let x = Double(parts[1]), range.contains(x) else {
                    throw ValidationError("--param \(parts[0]): expected a number from \(range.lowerBound) to \(range.upperBound), got \(parts[1])")
                }
                return x
            }
            func whole(_ lower: Int) throws -> Int {
                guard let n = Int(parts[1]), n >= lower else {
                    throw ValidationError("--param \(parts[0]): expected a whole number ≥ \(lower), got \(parts[1])")
                }
                return n
            }
            switch parts[0] {
            case "hidden_layers":
                let widths = parts[1].split(separator: ",").compactMap { Int($0) }
                guard (1...3).contains(widths.count), widths.allSatisfy({ $0 >= 1 }), widths.count == parts[1].split(separator: ",").count else {
                    throw ValidationError("--param hidden_layers: expected 1 to 3 layer widths such as 64,32, got \(parts[1])")
                }
                p.mlp.hiddenLayers = widths
            case "dropout": p.mlp.dropout = try number(0...0.99)
            case "learning_rate": p.mlp.learningRate = try number(1e-9...10)
            case "batch_size": p.mlp.batchSize = try whole(1)
            case "max_epochs": p.mlp.maxEpochs = try whole(1)
            case "patience": p.mlp.patience = try whole(1)
            case "validation_fraction": p.mlp.validationFraction = try number(0...0.9)
            case "seed": p.mlp.seed = UInt64(try whole(0))
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
                throw ValidationError(
                    "--param \(parts[0]): unknown parameter (known: l2, max_iter, class_weight, hidden_layers, dropout, learning_rate, batch_size, max_epochs, patience, validation_fraction, seed)")
            }
        }
        return p
    }

    func validate() throws {
        guard let kind = ModelKind(rawValue: model) else {
            throw ValidationError("--model must be logistic_regression, softmax_regression, ridge or mlp, not \"\(model)\"")
        }
        if warmStart != nil, kind != .logisticRegression, kind != .mlp {
            throw ValidationError("--warm-start: only logistic_regression and mlp models are updated incrementally so far")
        }
        if let task, Task(rawValue: task) == nil || kind != .mlp {
            throw ValidationError("--task is for --model mlp: binary, multiclass or regression")
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
            if let parent, parent.kind != kind {
                throw ValidationError("--warm-start: the artifact is a \(parent.kind.rawValue) model, not \(kind.rawValue)")
            }
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
                let options = LogisticRegressionTrainer.Options(l2: p.l2 ?? 1, maxIterations: p.maxIterations, classWeights: p.classWeights)
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
                    options: .init(l2: p.l2 ?? 1, maxIterations: p.maxIterations, classWeights: p.classWeights))
                trained = Model(kind: .softmaxRegression, preprocessor: preprocessor, target: target, layers: [fit.layer])
                note = "\(target.classes.count) classes, \(fit.iterations) iterations\(fit.converged ? "" : ", NOT converged")"
            case .ridge:
                let preprocessor = try Preprocessor.fit(table, features: features)
                let target = try Target.infer(from: table, column: label, task: .regression)
                let layer = try RidgeTrainer.fit(table, preprocessor: preprocessor, target: target, l2: p.l2 ?? 1)
                trained = Model(kind: .ridge, preprocessor: preprocessor, target: target, layers: [layer])
                note = "exact solution"
            case .mlp:
                var options = p.mlp
                options.l2 = p.l2 ?? options.l2
                options.classWeights = p.classWeights
                let outcome: MLPTrainer.Outcome
                let preprocessor: Preprocessor
                var target: Target
                if let parent, parent.kind == .mlp {
                    (preprocessor, target) = (parent.preprocessor, parent.target)
                    options.hiddenLayers = parent.layers.dropLast().map(\.outputs)
                    outcome = try MLPTrainer.update(parent.layers, on: table, preprocessor: preprocessor, target: target, options: options)
                } else {
                    guard parent == nil else { throw ValidationError("--warm-start: the artifact is not an mlp model") }
                    preprocessor = try Preprocessor.fit(table, features: features)
                    let requested = task.flatMap(Task.init(rawValue:))
                    target = try Target.infer(from: table, column: label, task: requested ?? .multiclass)
                    if requested == nil, target.classes.count == 2 { target.task = .binary }
                    if target.task == .binary, let positive {
                        guard target.classes.contains(positive) else {
                            throw ValidationError("--positive \(positive) is not one of the label values (\(target.classes.joined(separator: ", ")))")
                        }
                        target.classes = target.classes.filter { $0 != positive } + [positive]
                    }
                    outcome = try MLPTrainer.fit(table, preprocessor: preprocessor, target: target, options: options)
                }
                trained = Model(kind: .mlp, preprocessor: preprocessor, target: target, layers: outcome.layers)
                note = "\(target.task.rawValue), \(outcome.epochs) epochs\(outcome.stoppedEarly ? ", stopped early" : "")"
            }
            let done = Date()
            let path = (output.hasSuffix("/") ? output : output + "/") + "model.updater"
            let bytes = try ModelArtifact.encode(
                trained, metadata: ["trained_from": Files.baseName(input), "mode": parent == nil ? "full" : "incremental"])
            try Files.writeAtomically(bytes, to: path)
            print("""
                trained \(kind.rawValue) on \(table.rowCount) rows × \(trained.preprocessor.width) inputs \
                (\(parent == nil ? "full" : "incremental"), \(note))
                read \(String(format: "%.3f", loaded.timeIntervalSince(start)))s, trained \(String(format: "%.3f", done.timeIntervalSince(loaded)))s
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
