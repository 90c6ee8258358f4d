import Foundation
import Testing

@testable import Cycle
import JobFiles

/// `updater backtest`'s replay: the job's real cycle on a stream, in process, against the
/// reference policies.
@Suite("Backtest: the policy on drifting streams")
struct BacktestTests {
    @Test("after an abrupt change the job's policy retrains at once on the rows from the change on, and beats retraining every batch")
    func abruptChange() throws {
        let stream = try Stream.abrupt(batches: 12, rows: 600, change: 7)
        defer { stream.remove() }
        let file = try JobFile(windowRows: 2400)
        defer { file.remove() }
        let backtest = Backtest(job: try JobFileDecoder.load(file.path), files: stream.files, label: "sea")
        let policy = try backtest.replay(.job)
        let every = try backtest.replay(.every)
        let never = try backtest.replay(.never)

        let change = policy.batches[6]
        #expect(change.change, "\(change)")
        #expect(change.decision == "full" && change.windowFrom == 7, "\(change)")
        #expect(change.outcome == "promoted", "\(change)")
        // Nothing of the old concept is trained on after the change.
        for b in policy.batches[6...] where b.trainingRows > 0 { #expect((b.windowFrom ?? 0) >= 7, "\(b)") }
        // Production is back to the new concept's accuracy on the batch after the change.
        let after = try #require(policy.batches[7].metrics?["accuracy"])
        #expect(after > 0.85, "\(policy.batches[7])")
        #expect(policy.means["accuracy"]! > never.means["accuracy"]! + 0.02)
        #expect(policy.means["accuracy"]! >= every.means["accuracy"]!)
        #expect(policy.trainingRows < every.trainingRows / 3, "\(policy.trainingRows) vs \(every.trainingRows)")
        #expect(policy.rejections == 0)
    }

    @Test("with labels two batches late: batches arrive without labels, their labels join two batches later, the change is retrained on once they do, and every delivered batch before them is estimated")
    func lateLabels() throws {
        let stream = try Stream.abrupt(batches: 12, rows: 600, change: 7)
        defer { stream.remove() }
        let file = try JobFile(windowRows: 2400)
        defer { file.remove() }
        let job = try JobFileDecoder.load(file.path)
        let late = try Backtest(job: job, files: stream.files, label: "sea, labels 2 late", labelDelay: 2).replay(.job)
        let once = try Backtest(job: job, files: stream.files, label: "sea").replay(.job)
        // Nothing to train on until the first labels come with batch 3.
        #expect(late.batches[0].outcome == "no_data" && late.batches[1].outcome == "no_data", "\(late.batches[0...1])")
        #expect(late.batches[2].outcome == "promoted", "\(late.batches[2])")
        // The change at batch 7 shows when its labels arrive with batch 9, not before.
        let confirmed = late.batches.filter(\.change).map(\.batch)
        #expect(confirmed == [9], "\(late.batches.map { "\($0.batch): \($0.reason ?? "")" })")
        // Production was estimated on each batch it scored before the labels came.
        for b in late.batches[3...] { #expect(b.estimated?["accuracy"] != nil, "\(b)") }
        // Late labels cost freshness, never more training.
        #expect(late.means["accuracy"]! <= once.means["accuracy"]!)
        #expect(late.trainingRows <= once.trainingRows * 2)
    }

    @Test("inputs that move while the concept stays are acknowledged: no candidate beyond the first model's warm-up")
    func covariateShift() throws {
        let offsets = (0..<12).map { $0 < 4 ? 0.0 : ($0 < 8 ? 1.5 : -1.5) }
        let stream = try Stream(batches: 12, rows: 600, thresholds: Array(repeating: 10, count: 12), offsets: offsets)
        defer { stream.remove() }
        let file = try JobFile(windowRows: 2400)
        defer { file.remove() }
        let replay = try Backtest(job: try JobFileDecoder.load(file.path), files: stream.files, label: "covariate").replay(.job)
        #expect(replay.rejections == 0)
        let trainedAfterShift = replay.batches[4...].filter { $0.trainingRows > 0 }
        #expect(trainedAfterShift.isEmpty, "\(trainedAfterShift.map { "\($0.batch): \($0.reason ?? "")" })")
        #expect(replay.batches[4].outcome == "shift", "\(replay.batches[4])")
        #expect(replay.batches[8].outcome == "shift", "\(replay.batches[8])")
    }

    @Test("a regression job's concept drift is seen through RMSE: the change is retrained on from the batch where the error rose")
    func regressionChange() throws {
        let stream = try Stream.regression(batches: 10, rows: 500, change: 6)
        defer { stream.remove() }
        let file = try JobFile(name: "price", windowRows: 2000, regression: true)
        defer { file.remove() }
        let backtest = Backtest(job: try JobFileDecoder.load(file.path), files: stream.files, label: "price")
        let policy = try backtest.replay(.job)
        let never = try backtest.replay(.never)
        let change = policy.batches[5]
        #expect(change.change && change.windowFrom == 6, "\(change)")
        #expect(change.reason?.contains("rmse rose") == true, "\(change.reason ?? "")")
        #expect(policy.means["rmse"]! < never.means["rmse"]! / 2, "\(policy.means) vs \(never.means)")
        // Back to the noise's level on the batch after the change.
        #expect(try #require(policy.batches[6].metrics?["rmse"]) < 0.4, "\(policy.batches[6])")
    }

    @Test("a slow drift is followed: production is retrained as its accuracy declines, and stays well ahead of never retraining")
    func gradualDrift() throws {
        // θ moves from 8 to 12 over 16 batches.
        let stream = try Stream(batches: 16, rows: 600, thresholds: (0..<16).map { 8 + 4 * Double($0) / 15 })
        defer { stream.remove() }
        let file = try JobFile(windowRows: 2400)
        defer { file.remove() }
        let backtest = Backtest(job: try JobFileDecoder.load(file.path), files: stream.files, label: "gradual")
        let policy = try backtest.replay(.job)
        let never = try backtest.replay(.never)
        let every = try backtest.replay(.every)
        #expect(policy.batches[8...].contains { $0.trainingRows > 0 }, "no retrain in the second half")
        #expect(policy.means["accuracy"]! > never.means["accuracy"]! + 0.03, "\(policy.means) vs never \(never.means)")
        #expect(policy.means["accuracy"]! >= every.means["accuracy"]! - 0.01, "\(policy.means) vs every \(every.means)")
        #expect(policy.trainingRows < every.trainingRows / 2)
    }

    @Test("the replay leaves the job's own state, incoming directory and deploy path untouched")
    func isolated() throws {
        let stream = try Stream.abrupt(batches: 3, rows: 300, change: 99)
        defer { stream.remove() }
        let file = try JobFile(windowRows: 2400)
        defer { file.remove() }
        let job = try JobFileDecoder.load(file.path)
        let replay = try Backtest(job: job, files: stream.files, label: "sea").replay(.job)
        #expect(replay.versions >= 1)
        #expect(!FileManager.default.fileExists(atPath: job.deploy.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: job.data.incoming).isEmpty)
    }

    @Test("recovery counts batches until a policy is within min_drop of the best level any policy held after the change")
    func recovery() {
        func replay(_ values: [Double]) -> Backtest.Replay {
            Backtest.Replay(
                label: "", policy: "", jobFile: "", means: [:], trainingRows: 0, cpuSeconds: 0, versions: 0, promotions: 0, rejections: 0,
                recovery: [],
                batches: values.enumerated().map { i, v in
                    Backtest.BatchResult(batch: i + 1, file: "", metrics: ["accuracy": v], outcome: "", trainingRows: 0, cpuSeconds: 0, change: false)
                })
        }
        var replays = [
            replay([0.9, 0.9, 0.9, 0.5, 0.8, 0.8, 0.8, 0.8]),  // back one batch after the change at 4
            replay([0.9, 0.9, 0.9, 0.5, 0.5, 0.6, 0.79, 0.8]),  // three batches after
            replay([0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5]),  // never
        ]
        Backtest.recovery(&replays, changes: [4], metric: .accuracy, tolerance: 0.02)
        #expect(replays.map { $0.recovery.first?.batches } == [1, 3, nil])
    }
}
