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
            Every column but the label and --exclude is a feature: numeric unless listed in --categorical. Writes the artifact (docs/artifact.md) to DIR/model.updater; `updater predict DIR/model.updater --input X.csv` scores with it. With --warm-start, updates that artifact on the new rows instead (an incremental update: its preprocessing is kept and its weights are the prior).

            Parameters (--param KEY=VALUE): l2 (default 1, scikit-learn's C = 1/l2), max_iter (500), class_weight (none or balanced, as scikit-learn defines it).

            Example:
              updater train --input train.csv --label churned --categorical plan,region --exclude customer_id --output /tmp/m
              updater train --input new.csv --label churned --warm-start /tmp/m/model.updater --output /tmp/m2
            """)

    @Option(name: .long, help: "The training CSV file.") var input: String
    @Option(name: .long, help: "The label column.") var label: String
    @Option(name: .long, help: "Comma-separated categorical columns.") var categorical: String?
    @Option(name: .long, help: "Comma-separated columns to leave out.") var exclude: String?
    @Option(name: .long, help: "The label value that is the positive class (default: the greater one).") var positive: String?
    @Option(name: .long, help: "The model: logistic_regression.") var model: String = "logistic_regression"
    @Option(name: .long, help: "A model parameter KEY=VALUE (repeatable).") var param: [String] = []
    @Option(name: .long, help: "An artifact to update incrementally instead of training from scratch.") var warmStart: String?
    @Option(name: .long, help: "Directory for model.updater (created if needed).") var output: String

    func run() throws {
        guard model == "logistic_regression" else {
            throw ValidationError("--model: only logistic_regression is built in so far, not \"\(model)\"")
        }
        var options = LogisticRegressionTrainer.Options()
        for p in param {
            let parts = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--param \(p): expected KEY=VALUE") }
            switch parts[0] {
            case "l2":
                guard let x = Double(parts[1]), x >= 0 else { throw ValidationError("--param l2: expected a number ≥ 0, got \(parts[1])") }
                options.l2 = x
            case "max_iter":
                guard let n = Int(parts[1]), n >= 1 else { throw ValidationError("--param max_iter: expected a whole number ≥ 1, got \(parts[1])") }
                options.maxIterations = n
            case "class_weight":
                guard parts[1] == "balanced" || parts[1] == "none" else {
                    throw ValidationError("--param class_weight: expected balanced or none, got \(parts[1])")
                }
                options.classWeights = parts[1] == "balanced" ? .balanced : .none
            default:
                throw ValidationError("--param \(parts[0]): unknown parameter (known: l2, max_iter, class_weight)")
            }
        }
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
            let outcome: LogisticRegressionTrainer.Outcome
            if let parent {
                outcome = try LogisticRegressionTrainer.update(parent, on: table, options: options)
            } else {
                let labels = try LabelEncoding.infer(from: table, column: label, positive: positive)
                outcome = try LogisticRegressionTrainer.fit(
                    table, features: table.names.filter { $0 != label }, labels: labels, options: options)
            }
            let trained = Date()
            let path = (output.hasSuffix("/") ? output : output + "/") + "model.updater"
            let bytes = try ModelArtifact.encode(outcome.model, metadata: ["trained_from": Files.baseName(input), "mode": parent == nil ? "full" : "incremental"])
            try Files.writeAtomically(bytes, to: path)
            print("""
                trained logistic_regression on \(table.rowCount) rows × \(outcome.model.preprocessor.width) inputs \
                (\(parent == nil ? "full" : "incremental"), \(outcome.iterations) iterations\(outcome.converged ? "" : ", NOT converged"))
                read \(String(format: "%.2f", loaded.timeIntervalSince(start)))s, trained \(String(format: "%.2f", trained.timeIntervalSince(loaded)))s
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
