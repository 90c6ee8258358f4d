import Drift
import JobFiles
import Training

/// When to retrain and on which rows: the freshness policy (docs/cycle.md, "The decision").
///
/// With labelled batches, production's performance leads: a batch on which it fell significantly
/// below what it showed on the batches it served marks a change of concept, and the candidate
/// trains on the rows from that batch on only; after a change, a candidate trains each time those
/// rows have grown by `training.warm_up_growth`, until `training.window_rows` (the learning curve);
/// inputs that move while performance holds are acknowledged, not trained on. Without performance
/// (its check off, or production cannot be scored) feature drift leads, as severity says.
struct FreshnessPolicy {
    let job: JobConfig
    /// `updater backtest`'s reference policies replace this one.
    var reference: ReferencePolicy?

    /// The rows of the current concept: since the last confirmed change (else since the first batch).
    struct Segment: Equatable {
        /// The batch the concept started at; nil: the job's first batch.
        var start: Int64?
        /// Training rows available in it, this run's new batches included.
        var availableRows: Int
        /// The training rows of the model in production, if it was trained in this concept.
        var productionRows: Int?
        /// The most training rows any candidate of this concept has had (0 before the first).
        var triedRows: Int
        /// Labelled rows among this run's new batches (rows without labels are not trained on); nil
        /// when not counted.
        var newRows: Int? = nil
    }

    func decide(production: ProductionModel?, trigger: Trigger, evidence: Evidence?, segment: Segment) -> Decision {
        guard let production else {
            if segment.availableRows == 0 {
                return Decision(action: .noData, reason: "nothing to train on yet: no row has a label (rows without one are trained on once their labels arrive)")
            }
            return Decision(action: .train(.init(mode: .full, purpose: .firstModel)), reason: "no model in production yet: full training")
        }
        switch reference {
        case .never?:
            return Decision(action: .keep, reason: "reference policy never: the first model stays")
        case .every?:
            return Decision(
                action: .train(.init(mode: .full, purpose: .reference(batches: nil))), reason: "reference policy every: full retrain on the newest window")
        case .recent(let k)?:
            return Decision(
                action: .train(.init(mode: .full, purpose: .reference(batches: k))),
                reason: "reference policy oracle: full retrain on the \(k) newest batch\(k == 1 ? "" : "es"), all of the new concept")
        case nil:
            break
        }
        if trigger == .manualFull {
            return Decision(action: .train(.init(mode: .full, purpose: .requested)), reason: "full retrain requested (updater trigger --full)")
        }
        guard let evidence else {
            return Decision(action: .noData, reason: "no new data to check (use updater trigger --full to retrain anyway)")
        }
        let report = evidence.report
        if !report.schemaChanges.isEmpty {
            return Decision(
                action: .train(.init(mode: .full, purpose: .schemaChange)),
                reason: "schema changed → full retrain (\(report.schemaChanges.joined(separator: "; ")))")
        }
        if segment.newRows == 0 {
            let drop = evidence.estimates.first { $0.dropped }
            if let drop, job.drift.estimatedDrop == .retrain {
                return Decision(
                    action: .train(.init(mode: .full, purpose: .requested)),
                    reason: "production's estimated performance fell (\(drop.estimate.summary)) → full retrain on the newest labelled rows (drift.estimated_drop = \"retrain\")")
            }
            let estimate = drop.map { "; \($0.estimate.summary)" } ?? ""
            return Decision(
                action: .keep,
                reason: "production kept: the new rows have no labels yet (checked for drift and scored; trained on once their labels arrive)\(estimate)")
        }
        if evidence.performanceLeads, let change = evidence.change {
            return Decision(
                action: .train(.init(mode: .full, purpose: .conceptChange(batch: change.batch))),
                reason: "concept change suspected: \(change.reason) → full retrain on the rows from batch \(change.batch) on")
        }
        if let warmUp = warmUp(segment) { return warmUp }
        guard evidence.performanceLeads else { return featureDriftDecision(production, report) }
        if evidence.featuresDrifted {
            let holds = report.performance.map { " but production's \($0.metric) holds (\(round4($0.current)) against \(round4($0.reference)))" } ?? ""
            return Decision(
                action: .acknowledgeShift,
                reason: "the inputs moved\(holds): not retrained; feature drift is compared with these rows from now on")
        }
        let holds = report.performance.map { "production's \($0.metric) holds (\(round4($0.current)) against \(round4($0.reference)))" }
        return Decision(action: .keep, reason: "production kept: " + (holds ?? "no drift"))
    }

    /// After a change (or from the first batch), another candidate each time the rows of the
    /// concept have grown by `warm_up_growth` over those of the model in production (5 % slack for
    /// uneven batches), until `window_rows`; never on no more rows than a candidate already had.
    func warmUp(_ s: Segment) -> Decision? {
        let window = job.training.windowRows
        let available = min(s.availableRows, window)
        let base = s.productionRows ?? 0
        guard base < window, available > s.triedRows,
            Double(available) >= 0.95 * job.training.warmUpGrowth * Double(base)
        else { return nil }
        let since = s.start.map { "since the change at batch \($0)" } ?? "since the first batch"
        let from = s.productionRows.map { "production's \($0)" } ?? "none in production from this concept"
        return Decision(
            action: .train(.init(mode: .full, purpose: .warmUp)),
            reason: "warm-up: \(s.availableRows) training rows \(since) (\(from)) → full retrain on \(available) rows")
    }

    /// When performance cannot lead: severity decides (none → keep, severe → full, moderate →
    /// incremental where the model allows it).
    func featureDriftDecision(_ production: ProductionModel, _ drift: DriftReport) -> Decision {
        let t = job.training
        let full = { (reason: String) in Decision(action: .train(.init(mode: .full, purpose: .featureDrift)), reason: reason) }
        switch drift.severity {
        case .none:
            return Decision(action: .keep, reason: "production kept: no drift")
        case .severe:
            return full("severe drift (\(drift.severityReasons?.first ?? "see the drift report")) → full retrain")
        case .moderate:
            let v = production.record.version
            if !t.incremental { return full("moderate drift, incremental updates disabled → full retrain") }
            if (production.external != nil) != (t.command != nil) {
                return full(
                    "moderate drift, but the job now trains with \(t.command == nil ? "the built-in model" : "an external trainer") and v\(v) was not made that way → full retrain")
            }
            if t.command == nil, let model = production.model, model.kind == .mlp, t.model == .mlp,
                model.layers.dropLast().map(\.outputs) != t.mlp.hiddenLayers
            {
                return full(
                    "moderate drift, but the job's hidden_layers \(t.mlp.hiddenLayers) differ from v\(v)'s \(model.layers.dropLast().map(\.outputs)) → full retrain")
            }
            if t.command == nil, let kind = production.model?.kind, kind.rawValue != t.model.rawValue {
                return full("moderate drift, but the job now trains \(t.model.rawValue) and v\(v) is \(kind.rawValue) → full retrain")
            }
            if t.command == nil, t.model == .softmaxRegression || t.model == .ridge {
                return full("moderate drift → full retrain (\(t.model.rawValue) has no incremental update)")
            }
            if production.record.generation >= t.maxIncrementalGenerations {
                return full(
                    "moderate drift, but v\(v) is already \(production.record.generation) incremental generation(s) from a full training (max \(t.maxIncrementalGenerations)) → full retrain")
            }
            return Decision(
                action: .train(.init(mode: .incremental, purpose: .featureDrift)),
                reason: "moderate drift → incremental update of v\(v)")
        }
    }
}

/// The policies `updater backtest` compares a job's policy with.
package enum ReferencePolicy: Sendable, Equatable {
    /// The first model stays in production.
    case never
    /// A full retrain on the newest `window_rows` rows after every batch, always promoted.
    case every
    /// A full retrain on the newest `batches` batches, always promoted (the oracle that knows when
    /// the concept changed, right after a change).
    case recent(batches: Int)
}
