import Registry

/// What asked for a run.
package enum Trigger: String, Sendable, Codable {
    /// New batches arrived.
    case newData = "new_data"
    /// `updater trigger JOB`.
    case manual
    /// `updater trigger JOB --full`.
    case manualFull = "manual_full"

    /// The trigger of a run that consumes `requests` (none: new data).
    init(requests: [RequestRecord]) {
        if requests.isEmpty { self = .newData } else { self = requests.contains(where: \.full) ? .manualFull : .manual }
    }
}
