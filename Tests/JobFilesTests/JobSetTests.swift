import Foundation
import Testing

@testable import JobFiles

@Suite("A jobs directory")
struct JobSetTests {
    /// A job file reading from `incoming` and publishing to `deploy` (both relative to the directory).
    func job(incoming: String, deploy: String) -> String {
        """
        [data]
        incoming = "\(incoming)"
        label = "y"

        [deploy]
        path = "\(deploy)"

        """
    }

    @Test("a deploy path inside another job's incoming directory is refused, also through a link; the other jobs load")
    func deployIntoIncoming() throws {
        let dir = try JobDir()
        for name in ["a-in", "b-in", "c-in", "d-in", "out"] { try dir.mkdir(name) }
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/to-a", withDestinationPath: dir.path + "/a-in")
        try dir.write(job(incoming: "a-in", deploy: "out/a.model"), as: "a.toml")
        try dir.write(job(incoming: "b-in", deploy: "a-in/b.model"), as: "b.toml")
        try dir.write(job(incoming: "c-in", deploy: "to-a/c.model"), as: "c.toml")
        try dir.write(job(incoming: "d-in", deploy: "out/d.model"), as: "d.toml")
        let set = try JobSet.load(directory: dir.path)
        #expect(set.jobs.map(\.name) == ["a", "d"])
        let problems = set.invalid.map(\.description)
        #expect(problems.count == 2, "\(problems)")
        #expect(problems.contains { $0.contains("b.toml") && $0.contains("a-in/b.model is inside the incoming directory of job a") }, "\(problems)")
        #expect(problems.contains { $0.contains("c.toml") && $0.contains("to-a/c.model is inside the incoming directory of job a") }, "\(problems)")
    }

    @Test("a job's own incoming directory is not another's; two jobs on one deploy path are refused")
    func ownIncomingAndSharedDeploy() throws {
        let dir = try JobDir()
        for name in ["a-in", "b-in", "out"] { try dir.mkdir(name) }
        // a's deploy path sits beside its incoming directory, not in another job's.
        try dir.write(job(incoming: "a-in", deploy: "out/model"), as: "a.toml")
        try dir.write(job(incoming: "b-in", deploy: "out/model"), as: "b.toml")
        let set = try JobSet.load(directory: dir.path)
        #expect(set.jobs.map(\.name) == ["a"])
        #expect(set.invalid.map(\.description).contains { $0.contains("is already the deploy path of job a") }, "\(set.invalid)")
    }

    @Test("the system's time zone is looked up only when a cron schedule asks for it")
    func lazyTimeZone() throws {
        #expect(ScheduleSettings().zone == nil)
        #expect(ScheduleSettings().timeZone == TimeZone.current)
        var s = ScheduleSettings()
        s.timeZone = TimeZone(identifier: "Europe/Berlin")!
        #expect(s.zone?.identifier == "Europe/Berlin")
        #expect(s != ScheduleSettings())
        let dir = try JobDir()
        let plain = try dir.load(job(incoming: "incoming", deploy: "model.bin"))
        #expect(plain.schedule.zone == nil)
    }
}
