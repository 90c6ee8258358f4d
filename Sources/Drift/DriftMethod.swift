import Tabular

/// A drift test for one column. Distances drift when the statistic is at or above the threshold;
/// p-value tests drift when the p-value is at or below it.
package enum DriftMethod: String, Sendable, Codable, CaseIterable, Comparable {
    /// Population Stability Index over the profile's bins (numeric and categorical).
    case psi
    /// Two-sample Kolmogorov–Smirnov test, p-value as SciPy's `ks_2samp` (numeric).
    case ks
    /// Wasserstein-1 distance divided by the reference's standard deviation (at least 0.001) (numeric).
    case wasserstein
    /// Jensen–Shannon distance, natural log, over the profile's bins (numeric and categorical).
    case js
    /// Pearson's chi-squared test of the 2×k table of bin counts, missing bin excluded (both kinds).
    case chi2
    /// L-infinity distance: the largest change of any bin's share (categorical).
    case linf

    package static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    package var isPValueTest: Bool { self == .ks || self == .chi2 }

    package func applies(to kind: ColumnKind) -> Bool {
        switch self {
        case .psi, .js, .chi2: true
        case .ks, .wasserstein: kind == .numeric
        case .linf: kind == .categorical
        }
    }

    /// The threshold used when the job file does not set one.
    package var defaultThreshold: Double {
        switch self {
        case .psi: 0.1
        case .ks, .chi2: 0.05
        case .wasserstein, .js: 0.1
        case .linf: 0.2
        }
    }

    /// Evidently's choice by column type and reference size: p-value tests for small samples,
    /// distances for large ones (where p-values flag every negligible change).
    /// - at most 1000 non-missing reference values: numeric with more than 5 distinct values → KS,
    ///   otherwise chi-squared;
    /// - more: numeric with more than 5 distinct values → Wasserstein, otherwise Jensen–Shannon.
    package static func automatic(for profile: ColumnProfile) -> DriftMethod {
        let continuous = profile.kind == .numeric && profile.distinct > 5
        if profile.present <= 1000 { return continuous ? .ks : .chi2 }
        return continuous ? .wasserstein : .js
    }
}

/// How drift statistics become a verdict: methods, thresholds, per-column overrides, correction for
/// multiple testing and severity. Defaults are documented in docs/drift.md.
package struct DriftPolicy: Sendable, Equatable {
    package enum Correction: String, Sendable, Codable, CaseIterable {
        case none
        /// Each p-value test uses threshold / (number of p-value tests).
        case bonferroni
        /// Benjamini–Hochberg: controls the false discovery rate at the threshold.
        case benjaminiHochberg = "benjamini_hochberg"
    }

    package struct ColumnSettings: Sendable, Equatable {
        package var method: DriftMethod?
        package var threshold: Double?
        package var weight: Double
        package init(method: DriftMethod? = nil, threshold: Double? = nil, weight: Double = 1) {
            self.method = method
            self.threshold = threshold
            self.weight = weight
        }
    }

    /// Reference-quantile bins per numeric column.
    package var bins = 10
    /// Size of the stored reference sample used by KS and Wasserstein.
    package var sampleSize = 10_000
    /// Method for numeric / categorical columns; `nil` = automatic.
    package var numericMethod: DriftMethod? = nil
    package var categoricalMethod: DriftMethod? = nil
    /// Thresholds by method (defaults: ``DriftMethod/defaultThreshold``).
    package var thresholds: [DriftMethod: Double] = [:]
    package var columns: [String: ColumnSettings] = [:]
    /// A change of a column's share of missing values at least this large is drift.
    package var missingShareChange = 0.1
    package var correction = Correction.none
    /// A (weighted) share of drifted columns at least this large makes the drift severe.
    package var severeShare = 0.5
    /// A drifted column whose PSI is at least this makes the drift severe. A categorical column's
    /// PSI is counted here without its bin of categories the reference never had, which
    /// `severeUnseenShare` judges instead.
    package var severePSI = 0.25
    /// A drifted categorical column with at least this share of current values in categories the
    /// reference never had makes the drift severe. Why 0.05: the unseen bin's PSI term, with the
    /// empty reference bin smoothed to 1e-4, is already 0.31 at a 5 % share and 0.05 at 1 %, so
    /// under `severePSI` alone any new category above about 4 % forced a full retrain. A model scores
    /// new categories through its unseen bucket; if those rows were scored no better than chance,
    /// accuracy would fall by at most share × (accuracy − 0.5), about 0.02 at 5 %: the performance
    /// check's `min_drop`, which catches a real loss once labels show it.
    package var severeUnseenShare = 0.05

    package init() {}

    package func method(for profile: ColumnProfile) -> DriftMethod {
        if let m = columns[profile.name]?.method, m.applies(to: profile.kind) { return m }
        let configured = profile.kind == .numeric ? numericMethod : categoricalMethod
        return configured ?? DriftMethod.automatic(for: profile)
    }

    package func threshold(for column: String, method: DriftMethod) -> Double {
        columns[column]?.threshold ?? thresholds[method] ?? method.defaultThreshold
    }

    package func weight(for column: String) -> Double { columns[column]?.weight ?? 1 }
}
