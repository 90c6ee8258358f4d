import Tabular

/// Everything a later drift check needs about the data a model was trained on, stored with the
/// model version: the features' profiles, the label's, and the profile of the model's own scores on
/// its evaluation rows (for prediction drift).
package struct ReferenceProfile: Sendable, Codable, Equatable {
    package var columns: [ColumnProfile]
    package var label: ColumnProfile?
    package var prediction: ColumnProfile?

    package init(columns: [ColumnProfile], label: ColumnProfile? = nil, prediction: ColumnProfile? = nil) {
        self.columns = columns
        self.label = label
        self.prediction = prediction
    }

    /// Profiles every column of `table` named in `features` (in parallel).
    /// `prediction`: the model's output on its evaluation rows (scores, values or predicted classes).
    package init(table: DataTable, features: [String], label: String?, prediction: Column?, policy: DriftPolicy, seed: UInt64) {
        let named = features.compactMap { name in table.column(name).map { (name, $0) } }
        // Each column samples its own positions, so sampling errors are not shared between columns.
        let buffers = SortBuffers()
        columns = parallelMap(named) { name, column in
            ColumnProfile(
                name: name, column: column, bins: policy.bins, sampleSize: policy.sampleSize, seed: seed ^ stableHash(name),
                sortBuffers: buffers)
        }
        self.label = label.flatMap { name in table.column(name).map { ColumnProfile(name: name, column: $0, bins: policy.bins) } }
        self.prediction = prediction.map {
            ColumnProfile(name: "prediction", column: $0, bins: policy.bins, sampleSize: policy.sampleSize, seed: seed)
        }
    }
}

/// FNV-1a of a name: the same in every process (unlike `hashValue`).
func stableHash(_ text: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in text.utf8 {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01b3
    }
    return h
}
