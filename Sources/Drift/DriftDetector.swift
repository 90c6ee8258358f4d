import Dispatch
import Foundation
import Tabular

/// Compares current data with reference profiles, column by column. Each column is computed on its
/// own: a column that is missing, changed kind, or is all missing gets its own status and message,
/// and the other columns carry on. Columns are computed in parallel.
package enum DriftDetector {
    /// Per-column results and schema changes of `current` against `reference`. With
    /// `reportAddedColumns`, columns of `current` that the reference lacks are schema changes too.
    package static func compare(
        reference: [ColumnProfile], current: DataTable, policy: DriftPolicy, reportAddedColumns: Bool = false
    ) -> (columns: [ColumnDrift], schemaChanges: [String]) {
        let buffers = SortBuffers()
        var columns = parallelMap(reference) { profile in
            column(profile, current.column(profile.name), policy: policy, sortBuffers: buffers)
        }
        if reportAddedColumns {
            let known = Set(reference.map(\.name))
            for (name, column) in zip(current.names, current.columns) where !known.contains(name) {
                columns.append(ColumnDrift(
                    column: name, kind: column.kind.rawValue, status: .added, drifted: false, weight: 0,
                    message: "column is new: not in the reference"))
            }
        }
        applyCorrection(&columns, policy: policy)
        let schemaChanges = columns.compactMap { c -> String? in
            switch c.status {
            case .missing, .kindChanged, .added: "column \"\(c.column)\": \(c.message ?? c.status.rawValue)"
            default: nil
            }
        }
        return (columns, schemaChanges)
    }

    /// One column against its reference profile.
    package static func column(
        _ profile: ColumnProfile, _ current: Column?, policy: DriftPolicy, sortBuffers: SortBuffers = SortBuffers()
    ) -> ColumnDrift {
        let weight = policy.weight(for: profile.name)
        var result = ColumnDrift(
            column: profile.name, kind: profile.kind.rawValue, status: .ok, drifted: false, weight: weight)
        guard let current else {
            result.status = .missing
            result.drifted = true
            result.message = "column is missing from the current data"
            return result
        }
        guard current.kind == profile.kind else {
            result.status = .kindChanged
            result.drifted = true
            result.message = "was \(profile.kind.rawValue), now \(current.kind == .categorical ? "text" : current.kind.rawValue)"
            return result
        }
        let counts = profile.binCounts(current)
        let currentMissing = counts.last ?? 0
        result.bins = ColumnDrift.Bins(
            edges: profile.kind == .numeric ? profile.edges : nil, categories: profile.kind == .categorical ? profile.categories : nil,
            reference: profile.counts, current: counts)
        result.missingShareReference = profile.rows > 0 ? Double(profile.missing) / Double(profile.rows) : nil
        result.missingShareCurrent = current.count > 0 ? Double(currentMissing) / Double(current.count) : nil
        var notes: [String] = []
        if let a = result.missingShareReference, let b = result.missingShareCurrent, abs(b - a) >= policy.missingShareChange {
            result.drifted = true
            notes.append("missing values went from \(percent(a)) to \(percent(b))")
        }
        guard current.count > 0 else {
            result.message = "no current rows"
            return result
        }
        result.psi = psi(reference: profile.counts, current: counts)
        let method = policy.method(for: profile)
        let threshold = policy.threshold(for: profile.name, method: method)
        result.method = method
        result.threshold = threshold
        if profile.present == 0 {
            result.status = .referenceAllMissing
            result.message = (["every reference value is missing: only the missing share is compared"] + notes).joined(separator: "; ")
            return result
        }
        if currentMissing == current.count {
            result.status = .currentAllMissing
            result.message = (["every current value is missing: only the missing share is compared"] + notes).joined(separator: "; ")
            return result
        }
        switch method {
        case .psi:
            result.statistic = result.psi
        case .js:
            result.statistic = jensenShannon(profile.counts, counts)
        case .linf:
            result.statistic = lInfinity(profile.counts, counts)
        case .chi2:
            if let c = chiSquaredContingency(Array(profile.counts.dropLast()), Array(counts.dropLast())) {
                result.statistic = c.statistic
                result.pValue = c.pValue
            }
        case .ks, .wasserstein:
            guard case .numeric(let values) = current else { break }
            let sorted = sortedPresent(values, buffers: sortBuffers)
            defer { sortBuffers.give(sorted) }
            if method == .ks {
                let ks = ksTwoSample(sortedA: profile.sample.values, sortedB: sorted)
                result.statistic = ks.statistic
                result.pValue = ks.pValue
            } else {
                result.statistic = wasserstein(sortedA: profile.sample.values, sortedB: sorted) / max(profile.std ?? 0, 0.001)
            }
        }
        if let p = result.pValue {
            if p <= threshold { result.drifted = true }
        } else if let s = result.statistic, s >= threshold {
            result.drifted = true
        }
        if profile.kind == .categorical, counts[counts.count - 2] > 0 {
            let unseen = counts[counts.count - 2]
            result.unseenShare = Double(unseen) / Double(current.count)
            notes.append("\(unseen) value\(unseen == 1 ? "" : "s") in categories the reference never had")
        }
        if profile.distinct == 1 { notes.append("the reference is constant") }
        result.message = notes.isEmpty ? nil : notes.joined(separator: "; ")
        return result
    }

    /// Adjusts the verdicts of p-value tests for the number of tests (see ``DriftPolicy/Correction``).
    static func applyCorrection(_ columns: inout [ColumnDrift], policy: DriftPolicy) {
        let tested = columns.indices.filter { columns[$0].pValue != nil && columns[$0].status == .ok }
        let m = Double(tested.count)
        guard policy.correction != .none, tested.count > 1 else { return }
        // Missing-share drift stands on its own; only the test's part of the verdict changes.
        func missingDrift(_ c: ColumnDrift) -> Bool {
            guard let a = c.missingShareReference, let b = c.missingShareCurrent else { return false }
            return abs(b - a) >= policy.missingShareChange
        }
        switch policy.correction {
        case .none:
            return
        case .bonferroni:
            for i in tested {
                let alpha = columns[i].threshold! / m
                columns[i].threshold = alpha
                columns[i].drifted = columns[i].pValue! <= alpha || missingDrift(columns[i])
            }
        case .benjaminiHochberg:
            let order = tested.sorted { columns[$0].pValue! < columns[$1].pValue! }
            var cutoff = 0
            for (rank, i) in order.enumerated() where columns[i].pValue! <= Double(rank + 1) * columns[i].threshold! / m {
                cutoff = rank + 1
            }
            for (rank, i) in order.enumerated() {
                let alpha = columns[i].threshold!
                columns[i].threshold = Double(max(cutoff, 1)) * alpha / m
                columns[i].drifted = rank < cutoff || missingDrift(columns[i])
            }
        }
    }

    /// The label's drift result, and a schema change when the label has values the reference never
    /// had (a new class) or is missing.
    package static func label(_ profile: ColumnProfile, _ current: Column?, policy: DriftPolicy) -> (ColumnDrift, String?) {
        let result = column(profile, current, policy: policy)
        if result.status != .ok { return (result, "label \"\(profile.name)\": \(result.message ?? result.status.rawValue)") }
        guard case .categorical(let codes, let levels)? = current else { return (result, nil) }
        let known = Set(profile.categories)
        var seen = Set<Int32>()
        for c in codes where c >= 0 { seen.insert(c) }
        let new = seen.map { levels[Int($0)] }.filter { !known.contains($0) }.sorted()
        guard !new.isEmpty else { return (result, nil) }
        return (result, "label \"\(profile.name)\" has new classes: \(new.prefix(5).map { "\"\($0)\"" }.joined(separator: ", "))")
    }

    /// Concept drift from accuracy: the production model's accuracy on `currentRows` new labelled
    /// rows against its accuracy on `referenceRows` evaluation rows when it was evaluated. Drift when
    /// it fell by at least `minDrop` and a one-sided two-proportion z-test gives p ≤ `alpha`.
    package static func accuracyDrop(
        reference: Double, referenceRows: Int, current: Double, currentRows: Int, minDrop: Double, alpha: Double
    ) -> PerformanceDrift {
        let n1 = Double(referenceRows), n2 = Double(currentRows)
        var p = 1.0
        if n1 > 0, n2 > 0 {
            let pooled = (reference * n1 + current * n2) / (n1 + n2)
            let se = (pooled * (1 - pooled) * (1 / n1 + 1 / n2)).squareRoot()
            if se > 0 {
                let z = (current - reference) / se
                p = 0.5 * erfc(-z / 2.0.squareRoot())
            } else {
                p = current < reference ? 0 : 1
            }
        }
        return PerformanceDrift(
            metric: "accuracy", reference: reference, current: current, referenceRows: referenceRows,
            currentRows: currentRows, pValue: p, minDrop: minDrop, alpha: alpha,
            drifted: reference - current >= minDrop && p <= alpha)
    }

    /// Whether a regression model's RMSE rose on new rows: drift when RMSE grew by at least
    /// `minRise` (relative: 0.1 = 10 %) and Welch's one-sided z-test on the per-row squared errors
    /// (means `referenceMSE`, `currentMSE`; variances of the squared errors) gives p ≤ `alpha`.
    package static func errorRise(
        referenceMSE: Double, referenceVariance: Double, referenceRows: Int, currentMSE: Double, currentVariance: Double,
        currentRows: Int, minRise: Double, alpha: Double
    ) -> PerformanceDrift {
        let n1 = Double(referenceRows), n2 = Double(currentRows)
        var p = 1.0
        if n1 > 0, n2 > 0 {
            let se = (referenceVariance / n1 + currentVariance / n2).squareRoot()
            if se > 0 {
                let z = (currentMSE - referenceMSE) / se
                p = 0.5 * erfc(z / 2.0.squareRoot())
            } else {
                p = currentMSE > referenceMSE ? 0 : 1
            }
        }
        let reference = referenceMSE.squareRoot(), current = currentMSE.squareRoot()
        let rise = reference > 0 ? current / reference - 1 : (current > 0 ? Double.infinity : 0)
        return PerformanceDrift(
            metric: "rmse", reference: reference, current: current, referenceRows: referenceRows, currentRows: currentRows,
            pValue: p, minDrop: minRise, alpha: alpha, drifted: rise >= minRise && p <= alpha)
    }
}

func percent(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
