import ArgumentParser
import Cycle
import Service
import Evaluation
import Foundation
import Support
import Tabular

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Compute the gate's metrics for a CSV file of labels and scores, as scikit-learn defines them.",
        discussion: """
            binary: --scores names the column of the positive class's probability; predictions are positive at or above --threshold. multiclass: --scores names one probability column per class, named CLASS or p_CLASS, in any order. regression: --scores names the column of predictions. Every metric is defined as in scikit-learn (docs/metrics.md); a metric that is undefined on these rows (ROC-AUC with one class, say) is shown as "-" (null in --json).

            Binary, with --versus COLUMN (another model's scores of the same rows): the difference of each metric (scores − versus) with its paired bootstrap interval (--resamples, --level, --seed), and DeLong's test for the ROC-AUCs, as the gate's significance rules compute them.

            Example:
              updater metrics scored.csv --labels churned --scores score --positive yes
              updater metrics both.csv --labels churned --scores candidate --versus production --resamples 1000
              updater metrics scored.csv --labels kind --scores p_small,p_medium,p_large --task multiclass --json
              updater metrics predicted.csv --labels price --scores prediction --task regression
            """)

    @Argument(help: "The CSV file.") var file: String
    @Option(name: .long, help: "The label column.") var labels: String
    @Option(name: .long, help: "The score column (binary, regression), or one column per class (multiclass).") var scores: String
    @Option(name: .long, help: "binary, multiclass or regression.") var task: String = "binary"
    @Option(name: .long, help: "Binary decision threshold.") var threshold: Double = 0.5
    @Option(name: .long, help: "Binary: the label value that is positive (default: the greater of the two, or 1).") var positive: String?
    @Option(name: .long, help: "Binary: another model's score column, to compare with.") var versus: String?
    @Option(name: .long, help: "Bootstrap resamples for --versus.") var resamples: Int = 1000
    @Option(name: .long, help: "Confidence level of the intervals.") var level: Double = 0.95
    @Option(name: .long, help: "Seed of the bootstrap.") var seed: UInt64 = 0
    @Flag(name: .long, help: "Print how long reading and computing took (to standard error).") var timing = false
    @OptionGroup var output: JSONFlag

    var scoreColumns: [String] { scores.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }

    func validate() throws {
        guard let t = MetricTask(rawValue: task) else { throw ValidationError("--task must be binary, multiclass or regression") }
        if t != .multiclass, scoreColumns.count != 1 { throw ValidationError("--scores names one column for a \(task) task") }
        if t == .multiclass, scoreColumns.count < 2 { throw ValidationError("--scores names one column per class (at least two)") }
        guard (0...1).contains(threshold) else { throw ValidationError("--threshold must be between 0 and 1") }
        if versus != nil, t != .binary { throw ValidationError("--versus compares binary scores") }
        guard resamples >= 100, resamples <= 1_000_000 else { throw ValidationError("--resamples must be between 100 and 1000000") }
        guard level > 0.5, level < 1 else { throw ValidationError("--level must be between 0.5 and 1") }
    }

    func run() throws {
        let t = MetricTask(rawValue: task)!
        let started = Date()
        let computed: ComputedMetrics
        var comparison: [(String, DifferenceInterval)] = []
        var deLong: DeLongResult? = nil
        let readSeconds: Double
        do {
            let scoreSet = Set(scoreColumns + (versus.map { [$0] } ?? []))
            let table = try CSVReader.read(file: file, options: CSVOptions(required: [labels] + Array(scoreSet)) { name in
                name == labels ? (t == .regression ? .numeric : .categorical) : scoreSet.contains(name) ? .numeric : nil
            })
            let read = Date()
            readSeconds = read.timeIntervalSince(started)
            computed = try compute(t, table)
            if let versus, case .binary(let b) = computed {
                (comparison, deLong) = try compare(table, candidate: b, versus: versus)
            }
        } catch let e as ValidationError {
            throw fail(e.message)
        } catch {
            throw fail("\(error)")
        }
        let computeSeconds = Date().timeIntervalSince(started) - readSeconds
        let values = MetricDefinition.metrics(for: t).map { ($0.name.rawValue, computed.value(of: $0.name)) }
        if output.json {
            var object: [String: AnyEncodable] = ["task": AnyEncodable(task)]
            for (name, value) in values { object[name] = AnyEncodable(value) }
            if case .binary(let b) = computed {
                object["confusion_matrix"] = AnyEncodable(b.confusion)
                object["threshold"] = AnyEncodable(threshold)
                object["rows"] = AnyEncodable(b.rows)
            }
            if !comparison.isEmpty {
                object["versus"] = AnyEncodable(Dictionary(uniqueKeysWithValues: comparison.map { ($0.0, $0.1) }))
                object["delong"] = AnyEncodable(deLong)
            }
            printJSON(object)
        } else {
            print(table(["METRIC", "VALUE"], values.map { [$0.0, show($0.1)] }))
            if case .binary(let b) = computed {
                print("confusion matrix at \(threshold): tn \(b.confusion.tn), fp \(b.confusion.fp), fn \(b.confusion.fn), tp \(b.confusion.tp)")
            }
            if let versus, !comparison.isEmpty {
                print("\n\(scoreColumns[0]) − \(versus), \(Int((level * 100).rounded()))% paired bootstrap intervals (\(resamples) resamples, seed \(seed)):")
                print(table(["METRIC", "DIFFERENCE", "LOWER", "UPPER"], comparison.map { name, i in
                    [name, show(i.estimate), show(i.lower), show(i.upper)]
                }))
                if let d = deLong {
                    print("DeLong: ROC-AUC difference \(show(d.difference)), standard error \(show(d.standardError)), z \(show(d.z)), p \(showP(d.pValue)), interval [\(show(d.lower)), \(show(d.upper))]")
                }
            }
        }
        if timing {
            FileHandle.standardError.write(Data(String(format: "read %.3fs, computed %.3fs\n", readSeconds, computeSeconds).utf8))
        }
    }

    /// Each fast gate metric's paired bootstrap interval of (scores − versus), and DeLong's test.
    func compare(_ table: DataTable, candidate _: BinaryScores, versus: String) throws -> ([(String, DifferenceInterval)], DeLongResult?) {
        let labels = try binaryLabels(table)
        let c = try numbers(table, scoreColumns[0]), p = try numbers(table, versus)
        let metrics: [Metric] = [.rocAUC, .accuracy, .precision, .recall, .f1]
        let intervals = metrics.map { m in
            (m.rawValue, PairedBootstrap.interval(
                for: m, labels: labels, candidate: c, production: p, threshold: threshold, resamples: resamples, level: level,
                seed: seed))
        }
        return (intervals, DeLong.test(labels: labels, candidate: c, production: p, level: level))
    }

    func binaryLabels(_ table: DataTable) throws -> [Bool] {
        guard case .categorical(let codes, let levels)? = table.column(labels) else { throw ValidationError("labels must be read as text") }
        let present = levels.sorted { a, b in
            if let x = parseDouble(a), let y = parseDouble(b) { return x < y }
            return a < b
        }
        let positiveLabel = positive ?? present.last ?? "1"
        if let row = codes.firstIndex(of: -1) { throw ValidationError("\(file): column \"\(labels)\": label missing in data row \(row + 1)") }
        let isPositive = levels.map { $0 == positiveLabel }
        return codes.map { isPositive[Int($0)] }
    }

    /// A numeric column with no missing value (the metrics are not defined on missing scores).
    func numbers(_ table: DataTable, _ name: String) throws -> [Double] {
        guard case .numeric(let v)? = table.column(name) else { throw ValidationError("\(name) is not numeric") }
        if let row = v.firstIndex(where: \.isNaN) { throw ValidationError("\(file): column \"\(name)\": value missing in data row \(row + 1)") }
        return v
    }

    func compute(_ t: MetricTask, _ table: DataTable) throws -> ComputedMetrics {
        guard let labelColumn = table.column(labels) else { throw ValidationError("no column \(labels)") }
        func numbers(_ name: String) throws -> [Double] { try self.numbers(table, name) }
        switch t {
        case .regression:
            return .regression(RegressionMetrics(targets: try numbers(labels), predictions: try numbers(scoreColumns[0])))
        case .binary:
            guard case .categorical(_, let levels) = labelColumn else { throw ValidationError("labels must be read as text") }
            guard levels.count <= 2 else {
                throw ValidationError("\(file): column \"\(labels)\" has \(levels.count) values; a binary task needs at most two")
            }
            return .binary(BinaryScores(labels: try binaryLabels(table), scores: try numbers(scoreColumns[0]), threshold: threshold))
        case .multiclass:
            guard case .categorical(let codes, let levels) = labelColumn else { throw ValidationError("labels must be read as text") }
            let classes = scoreColumns.map { $0.hasPrefix("p_") ? String($0.dropFirst(2)) : $0 }
            for level in levels where !classes.contains(level) {
                throw ValidationError("label value \"\(level)\" has no score column (columns: \(scoreColumns.joined(separator: ", ")))")
            }
            let columns = try scoreColumns.map(numbers)
            var probabilities = [Double](repeating: 0, count: table.rowCount * classes.count)
            for r in 0..<table.rowCount {
                for k in 0..<classes.count { probabilities[r * classes.count + k] = columns[k][r] }
            }
            let index = levels.map { classes.firstIndex(of: $0)! }
            if let row = codes.firstIndex(of: -1) { throw ValidationError("\(file): column \"\(labels)\": label missing in data row \(row + 1)") }
            return .multiclass(MulticlassMetrics(
                labels: codes.map { Int32(index[Int($0)]) }, probabilities: probabilities, classes: classes.count))
        }
    }
}
