import Tabular

/// `updater drift --reference A.csv --current B.csv`: the detector on two files, no job or
/// database. Column kinds come from the reference: listed categorical columns and the label are
/// categorical, a column whose every non-missing value is a number is numeric, any other is
/// categorical. The current file is read with the reference's kinds; a numeric column that now holds
/// text is reported as a schema change of that column alone.
package enum FileComparison {
    package static func compare(
        reference: String, current: String, categorical: [String] = [], label: String? = nil, exclude: [String] = [],
        policy: DriftPolicy = DriftPolicy()
    ) throws -> DriftReport {
        let forced = Set(categorical + (label.map { [$0] } ?? []))
        let skipped = Set(exclude)
        var options = CSVOptions { name in
            skipped.contains(name) ? nil : forced.contains(name) ? .categorical : .numeric
        }
        options.textFallback = true
        // The reference's profiles, then the current file: the reference's columns are gone before
        // the current's are read, so a run holds one file's columns, not both (two 10M-row files:
        // 2.6 → 1.8 GB at the peak).
        let (profiles, kinds): (ReferenceProfile, [String: ColumnKind]) = try {
            let referenceTable = try CSVReader.read(file: reference, options: options)
            for name in categorical + (label.map { [$0] } ?? []) where referenceTable.index(of: name) == nil {
                throw DataError(.missingColumn, file: reference, column: name, "column is not in the file")
            }
            let profiles = ReferenceProfile(
                table: referenceTable, features: referenceTable.names.filter { $0 != label }, label: label,
                prediction: nil, policy: policy, seed: 0)
            return (profiles, Dictionary(uniqueKeysWithValues: zip(referenceTable.names, referenceTable.columns.map(\.kind))))
        }()
        var currentOptions = CSVOptions { name in skipped.contains(name) ? nil : kinds[name] ?? .numeric }
        currentOptions.textFallback = true
        let currentTable = try CSVReader.read(file: current, options: currentOptions)

        let featureTable = DataTable(
            names: currentTable.names.filter { $0 != label },
            columns: zip(currentTable.names, currentTable.columns).filter { $0.0 != label }.map(\.1),
            rowCount: currentTable.rowCount)
        let compared = DriftDetector.compare(
            reference: profiles.columns, current: featureTable, policy: policy, reportAddedColumns: true)
        var targets: [ColumnDrift] = []
        var schemaChanges = compared.schemaChanges
        if let labelProfile = profiles.label {
            let (result, change) = DriftDetector.label(labelProfile, currentTable.column(labelProfile.name), policy: policy)
            targets.append(result)
            if let change { schemaChanges.append(change) }
        }
        return DriftReport(columns: compared.columns, targets: targets, schemaChanges: schemaChanges, policy: policy)
    }
}
