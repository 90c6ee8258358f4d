import Drift
import Evaluation
import Foundation
import JobFiles
import Registry
import Training

/// Production's performance on the labelled batches it served, as the freshness policy reads it:
/// each batch scored before anything trains on it, pooled since production went in (or since the
/// policy last restarted the comparison), and each new batch tested against that pool.
///
/// The per-row loss is 1 for a misclassified row, 0 otherwise (accuracy = 1 − mean loss), or the
/// squared error (RMSE = √mean loss); its sum and sum of squares pool batches exactly.
struct ServedPerformance {
    let metric: DriftSettings.Performance.Metric
    let settings: DriftSettings.Performance

    /// Loss statistics over some rows.
    struct Pool: Sendable, Equatable {
        var rows = 0
        var sum = 0.0
        var sumSquares = 0.0

        init(rows: Int = 0, sum: Double = 0, sumSquares: Double = 0) {
            self.rows = rows
            self.sum = sum
            self.sumSquares = sumSquares
        }

        init(losses: ArraySlice<Double>) {
            rows = losses.count
            for l in losses {
                sum += l
                sumSquares += l * l
            }
        }

        var mean: Double { rows > 0 ? sum / Double(rows) : .nan }
        /// The losses' variance (population).
        var variance: Double { rows > 0 ? max(0, sumSquares / Double(rows) - mean * mean) : .nan }

        static func + (a: Pool, b: Pool) -> Pool { Pool(rows: a.rows + b.rows, sum: a.sum + b.sum, sumSquares: a.sumSquares + b.sumSquares) }
    }

    /// The metric's value for a pool: accuracy or RMSE.
    func value(_ p: Pool) -> Double { metric == .rmse ? p.mean.squareRoot() : 1 - p.mean }

    /// Per-row losses of production's output on rows with known truth.
    static func losses(_ truth: Truth, output: [Double], threshold: Double) -> [Double] {
        switch truth {
        case .binary(let y): return zip(y, output).map { $0 != ($1 >= threshold) ? 1 : 0 }
        case .multiclass(let y, let k):
            let predicted = MulticlassMetrics.predictions(probabilities: output, classes: k)
            return zip(y, predicted).map { $0 != $1 ? 1 : 0 }
        case .regression(let y): return zip(y, output).map { ($1 - $0) * ($1 - $0) }
        }
    }

    /// What the reference is when production has served no batch yet: its metric on the evaluation
    /// rows it was judged on (for RMSE the losses' variance is not stored; it is taken from the new
    /// rows, scaled to the reference's mean).
    func evaluationPool(_ metrics: MetricSummary, scaleLike current: Pool) -> Pool? {
        let rows = metrics.rows
        guard rows > 0 else { return nil }
        switch metric {
        case .accuracy:
            guard let accuracy = metrics[.accuracy] else { return nil }
            let wrong = (1 - accuracy) * Double(rows)
            return Pool(rows: rows, sum: wrong, sumSquares: wrong)
        case .rmse:
            guard let rmse = metrics[.rmse], current.rows > 0 else { return nil }
            let mean = rmse * rmse
            let ratio = current.mean > 0 ? mean / current.mean : 1
            let variance = current.variance * ratio * ratio
            return Pool(rows: rows, sum: mean * Double(rows), sumSquares: (variance + mean * mean) * Double(rows))
        }
    }

    /// Tests whether `current` is worse than `reference` (the minimum worsening and the p-value of
    /// the job's `[drift.performance]`).
    func test(reference: Pool, current: Pool, basis: String) -> PerformanceDrift {
        var result: PerformanceDrift
        switch metric {
        case .accuracy:
            result = DriftDetector.accuracyDrop(
                reference: value(reference), referenceRows: reference.rows, current: value(current), currentRows: current.rows,
                minDrop: settings.minDrop, alpha: settings.pValue)
        case .rmse:
            result = DriftDetector.errorRise(
                referenceMSE: reference.mean, referenceVariance: reference.variance, referenceRows: reference.rows,
                currentMSE: current.mean, currentVariance: current.variance, currentRows: current.rows,
                minRise: settings.minDrop, alpha: settings.pValue)
        }
        result.basis = basis
        return result
    }

    /// The record of production's performance on one batch.
    func record(job: String, batch: Int64, run: Int64, version: Int, _ pool: Pool, at now: Date) -> ServedBatchRecord {
        ServedBatchRecord(
            job: job, batchID: batch, runID: run, version: version, metric: metric.rawValue, rows: pool.rows, value: value(pool),
            lossSum: pool.sum, lossSumSquares: pool.sumSquares, at: now)
    }

    static func pool(_ records: [ServedBatchRecord]) -> Pool {
        records.reduce(Pool()) { $0 + Pool(rows: $1.rows, sum: $1.lossSum, sumSquares: $1.lossSumSquares) }
    }
}
