import JobFiles
import Tabular
import Training

/// Which columns a job reads from its CSV files and how: the model's features (numeric unless listed
/// as categorical) and the label (always read as text).
struct DataSchema: Sendable {
    let features: [String]
    let label: String
    let categorical: Set<String>

    /// The production model fixes the features; without one, `data.features` does, or else every
    /// column of the first batch except the label and `data.exclude`.
    init(job: JobConfig, production: LogisticModel?, firstBatch: String?) throws {
        label = job.data.label
        categorical = Set(job.data.categorical)
        if let production {
            features = production.features
        } else if let explicit = job.data.features {
            features = explicit
        } else if let firstBatch {
            let excluded = Set(job.data.exclude + [job.data.label])
            features = try CSVReader.header(file: firstBatch).filter { !excluded.contains($0) }
        } else {
            features = []
        }
    }

    var options: CSVOptions {
        let numeric = Set(features).subtracting(categorical)
        let categorical = self.categorical.intersection(features).union([label])
        return CSVOptions(required: features + [label]) { name in
            if categorical.contains(name) { return .categorical }
            if numeric.contains(name) { return .numeric }
            return nil
        }
    }

    /// Loads a CSV file; errors name `shownAs` (the incoming path) rather than the stored copy.
    func load(_ path: String, shownAs: String) throws -> DataTable {
        do {
            let table = try CSVReader.read(file: path, options: options)
            return table.selecting(features + [label])!
        } catch var error as DataError {
            error.file = shownAs
            throw error
        }
    }
}
