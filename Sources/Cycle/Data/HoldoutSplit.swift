import JobFiles
import Registry
import Tabular

/// One batch split into training rows and held-out evaluation rows.
///
/// With `data.holdout` a fraction, each row's side is a function of the batch's content hash, the
/// row and `training.seed` alone (with `data.id`, of the row's id and the seed), so a batch splits
/// the same way in every run and held-out rows are never trained on, even when a row comes back in a
/// batch of rows whose labels arrived later (docs/cycle.md, "The holdout split"). With a holdout
/// file, every row trains.
struct SplitBatch {
    var record: BatchRecord
    var train: DataTable
    var eval: DataTable?

    init(_ record: BatchRecord, _ table: DataTable, ids: [String]? = nil, job: JobConfig) {
        self.record = record
        guard case .fraction(let f) = job.data.holdout else {
            (train, eval) = (table, nil)
            return
        }
        var trainRows: [Int] = [], evalRows: [Int] = []
        for r in 0..<table.rowCount {
            let held = ids.map { isHeldOut(id: $0[r], fraction: f, seed: job.training.seed) }
                ?? isHeldOut(sha256: record.sha256, row: r, fraction: f, seed: job.training.seed)
            if held { evalRows.append(r) } else { trainRows.append(r) }
        }
        (train, eval) = (table.rows(trainRows), table.rows(evalRows))
    }

    /// How many of a batch's `rows` rows are training rows, without reading it (with `data.id`, the
    /// expected number: the split depends on the ids).
    static func trainingRows(sha256: String, rows: Int, job: JobConfig) -> Int {
        guard case .fraction(let f) = job.data.holdout else { return rows }
        if job.data.id != nil { return Int((Double(rows) * (1 - f)).rounded()) }
        return (0..<rows).reduce(0) { $0 + (isHeldOut(sha256: sha256, row: $1, fraction: f, seed: job.training.seed) ? 0 : 1) }
    }
}

/// FNV-1a over a string, to turn batch hashes into seeds.
func fnv1a(_ text: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in text.utf8 {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01b3
    }
    return h
}

/// Whether row `row` of the batch with content hash `sha256` is held out for evaluation: a property
/// of the row alone, so the same batch always splits the same way.
func isHeldOut(sha256: String, row: Int, fraction: Double, seed: UInt64) -> Bool {
    var g = SplitMix64(seed: fnv1a(sha256) ^ seed ^ (UInt64(row) &* SplitMix64.gamma))
    return g.nextUnit() < fraction
}

/// Whether the row with `data.id` value `id` is held out for evaluation: a property of the id alone.
func isHeldOut(id: String, fraction: Double, seed: UInt64) -> Bool {
    var g = SplitMix64(seed: fnv1a(id) ^ seed)
    return g.nextUnit() < fraction
}

/// Rows of several tables one after the other, or nil when there are none.
func concatenated(_ tables: [DataTable]) -> DataTable? {
    guard let first = tables.first else { return nil }
    return tables.dropFirst().reduce(first) { $0.appending($1) }
}
