import JobFiles
import Tabular
import Training

/// Which columns a job reads from its CSV files and how.
///
/// A new model trains on `features`: `data.features`, or else every column of the newest batch
/// except the label and `data.exclude`. The model in production may use other columns (after a
/// job-file edit or a schema change); those are read too when present, so that production can be
/// checked for drift and scored, but a batch is only rejected for lacking a column of `features`.
struct DataSchema: Sendable {
    let features: [String]
    let productionFeatures: [String]
    let label: String
    /// `data.id`: the column that identifies rows, read as text, never a feature.
    let id: String?
    let task: Task
    let categorical: Set<String>

    /// Without `data.features`, the columns come from the newest batch the job has already accepted
    /// (`accepted`), else from the first of `candidates` (pending batches, in order) whose header
    /// reads cleanly and has the label (or the `data.id` column): so one malformed or foreign new file cannot redefine the
    /// features and get the good batches rejected. A new column in the data is picked up once its
    /// batch has been accepted (as a schema change, so that retrain is full).
    init(job: JobConfig, production: ProductionModel?, accepted: String?, candidates: [String]) throws {
        let excluded = Set(job.data.exclude + [job.data.label] + (job.data.id.map { [$0] } ?? []))
        // A batch of the job's: it has the label column, or the id column (rows whose labels come later).
        let marks = [job.data.label] + (job.data.id.map { [$0] } ?? [])
        func isOurs(_ path: String) -> Bool { (try? CSVReader.header(file: path)).map { h in marks.contains(where: h.contains) } ?? false }
        var newest: String? = nil
        if let accepted, isOurs(accepted) {
            newest = accepted
        } else {
            newest = candidates.first(where: isOurs)
        }
        try self.init(job: job, production: production, newestBatch: newest, excluded: excluded)
    }

    private init(job: JobConfig, production: ProductionModel?, newestBatch: String?, excluded: Set<String>) throws {
        label = job.data.label
        id = job.data.id
        task = job.data.task
        productionFeatures = production?.features ?? []
        categorical = Set(job.data.categorical).union(
            production?.model?.preprocessor.categorical.map(\.name) ?? production?.external?.categorical ?? [])
        if let explicit = job.data.features {
            features = explicit
        } else if let newestBatch {
            features = try CSVReader.header(file: newestBatch).filter { !excluded.contains($0) }
        } else {
            features = productionFeatures
        }
        if features.isEmpty {
            throw CycleError(
                "no feature columns: data.features is not set and no accepted batch has columns besides the label (updater batches \(job.name) shows its batches; a rejected one is read again after updater batches retry)")
        }
    }

    /// Columns of the production model that new models no longer use (or that the data lost).
    var droppedFeatures: [String] { productionFeatures.filter { !features.contains($0) } }

    /// Columns new models use that the production model does not.
    var addedFeatures: [String] { productionFeatures.isEmpty ? [] : features.filter { !productionFeatures.contains($0) } }

    var options: CSVOptions {
        let all = Set(features + productionFeatures)
        // A class label is read as text (so "1" and "1.0" stay apart); a regression target as numbers.
        let categorical = self.categorical.intersection(all).union(task == .regression ? [] : [label]).union(id.map { [$0] } ?? [])
        let id = self.id
        return CSVOptions(required: features + (id.map { [$0] } ?? [])) { name in
            if categorical.contains(name) { return .categorical }
            if all.contains(name) || name == label { return .numeric }
            return name == id ? .categorical : nil
        }
    }

    /// A batch as read: its labelled rows (features and label), and the rows that came without a
    /// label (features only), each with its `data.id` when the job has one.
    struct Loaded {
        var table: DataTable
        var skipped: [SkippedRow] = []
        var ids: [String]? = nil
        /// Each labelled row's number among the rows read (1-based; the data row, unless bad rows were left out).
        var labelledRows: [Int] = []
        /// Rows without a label (an empty label, or no label column): checked for drift and scored by
        /// production, trained on once their labels arrive.
        var unlabelled: DataTable? = nil
        var unlabelledIDs: [String]? = nil
        /// Each unlabelled row's number among the rows read (1-based).
        var unlabelledRows: [Int] = []

        var unlabelledCount: Int { unlabelled?.rowCount ?? 0 }
    }

    /// Loads a CSV file and checks its labels: for a binary job at most two distinct values; a row
    /// without one is set apart as unlabelled, unless `labelled` (a holdout file): then it is an
    /// error. Errors name `shownAs` (the incoming path) rather than the stored copy. With `badRows`
    /// `.skip`, a row with a bad value is left out and returned, unless there are more than its
    /// limit: then the file is rejected, naming the first ones.
    func load(_ path: String, shownAs: String, badRows: DataSettings.BadRows, labelled: Bool = false) throws -> Loaded {
        do {
            var table: DataTable
            var skipped: [SkippedRow] = []
            var options = self.options
            if labelled { options.required.append(label) }
            if case .skip = badRows {
                var lenient = options
                lenient.notMissing = Set([labelled ? label : nil, id].compactMap { $0 })
                (table, skipped) = try CSVReader.readSkippingBadRows(file: path, options: lenient)
                let limit = badRows.limit(rows: table.rowCount + skipped.count)
                if skipped.count > limit {
                    throw DataError(
                        .badRows, file: path,
                        "\(skipped.count) bad rows of \(table.rowCount + skipped.count), more than data.max_bad_rows allows (\(limit)): "
                            + skipped.prefix(3).map(\.description).joined(separator: "; ") + (skipped.count > 3 ? "; …" : ""))
                }
            } else {
                table = try CSVReader.read(file: path, options: options)
            }
            let present = (features + droppedFeatures).filter { table.index(of: $0) != nil }
            let ids = try id.map { try rowIDs(table, column: $0, file: shownAs) }
            let missing = missingLabels(table)
            if labelled, let row = missing.first {
                throw DataError(.badLabel, file: shownAs, column: label, "label is missing in data row \(row + 1)")
            }
            let hasLabel = table.index(of: label) != nil
            if missing.isEmpty && hasLabel {
                let selected = table.selecting(present + [label])!
                try checkLabels(selected, file: shownAs)
                return Loaded(table: selected, skipped: skipped, ids: ids, labelledRows: Array(1..<(selected.rowCount + 1)))
            }
            let unlabelledSet = Set(missing)
            let labelledRows = (0..<table.rowCount).filter { !unlabelledSet.contains($0) }
            let features = table.selecting(present)!
            var loaded = Loaded(
                table: hasLabel ? table.selecting(present + [label])!.rows(labelledRows) : features.rows([]), skipped: skipped,
                ids: ids.map { all in labelledRows.map { all[$0] } }, labelledRows: labelledRows.map { $0 + 1 }, unlabelled: features.rows(missing),
                unlabelledIDs: ids.map { all in missing.map { all[$0] } }, unlabelledRows: missing.map { $0 + 1 })
            if hasLabel {
                try checkLabels(loaded.table, file: shownAs)
            } else {
                loaded.table = loaded.table.appending(DataTable(names: [label], columns: [task == .regression ? .numeric([]) : .categorical(codes: [], levels: [])]))
            }
            return loaded
        } catch var error as DataError {
            error.file = shownAs
            throw error
        }
    }

    /// The rows (0-based) whose label is missing, or every row when the file has no label column.
    func missingLabels(_ table: DataTable) -> [Int] {
        switch table.column(label) {
        case .numeric(let values)?: values.indices.filter { values[$0].isNaN }
        case .categorical(let codes, _)?: codes.indices.filter { codes[$0] < 0 }
        case nil: Array(0..<table.rowCount)
        }
    }

    /// Each row's `data.id`; a missing or repeated id is an error naming its rows.
    func rowIDs(_ table: DataTable, column: String, file: String) throws -> [String] {
        guard case .categorical(let codes, let levels)? = table.column(column) else {
            throw DataError(.missingColumn, file: file, column: column, "no id column \"\(column)\" (data.id)")
        }
        var firstRow = [Int32: Int]()
        for (row, code) in codes.enumerated() {
            if code < 0 { throw DataError(.badID, file: file, column: column, "the id is missing in data row \(row + 1) (data.id)") }
            if let first = firstRow.updateValue(row, forKey: code) {
                throw DataError(
                    .badID, file: file, column: column,
                    "id \"\(levels[Int(code)])\" is in data rows \(first + 1) and \(row + 1): data.id must identify one row")
            }
        }
        return codes.map { levels[Int($0)] }
    }

    private func checkLabels(_ table: DataTable, file: String) throws {
        switch table.column(label) {
        case .numeric?:
            return
        case .categorical(_, let levels)?:
            if task == .binary, levels.count > 2 {
                throw DataError(
                    .badLabel, file: file, column: label,
                    "label has \(levels.count) distinct values (\(levels.prefix(5).joined(separator: ", "))); a binary job needs two (set data.task = \"multiclass\" for more classes)")
            }
        case nil:
            return
        }
    }
}
