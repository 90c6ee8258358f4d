import Foundation
@testable import Registry
import Synchronization
import Testing

@testable import Trainers

@Suite("The training engine")
struct TrainingEngineTests {
    func registry() throws -> (Registry, Int64, String) {
        let dir = NSTemporaryDirectory() + "updater-engine-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let r = try Registry(path: dir + "/registry.sqlite")
        try r.upsertJob(name: "j", filePath: "/j.toml", fileHash: "h", deployPath: "/tmp/j.model")
        let id = try r.write { db in
            var run = RunRecord(id: nil, job: "j", trigger: "manual", state: .running, jobFileHash: "h", createdAt: Date())
            try run.insert(db)
            return run.id!
        }
        return (r, id, dir)
    }

    /// Loops until told to stop (bounded at 10 s) and returns the reason.
    func waitForStop(_ stop: () -> String?) -> String? {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let reason = stop() { return reason }
            usleep(5_000)
        }
        return nil
    }

    @Test("a training is stopped at its time limit, and its cost is measured")
    func timeLimit() throws {
        let (r, run, _) = try registry()
        let engine = TrainingEngine(concurrency: 1)
        let (reason, usage) = try engine.train(timeLimit: 0.2, cancelledBy: { try? r.cancelRequest(run: run) }) { stop in waitForStop(stop) }
        #expect(reason == "time limit of 0s reached" || reason?.hasPrefix("time limit") == true)
        #expect(usage.wallSeconds >= 0.2)
        #expect(usage.peakMemoryBytes > 0)
    }

    @Test("updater cancel reaches a running training within a second, naming who asked")
    func cancellation() throws {
        let (r, run, _) = try registry()
        let engine = TrainingEngine(concurrency: 1)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { _ = try? r.requestCancel(run: run, actor: "alice") }
        let (reason, _) = try engine.train(timeLimit: 60, cancelledBy: { try? r.cancelRequest(run: run) }) { stop in waitForStop(stop) }
        #expect(reason == "cancelled by alice")
    }

    @Test("a shutdown stops every training at its next check")
    func shutdown() throws {
        let (r, run, _) = try registry()
        let engine = TrainingEngine(concurrency: 1)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { engine.shutdown() }
        let (reason, _) = try engine.train(timeLimit: 60, cancelledBy: { try? r.cancelRequest(run: run) }) { stop in waitForStop(stop) }
        #expect(reason == "updater is shutting down")
    }

    @Test("no more trainings run at once than the engine's limit")
    func concurrencyLimit() throws {
        let (r, run, _) = try registry()
        let engine = TrainingEngine(concurrency: 2)
        let active = Mutex(0), peak = Mutex(0)
        let group = DispatchGroup()
        // Six threads that all want to train at once; only two may.
        for _ in 0..<6 {
            group.enter()
            Thread.detachNewThread {
                _ = try? engine.train(timeLimit: 60, cancelledBy: { nil }) { _ in
                    let now = active.withLock { $0 += 1; return $0 }
                    peak.withLock { $0 = max($0, now) }
                    usleep(100_000)
                    active.withLock { $0 -= 1 }
                }
                group.leave()
            }
        }
        group.wait()
        #expect(peak.withLock { $0 } <= 2)
        #expect(peak.withLock { $0 } >= 1)
    }
}
