import Foundation
import JobFiles
import Logging
import Registry
import Support
import Tabular

/// Labels that arrive after their rows (docs/labels.md): files in `data.labels` with the job's id
/// and label columns (`data.id`, `data.label`; other columns, a time say, are kept in the copy and
/// not read), registered once by content like batches and applied in one transaction each; then
/// the rows whose labels arrived are written as one new batch, which the run reads like any other:
/// checked, measured, and trained and evaluated on exactly as if its rows had come labelled.
struct LabelFiles {
    let registry: Registry
    let state: StateDirectory
    let log: Logger
    var now: Date
    var checkpoints: Checkpoints = .none

    /// Reads new label files, then makes a batch of the rows whose labels arrived.
    func scan(_ job: JobConfig, schema: () throws -> DataSchema) throws {
        guard let directory = job.data.labels, let idColumn = job.data.id else { return }
        let survey = try IncomingScanner.survey(directory, what: "labels directory (data.labels)", settleSeconds: job.data.settleSeconds, now: now, log: log)
        // A class label must be one of production's classes (loaded, and its artifact verified, once).
        var classes: [String]?? = nil
        for path in survey.settled {
            guard let before = Files.stamp(path),
                try registry.knownLabelFile(job: job.name, path: path, size: before.size, mtimeNs: before.mtimeNs) == nil
            else { continue }
            let bytes: [UInt8]
            do { bytes = try Files.read(path) } catch {
                log.warning("cannot read \(path): \(error)")
                continue
            }
            guard let after = Files.stamp(path), after == before, Int64(bytes.count) == after.size else { continue }
            let sha = Files.sha256(bytes)
            if let same = try registry.knownLabelFile(job: job.name, path: path, size: after.size, mtimeNs: after.mtimeNs, sha256: sha) {
                log.info("\(path) has the same content as label file \(same.path); not applied again")
                continue
            }
            let stored = state.labelFilePath(job: job.name, sha256: sha)
            if !Files.exists(stored) { try Files.writeAtomically(bytes, to: stored) }
            let file = LabelFileRecord(job: job.name, path: path, storedPath: stored, size: after.size, mtimeNs: after.mtimeNs, sha256: sha, at: now)
            do {
                if classes == nil {
                    let production = job.data.task == .regression ? nil : (try? ProductionModel.load(job: job.name, registry: registry)) ?? nil
                    classes = .some(try? production?.target.classes)
                }
                let labels = try Self.read(
                    stored, shownAs: path, id: idColumn, label: job.data.label, regression: job.data.task == .regression, classes: classes ?? nil)
                let applied = try registry.applyLabels(file, labels: labels)
                log.info("label file \(path): \(applied.summary)")
                checkpoints.reached(.labels)
            } catch let error as DataError {
                try registry.rejectLabelFile(file, error: "\(error)")
                log.error("label file rejected, nothing of it applied: \(error)")
            }
        }
        try join(job, schema: schema)
    }

    /// `(id, label)` of each line of a label file, in order. Every line needs both; a regression
    /// label must be a number; a class, one of `classes` (production's) when given, so that a typo
    /// cannot reach a training batch.
    static func read(
        _ path: String, shownAs: String, id: String, label: String, regression: Bool, classes: [String]? = nil
    ) throws -> [(id: String, label: String)] {
        do {
            let options = CSVOptions(required: [id, label]) { name in name == id || name == label ? .categorical : nil }
            let table = try CSVReader.read(file: path, options: options)
            guard case .categorical(let ids, let idLevels)? = table.column(id), case .categorical(let labels, let labelLevels)? = table.column(label)
            else { return [] }
            var out: [(id: String, label: String)] = []
            out.reserveCapacity(table.rowCount)
            for row in 0..<table.rowCount {
                guard ids[row] >= 0 else { throw DataError(.badID, file: shownAs, column: id, "the id is missing in data row \(row + 1)") }
                guard labels[row] >= 0 else { throw DataError(.badLabel, file: shownAs, column: label, "the label is missing in data row \(row + 1)") }
                let value = labelLevels[Int(labels[row])]
                if regression, Double(value) == nil {
                    throw DataError(.badLabel, file: shownAs, column: label, "\"\(value)\" in data row \(row + 1) is not a number (a regression job's label)")
                }
                if let classes, !classes.contains(value) {
                    throw DataError(
                        .badLabel, file: shownAs, column: label,
                        "\"\(value)\" in data row \(row + 1) is not one of the classes of the model in production (\(classes.prefix(10).joined(separator: ", ")))")
                }
                out.append((idLevels[Int(ids[row])], value))
            }
            return out
        } catch var error as DataError {
            error.file = shownAs
            throw error
        }
    }

    /// Writes the rows whose labels arrived (and that no batch holds yet) as one batch: each row's
    /// id and columns from its batch's stored copy, and its label; registered, with the rows marked
    /// as its own, in one transaction.
    func join(_ job: JobConfig, schema makeSchema: () throws -> DataSchema) throws {
        guard let idColumn = job.data.id else { return }
        let waiting = try registry.rowsAwaitingJoin(job: job.name)
        guard !waiting.isEmpty else { return }
        let schema = try makeSchema()
        let batches = try registry.batches(of: job.name)
        var parts: [DataTable] = []
        var joined: [Int64] = []
        var sources: [Int64] = []
        for (batchID, rows) in Dictionary(grouping: waiting, by: \.batchID).sorted(by: { $0.key < $1.key }) {
            // A batch a person took out of training keeps its rows out, labelled or not.
            guard let batch = batches.first(where: { $0.id == batchID }), !batch.excluded else { continue }
            let loaded: DataSchema.Loaded
            do {
                loaded = try schema.load(batch.storedPath, shownAs: batch.path, badRows: .asBefore)
            } catch {
                log.warning("batch \(batchID) no longer reads with the job's columns; its \(rows.count) labelled rows wait: \(error)")
                continue
            }
            guard let table = loaded.unlabelled, let ids = loaded.unlabelledIDs else { continue }
            let index = Dictionary(ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            var picked: [Int] = [], labels: [String] = [], rowIDs: [String] = []
            for row in rows {
                guard let i = index[row.rowID], let label = row.label, let id = row.id else { continue }
                picked.append(i)
                labels.append(label)
                rowIDs.append(row.rowID)
                joined.append(id)
            }
            guard !picked.isEmpty else { continue }
            sources.append(batchID)
            let rows = table.rows(picked)
            let label: Column = job.data.task == .regression ? .numeric(labels.map { Double($0) ?? .nan }) : .text(labels)
            parts.append(DataTable(names: rows.names + [idColumn, job.data.label], columns: rows.columns + [.text(rowIDs), label]))
        }
        guard let all = concatenated(parts) else { return }
        let bytes = CSVWriter.encode(all, columns: [idColumn] + all.names.filter { $0 != idColumn && $0 != job.data.label } + [job.data.label])
        let sha = Files.sha256(bytes)
        let stored = state.batchPath(job: job.name, sha256: sha)
        if !Files.exists(stored) { try Files.writeAtomically(bytes, to: stored) }
        checkpoints.reached(.joined)
        let name = "labels for \(joined.count) row\(joined.count == 1 ? "" : "s") of batch\(sources.count == 1 ? "" : "es") \(sources.map(String.init).joined(separator: ", "))"
        let batch = try registry.registerJoinedBatch(
            job: job.name, path: name, storedPath: stored, size: Int64(bytes.count), sha256: sha, rows: joined, now: now)
        log.info("new batch \(batch.id ?? 0): \(name), trained and evaluated on like any other")
    }
}
