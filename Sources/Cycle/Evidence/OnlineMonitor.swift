import Drift
import Foundation
import Support
import JobFiles
import Registry

/// The online detectors (ADWIN, Page–Hinkley) a job runs on its production model's per-row error
/// stream (1 = misclassified), kept across batches and restarts in the registry and started afresh
/// whenever another version goes into production.
struct OnlineMonitor: Codable {
    var adwin = ADWIN()
    /// Only a rise of the error rate matters, so Page–Hinkley watches for increases alone.
    var pageHinkley = PageHinkley(mode: .up)

    /// Loads the saved state for `job` if it watches `version`, else a fresh monitor.
    static func load(job: String, version: Int, registry: Registry) throws -> (monitor: OnlineMonitor, rows: Int) {
        let record = try registry.onlineDetector(job: job)
        guard let record, record.version == version,
            let monitor = try? JSONDecoder().decode(OnlineMonitor.self, from: Data(record.state.utf8))
        else { return (OnlineMonitor(), 0) }
        return (monitor, record.rows)
    }

    /// Feeds `errors` in order; returns each enabled detector's detections (row indexes into `errors`).
    /// ADWIN detects a change either way; a detection only counts as decisive when these rows' error
    /// rate is above `referenceErrorRate` (the production model's when it was evaluated): a model
    /// that got better is no reason to retrain.
    mutating func feed(_ errors: [Bool], settings: DriftSettings, referenceErrorRate: Double) -> [OnlineDetection] {
        var adwinRows: [Int] = [], phRows: [Int] = []
        for (i, e) in errors.enumerated() {
            let x = e ? 1.0 : 0.0
            if settings.adwin != .off, adwin.update(x) { adwinRows.append(i) }
            if settings.pageHinkley != .off, pageHinkley.update(x) { phRows.append(i) }
        }
        let errorRate = Double(errors.filter { $0 }.count) / Double(max(errors.count, 1))
        let worse = errorRate > referenceErrorRate
        var out: [OnlineDetection] = []
        if settings.adwin != .off {
            let note = settings.adwin == .decisive && !worse && !adwinRows.isEmpty
                ? "configured decisive, but the error rate of these rows (\(round4(errorRate))) is not above production's when it was evaluated (\(round4(referenceErrorRate))): a change for the better is reported, not acted on"
                : nil
            out.append(OnlineDetection(detector: "adwin", rows: adwinRows, decisive: settings.adwin == .decisive && worse, note: note))
        }
        if settings.pageHinkley != .off {
            out.append(OnlineDetection(detector: "page_hinkley", rows: phRows, decisive: settings.pageHinkley == .decisive))
        }
        return out
    }

    func record(job: String, version: Int, rows: Int, at now: Date) throws -> OnlineDetectorRecord {
        OnlineDetectorRecord(job: job, version: version, state: try json(self), rows: rows, updatedAt: now)
    }
}
