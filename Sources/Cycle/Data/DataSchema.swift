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
    let task: Task
    let categorical: Set<String>

    /// Without `data.features`, the columns come from the newest batch the job has already accepted
    /// (`accepted`), else from the first of `candidates` (pending batches, in order) whose header
    /// reads cleanly and has the label: so one malformed or foreign new file cannot redefine the
    /// features and get the good batches rejected. A new column in the data is picked up once its
    /// batch has been accepted (as a schema change, so that retrain is full).
    init(job: JobConfig, production: ProductionModel?, accepted: String?, candidates: [String]) throws {
        let excluded = Set(job.data.exclude + [job.data.label])
        var newest: String? = nil
        if let accepted, let header = try? CSVReader.header(file: accepted), header.contains(job.data.label) {
            newest = accepted
        } else {
            newest = candidates.first { path in (try? CSVReader.header(file: path))?.contains(job.data.label) == true }
        }
        try self.init(job: job, production: production, newestBatch: newest, excluded: excluded)
    }

    private init(job: JobConfig, production: ProductionModel?, newestBatch: String?, excluded: Set<String>) throws {
        label = job.data.label
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
        let categorical = self.categorical.intersection(all).union(task == .regression ? [] : [label])
        return CSVOptions(required: features + [label]) { name in
            if categorical.contains(name) { return .categorical }
            if all.contains(name) || name == label { return .numeric }
            return nil
        }
    }

    /// Loads a CSV file and checks its labels: none missing; for a binary job at most two distinct
    /// values. Errors name `shownAs` (the incoming path) rather than the stored copy. With
    /// `badRows` `.skip`, a row with a bad value or no label is left out and returned, unless there
    /// are more than its limit: then the file is rejected, naming the first ones.
    func load(_ path: String, shownAs: String, badRows: DataSettings.BadRows) throws -> (table: DataTable, skipped: [SkippedRow]) {
        do {
            var table: DataTable
            var skipped: [SkippedRow] = []
            if case .skip = badRows {
                var lenient = options
                lenient.notMissing = [label]
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
            let selected = table.selecting(present + [label])!
            try checkLabels(selected, file: shownAs)
            return (selected, skipped)
        } catch var error as DataError {
            error.file = shownAs
            throw error
        }
    }

    private func checkLabels(_ table: DataTable, file: String) throws {
        switch table.column(label) {
        case .numeric(let values)?:
            if let row = values.firstIndex(where: \.isNaN) {
                throw DataError(.badLabel, file: file, column: label, "label is missing in data row \(row + 1)")
            }
        case .categorical(let codes, let levels)?:
            if let row = codes.firstIndex(of: -1) {
                throw DataError(.badLabel, file: file, column: label, "label is missing in data row \(row + 1)")
            }
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
