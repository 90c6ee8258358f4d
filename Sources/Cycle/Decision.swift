/// What the freshness policy decided for a run, and why (docs/cycle.md, "The decision").
package struct Decision: Sendable, Equatable {
    package enum Action: Sendable, Equatable {
        /// A requested run without new data: nothing to check, nothing trained.
        case noData
        /// Production is fresh: nothing trained.
        case keep
        /// The inputs moved, production's performance did not: nothing trained; feature drift is
        /// compared with this data from now on, so the same shift does not count again.
        case acknowledgeShift
        /// Train a candidate.
        case train(TrainingPlan)
    }

    package var action: Action
    /// One line for the log, the run record and `updater runs`.
    package var reason: String

    /// The value recorded in `run.decision`: `no_data`, `no_drift`, `shift`, `full` or `incremental`.
    package var recorded: String {
        switch action {
        case .noData: "no_data"
        case .keep: "no_drift"
        case .acknowledgeShift: "shift"
        case .train(let plan): plan.mode.rawValue
        }
    }

    package var plan: TrainingPlan? {
        if case .train(let p) = action { return p }
        return nil
    }
}

/// How a candidate is trained, and on which rows.
package struct TrainingPlan: Sendable, Equatable {
    package enum Mode: String, Sendable, Equatable {
        /// From scratch, on the training window.
        case full
        /// Warm-started from production, on the new rows and a replay sample of older ones.
        case incremental
    }

    /// Why this training.
    package enum Purpose: Sendable, Equatable {
        /// No model in production yet.
        case firstModel
        /// `updater trigger --full`.
        case requested
        /// Production's performance fell at this batch: trained on the rows from there on only,
        /// and released only if it beats production on them (which confirms the change).
        case conceptChange(batch: Int64)
        /// The rows since the last change have grown enough to pay for a bigger model.
        case warmUp
        /// The columns changed.
        case schemaChange
        /// The inputs drifted and performance cannot lead (unlabelled, or its check is off).
        case featureDrift
        /// One of `updater backtest`'s reference policies: on the newest `batches` batches, or the
        /// newest `window_rows` rows (nil), whatever the concept; always promoted.
        case reference(batches: Int?)
    }

    package var mode: Mode
    package var purpose: Purpose

    /// The batch the training window starts at; nil: the newest `window_rows` rows.
    package var windowStart: Int64? {
        if case .conceptChange(let batch) = purpose { return batch }
        return nil
    }
}
