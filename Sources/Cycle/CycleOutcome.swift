import Foundation

/// What one cycle of one job did.
package struct CycleOutcome: Sendable, Equatable {
    package enum Kind: String, Sendable {
        /// No new data and no request: nothing was recorded.
        case idle
        /// New data and production is fresh: recorded, no training.
        case noDrift = "no_drift"
        /// The inputs moved but production's performance held: recorded, no training.
        case shift
        /// A requested run found no new data to check: recorded, no training.
        case noData = "no_data"
        case promoted
        case rejected
        case failed
        /// Paused by a person (`updater pause`): no run.
        case paused
    }

    package var job: String
    package var kind: Kind
    package var runID: Int64?
    /// The run's number within the job, as people see it (`updater runs JOB --run N`).
    package var run: Int?
    package var version: Int?
    package var message: String
    /// What went wrong besides the run (a promotion that could not be completed, a deploy file
    /// that could not be restored): the cycle then counts as failed.
    package var problem: String?
    /// When a file of the incoming directory that was still settling becomes readable: the job
    /// should be looked at again then, whatever its schedule.
    package var settlingUntil: Date?

    package init(job: String, kind: Kind, runID: Int64?, run: Int? = nil, version: Int?, message: String) {
        self.job = job
        self.kind = kind
        self.runID = runID
        self.run = run
        self.version = version
        self.message = message
    }
}

/// An error of the cycle that has no better home, with the message a person reads.
package struct CycleError: Error, CustomStringConvertible {
    package var description: String
    package init(_ d: String) { description = d }
}
