import Foundation
import Synchronization
import Testing

@testable import Cycle
import JobFiles
import Registry
import Support
import Trainers

/// One job's cycle in process, on an in-memory registry, with the clock a test sets.
@Suite("The update cycle, in process")
struct InProcessCycleTests {
    @Test("every time a run records comes from the injected clock; production's performance is recorded per served batch")
    func injectedClock() throws {
        let stream = try Stream.abrupt(batches: 2, rows: 500, change: 99)
        defer { stream.remove() }
        let file = try JobFile(windowRows: 5000, extra: "warm_up_growth = 10")
        defer { file.remove() }
        let job = try JobFileDecoder.load(file.path)
        let state = StateDirectory(path: file.directory + "/state")
        let registry = try Registry.inMemory()
        let now = Mutex(Date(timeIntervalSince1970: 1_900_000_000))
        var cycle = UpdateCycle(registry: registry, state: state, log: .silent, engine: TrainingEngine(concurrency: 1))
        cycle.clock = WallClock { now.withLock { $0 } }

        try FileManager.default.copyItem(atPath: stream.files[0], toPath: job.data.incoming + "/b1.csv")
        let first = cycle.run(job)
        #expect(first.kind == .promoted, "\(first)")
        let id1 = try #require(first.runID)
        let run1 = try #require(try registry.run(id1))
        #expect(run1.createdAt == Date(timeIntervalSince1970: 1_900_000_000) && run1.finishedAt == run1.createdAt)
        #expect(try registry.history(of: job.name).first?.at == run1.createdAt)

        now.withLock { $0 = $0.addingTimeInterval(3600) }
        try FileManager.default.copyItem(atPath: stream.files[1], toPath: job.data.incoming + "/b2.csv")
        let second = cycle.run(job)
        #expect([.noDrift, .shift].contains(second.kind), "\(second)")
        let served = try registry.servedBatches(job: job.name)
        #expect(served.count == 1)
        #expect(served.first?.at == Date(timeIntervalSince1970: 1_900_003_600))
        #expect(served.first?.version == 1 && served.first?.rows == 500 && served.first?.metric == "accuracy")
        #expect((served.first?.value ?? 0) > 0.8, "\(served)")
        #expect(try registry.batches(of: job.name).first { $0.id == 2 }?.firstSeenAt == Date(timeIntervalSince1970: 1_900_003_600))
    }
}
