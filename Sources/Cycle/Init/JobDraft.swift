import Evaluation
import Foundation
import JobFiles
import Support
import Tabular
import Training

/// A job file drafted from a sample of the data (`updater init`): each column's role inferred and
/// said why, the task from the label, and a gate whose minimums come from a cross-validated fit of
/// the job's own model on the sample.
package struct JobDraft: Sendable {
    /// What a column of the sample becomes in the job, and why.
    package struct ColumnRole: Sendable, Equatable {
        package enum Role: String, Sendable, Equatable { case label, numeric, categorical, excluded }
        package var name: String
        package var role: Role
        package var why: String
    }

    /// A gate figure from the cross-validation: the metric's mean and standard deviation over the
    /// folds, and the minimum (or, for an error, maximum) the gate asks for.
    package struct Estimate: Sendable, Equatable {
        package var metric: MetricName
        package var mean: Double
        package var standardDeviation: Double
        package var bound: Double
        package var isMaximum: Bool
    }

    package var name: String
    package var sample: String
    package var rows: Int
    package var task: Task
    package var label: String
    package var positiveLabel: String?
    package var columns: [ColumnRole]
    package var model: String
    package var folds: Int
    package var estimates: [Estimate]
    /// The change rule: how much worse than production a candidate may be on `changeMetric`.
    package var changeMetric: MetricName
    package var change: Double
    /// The job file's text, commented.
    package var text: String

    /// Names a label column is often given, in the order they are guessed.
    static let labelNames = ["label", "target", "y", "class", "outcome"]

    /// Drafts job `name` from the CSV file `sample`. `label` names the label column (else a column
    /// named like one: label, target, y, class, outcome); `task` overrides the task inferred from it.
    package static func make(name: String, sample: String, label: String?, task: Task?, now: Date = Date()) throws -> JobDraft {
        var options = CSVOptions(required: label.map { [$0] } ?? []) { _ in .numeric }
        options.textFallback = true
        let table = try CSVReader.read(file: sample, options: options)
        guard table.rowCount >= 20 else {
            throw DraftError("\(sample) has \(table.rowCount) data rows; a sample of at least 20 labelled rows (better: hundreds) is needed to infer the columns and the gate")
        }
        let labelColumn = try label ?? guessLabel(table.names, sample: sample)
        var roles: [ColumnRole] = []
        for name in table.names where name != labelColumn {
            roles.append(role(of: name, table.column(name)!, rows: table.rowCount))
        }
        let (task, positive, labelWhy) = try inferTask(table.column(labelColumn)!, name: labelColumn, requested: task)
        roles.insert(ColumnRole(name: labelColumn, role: .label, why: labelWhy), at: 0)
        guard roles.contains(where: { $0.role == .numeric || $0.role == .categorical }) else {
            throw DraftError("\(sample): no column is left as a feature (\(roles.filter { $0.role == .excluded }.map { "\($0.name): \($0.why)" }.joined(separator: "; ")))")
        }
        var draft = JobDraft(
            name: name, sample: sample, rows: table.rowCount, task: task, label: labelColumn, positiveLabel: positive, columns: roles,
            model: TrainingSettings.Model.default(for: task).rawValue, folds: 5, estimates: [], changeMetric: .accuracy, change: -0.01, text: "")
        // The job without a gate, to train its model on the folds; then the whole file must validate.
        try draft.crossValidate(try validated(draft.render(now: now), name: name), table)
        draft.text = draft.render(now: now)
        _ = try validated(draft.text, name: name)
        return draft
    }

    /// `text` decoded as job `name` in a scratch jobs directory that has its incoming directory.
    static func validated(_ text: String, name: String) throws -> JobConfig {
        let scratch = NSTemporaryDirectory() + "updater-init-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try Files.makeDirectories(scratch + "/\(name)/incoming")
        return try JobFileDecoder.decode(text, file: scratch + "/\(name).toml", directory: scratch)
    }

    static func guessLabel(_ names: [String], sample: String) throws -> String {
        for guess in labelNames {
            if let found = names.first(where: { $0.lowercased() == guess }) { return found }
        }
        throw DraftError("\(sample): which column is the label? Name it with --label (columns: \(names.joined(separator: ", ")))")
    }

    /// A feature column's role: excluded when constant, empty or identifier-like; else by its kind.
    static func role(of name: String, _ column: Column, rows: Int) -> ColumnRole {
        switch column {
        case .numeric(let values):
            let present = values.filter { !$0.isNaN }
            let distinct = Set(present)
            if present.isEmpty { return ColumnRole(name: name, role: .excluded, why: "every value is missing") }
            if distinct.count == 1 { return ColumnRole(name: name, role: .excluded, why: "constant: \(show(present[0])) in every row") }
            let whole = present.allSatisfy { $0 == $0.rounded() }
            let lower = name.lowercased()
            let namedLikeID = lower == "id" || lower.hasSuffix("_id")
            if whole, distinct.count == present.count, namedLikeID || zip(present, present.dropFirst()).allSatisfy({ $0 < $1 }) {
                return ColumnRole(name: name, role: .excluded, why: "identifier-like: whole numbers, a different one in every row\(namedLikeID ? "" : ", increasing")")
            }
            return ColumnRole(name: name, role: .numeric, why: "numbers, \(distinct.count) distinct values")
        case .categorical(let codes, let levels):
            let present = codes.filter { $0 >= 0 }
            let used = Set(present)
            if present.isEmpty { return ColumnRole(name: name, role: .excluded, why: "every value is missing") }
            if used.count == 1 { return ColumnRole(name: name, role: .excluded, why: "constant: \"\(levels[Int(present[0])])\" in every row") }
            if used.count == present.count {
                return ColumnRole(name: name, role: .excluded, why: "identifier-like: a different text in every row")
            }
            if used.count > 50, Double(used.count) > 0.5 * Double(present.count) {
                return ColumnRole(name: name, role: .excluded, why: "free text or an identifier: \(used.count) distinct values in \(present.count) rows")
            }
            let shown = used.map { "\"\(levels[Int($0)])\"" }.sorted().prefix(4)
            return ColumnRole(
                name: name, role: .categorical,
                why: "text, \(used.count) values (\(shown.joined(separator: ", "))\(used.count > 4 ? ", …" : ""))")
        }
    }

    /// The task from the label column: two values → binary (the positive class is the greater, as
    /// scikit-learn's `classes_[1]`), text or whole numbers with up to 50 values → multiclass, other
    /// numbers → regression.
    static func inferTask(_ column: Column, name: String, requested: Task?) throws -> (Task, String?, String) {
        switch column {
        case .numeric(let values):
            let present = values.filter { !$0.isNaN }
            let distinct = Set(present).sorted()
            if present.count < values.count {
                throw DraftError("label \"\(name)\" is missing in \(values.count - present.count) rows of the sample; every training row needs its label")
            }
            let whole = distinct.allSatisfy { $0 == $0.rounded() }
            let task = requested ?? (distinct.count == 2 ? .binary : whole && distinct.count <= 50 ? .multiclass : .regression)
            switch task {
            case .binary:
                guard distinct.count == 2 else { throw DraftError("label \"\(name)\" has \(distinct.count) values; a binary job needs two") }
                let positive = show(distinct[1])
                let share = Double(present.filter { $0 == distinct[1] }.count) / Double(present.count)
                return (.binary, positive, "binary: \(show(distinct[0])) or \(positive) (\(percent(share)) \(positive)), so the model's probability is for \(positive)")
            case .multiclass:
                return (.multiclass, nil, "multiclass: \(distinct.count) classes (\(distinct.prefix(5).map(show).joined(separator: ", "))\(distinct.count > 5 ? ", …" : ""))")
            case .regression:
                return (.regression, nil, "regression: numbers from \(show(distinct.first!)) to \(show(distinct.last!)), \(distinct.count) distinct values")
            }
        case .categorical(let codes, let levels):
            if let row = codes.firstIndex(of: -1) {
                throw DraftError("label \"\(name)\" is missing in data row \(row + 1) of the sample; every training row needs its label")
            }
            let used = Set(codes).map { levels[Int($0)] }.sorted()
            if requested == .regression { throw DraftError("label \"\(name)\" holds text (\(used.prefix(3).joined(separator: ", "))); a regression job needs numbers") }
            let task = requested ?? (used.count == 2 ? .binary : .multiclass)
            if task == .binary {
                guard used.count == 2 else { throw DraftError("label \"\(name)\" has \(used.count) values; a binary job needs two") }
                let share = Double(codes.filter { levels[Int($0)] == used[1] }.count) / Double(codes.count)
                return (.binary, used[1], "binary: \(used[0]) or \(used[1]) (\(percent(share)) \(used[1])), so the model's probability is for \(used[1])")
            }
            if used.count > 200 { throw DraftError("label \"\(name)\" has \(used.count) distinct values: too many classes for a multiclass job (is it the right column?)") }
            return (.multiclass, nil, "multiclass: \(used.count) classes (\(used.prefix(5).joined(separator: ", "))\(used.count > 5 ? ", …" : ""))")
        }
    }

    /// k-fold cross-validation of the job's model on the sample (rows assigned to folds by a
    /// seeded hash, as the holdout split is): the gate's bounds are the mean minus (for an error,
    /// plus) two standard deviations, rounded outward.
    mutating func crossValidate(_ job: JobConfig, _ table: DataTable) throws {
        let metrics: [MetricName] = switch task {
        case .binary: [.rocAUC, .accuracy]
        case .multiclass: [.accuracy, .macroF1]
        case .regression: [.rmse, .r2]
        }
        var values: [MetricName: [Double]] = [:]
        let fold = (0..<table.rowCount).map { Int(stableFold(row: $0, folds: folds)) }
        let features = columns.filter { $0.role == .numeric || $0.role == .categorical }.map(\.name)
        for k in 0..<folds {
            let test = fold.indices.filter { fold[$0] == k }, train = fold.indices.filter { fold[$0] != k }
            guard !test.isEmpty, !train.isEmpty else { continue }
            let (trainRows, testRows) = (table.rows(train), table.rows(test))
            let (model, _) = try BuiltInFit(job: job).fit(trainRows, evaluation: testRows, features: features)
            let truth = try model.target.truth(testRows)
            let computed = truth.metrics(try model.output(testRows), threshold: 0.5)
            for m in metrics { if let v = computed.value(of: m) { values[m, default: []].append(v) } }
        }
        estimates = metrics.compactMap { m in
            guard let v = values[m], v.count >= 2 else { return nil }
            let mean = v.reduce(0, +) / Double(v.count)
            let sd = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
            let lowerIsBetter = m == .rmse
            let bound = lowerIsBetter ? roundUp(mean + 2 * sd) : max(roundDown(mean - 2 * sd), m == .rocAUC ? 0.5 : 0)
            return Estimate(metric: m, mean: mean, standardDeviation: sd, bound: bound, isMaximum: lowerIsBetter)
        }
        guard let first = estimates.first else {
            throw DraftError("\(sample): the cross-validation gave no figure (too few rows of some class?)")
        }
        changeMetric = first.metric
        // A candidate may be worse than production by a small margin only: 0.01 of a score, 2 % of an error.
        change = first.isMaximum ? -roundUp(0.02 * first.mean) : -0.01
    }

    /// The fold of a row: a hash of its index, so the folds do not follow the file's order.
    func stableFold(row: Int, folds: Int) -> UInt64 {
        SplitMix64.mix(SplitMix64.gamma &+ UInt64(row)) % UInt64(folds)
    }

    /// The job file, commented: what each line is and why it was chosen.
    func render(now: Date) -> String {
        func list(_ names: [String]) -> String { "[" + names.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        let categorical = columns.filter { $0.role == .categorical }
        let excluded = columns.filter { $0.role == .excluded }
        var lines: [String] = [
            "# \(name): drafted by `updater init` from \(Files.baseName(sample)) (\(rows) rows) on \(day(now)).",
            "# Read it through, then `updater validate`; docs/jobs.md has every key and its default.",
            "",
            "[data]",
            "incoming = \"\(name)/incoming\"  # drop labelled batches (CSV files with the same columns) here",
            "label = \"\(label)\"  # \(columns.first { $0.role == .label }?.why ?? "")",
            "task = \"\(task.rawValue)\"",
        ]
        if let positiveLabel { lines.append("positive_label = \"\(positiveLabel)\"") }
        if !categorical.isEmpty {
            lines.append("categorical = \(list(categorical.map(\.name)))  # text columns, read as categories")
        }
        if !excluded.isEmpty {
            lines.append("exclude = \(list(excluded.map(\.name)))")
            for c in excluded { lines.append("#   \(c.name): \(c.why)") }
        }
        lines += ["", "[training]", "model = \"\(model)\"  # the built-in model for a \(task.rawValue) job", ""]
        if !estimates.isEmpty {
            lines.append("# From a \(folds)-fold cross-validation of \(model) on the sample: "
                + estimates.map { "\($0.metric.rawValue) \(fixed($0.mean)) ± \(fixed($0.standardDeviation))" }.joined(separator: ", ") + ".")
            lines.append("# Each bound is the mean \(estimates.contains { $0.isMaximum } ? "∓" : "−") two standard deviations: a candidate below it is worse than this sample says the model can be.")
            for e in estimates {
                lines += ["[[gate.rules]]", "metric = \"\(e.metric.rawValue)\"", "\(e.isMaximum ? "max" : "min") = \(fixed(e.bound, trim: true))", ""]
            }
            lines += [
                "[[gate.rules]]", "metric = \"\(changeMetric.rawValue)\"",
                "change = \(fixed(change, trim: true))  # and no worse than the model in production by more than \(fixed(-change, trim: true))", "",
            ]
        }
        lines += ["[deploy]", "path = \"\(name)/deploy/\(name).model\"  # where the model in production is published", ""]
        return lines.joined(separator: "\n")
    }

    func day(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f.string(from: date)
    }
}

package struct DraftError: Error, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}

private func show(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x) }
private func percent(_ x: Double) -> String { String(format: "%.1f %%", x * 100) }
private func fixed(_ x: Double, trim: Bool = false) -> String {
    var s = String(format: "%.4f", x)
    if trim { while s.hasSuffix("0") { s.removeLast() }; if s.hasSuffix(".") { s.removeLast() } }
    return s
}
/// Rounded down (a minimum) or up (a maximum) to two significant decimals of a score.
private func roundDown(_ x: Double) -> Double { (x * 100).rounded(.down) / 100 }
private func roundUp(_ x: Double) -> Double {
    guard x > 0 else { return x }
    let scale = pow(10, 2 - (log10(x)).rounded(.down))  // three significant digits
    return (x * scale).rounded(.up) / scale
}
