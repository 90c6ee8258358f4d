import Drift
import Evaluation
import Foundation
import JobFiles
import Support

/// Production's performance on rows that have no labels yet, estimated from its own calibrated
/// scores (confidence-based performance estimation, as NannyML's CBPE; docs/labels.md): binary
/// jobs only, from the estimator stored with the version when it was trained.
///
/// The estimate is only as good as the scores' calibration: it sees a shift of the inputs, never a
/// change of the relation between inputs and label (concept drift), which only labels show.
struct EstimatedPerformance {
    let job: JobConfig
    let production: ProductionModel

    /// Batches with fewer rows without labels are not estimated: the interval would say nothing.
    static let minimumRows = 30

    /// One batch's estimate, and whether it fell far enough to be announced.
    struct Batch {
        var batch: Int64?
        var estimate: PerformanceEstimate
        var dropped: Bool
    }

    /// Estimates each batch (its id and production's scores on its rows without labels).
    func estimate(_ batches: [(id: Int64?, scores: [Double])]) throws -> [Batch] {
        guard job.data.task == .binary, let stored = production.record.estimation else { return [] }
        let estimator = try decodeJSON(PerformanceEstimator.self, stored)
        return batches.compactMap { b -> Batch? in
            guard b.scores.count >= Self.minimumRows else { return nil }
            var e = estimator.estimate(scores: b.scores)
            var reasons: [String] = []
            for i in e.metrics.indices {
                let name = e.metrics[i].metric
                let minimum = job.gate.rules.first { $0.metric.rawValue == name && $0.slice == nil && $0.min != nil }?.min
                e.metrics[i].minimum = minimum
                let m = e.metrics[i]
                if let minimum, m.value < minimum {
                    reasons.append("estimated \(name) \(round4(m.value)) is below the gate's minimum \(round4(minimum))")
                } else if let reference = m.reference, let minDrop = job.drift.performance?.minDrop, m.upper < reference - minDrop {
                    reasons.append(
                        "estimated \(name) \(round4(m.value)) (at most \(round4(m.upper))) is more than \(round4(minDrop)) below its \(round4(reference)) on its evaluation rows")
                }
            }
            let metrics = e.metrics.map { "\($0.metric) \(round4($0.value)) (\(round4($0.lower))–\(round4($0.upper)))" }.joined(separator: ", ")
            e.summary = "estimated on \(e.rows) rows without labels: \(metrics)" + (reasons.isEmpty ? "" : "; " + reasons.joined(separator: "; "))
            return Batch(batch: b.id, estimate: e, dropped: !reasons.isEmpty && job.drift.estimatedDrop != .off)
        }
    }
}
