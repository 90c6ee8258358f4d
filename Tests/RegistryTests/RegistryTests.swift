import Foundation
import GRDB
import Testing

@testable import Registry

/// A fresh temporary directory per test, removed afterwards.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "updater-registry-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite("The SQLite registry")
struct RegistryTests {
    let dir = TempDir()
    var dbPath: String { dir.path + "/registry.sqlite" }

    func seeded() throws -> Registry {
        let r = try Registry(path: dbPath)
        try r.upsertJob(name: "churn", filePath: "/jobs/churn.toml", fileHash: "h1", deployPath: "/srv/churn.model")
        return r
    }

    @Test("a new database is migrated from empty to the current schema, in WAL mode with foreign keys on")
    func migratesFromEmpty() throws {
        let r = try Registry(path: dbPath)
        #expect(try r.schemaVersions() == ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17"])
        let (mode, fk) = try r.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(mode == "wal")
        #expect(fk == 1)
        let tables = try r.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
        for t in ["job", "run", "batch", "incoming_file", "model_version", "gate_result", "production_event", "request", "online_detector"] {
            #expect(tables.contains(t), "\(t)")
        }
    }

    @Test("an older database's runs are numbered per job, in the order they ran; new runs continue each job's count")
    func runNumbersBackfilled() throws {
        let queue = try DatabaseQueue(path: dbPath)
        try Schema.migrator.migrate(queue, upTo: "v12")
        try queue.write { db in
            let now = Date()
            for job in ["a", "b"] {
                try db.execute(sql: "INSERT INTO job (name, file_path, file_hash, deploy_path, created_at, updated_at) VALUES (?, '/j', 'h', '/d', ?, ?)", arguments: [job, now, now])
            }
            for (id, job) in [(1, "a"), (2, "b"), (3, "a"), (5, "b"), (8, "a")] {
                try db.execute(sql: "INSERT INTO run (id, job, trigger, state, job_file_hash, created_at) VALUES (?, ?, 'new_data', 'succeeded', 'h', ?)", arguments: [id, job, now])
            }
        }
        try queue.close()
        let r = try Registry(path: dbPath)
        #expect(try [1, 3, 8].map { try r.run(Int64($0))?.number } == [1, 2, 3])
        #expect(try [2, 5].map { try r.run(Int64($0))?.number } == [1, 2])
        let next = try r.startRun(RunRecord(job: "b", trigger: "manual", state: .running, jobFileHash: "h", createdAt: Date()), requests: [], batches: []) { number in
            WebhookEventRecord(type: "run.started", job: "b", data: .object(["run": .int(number)]))
        }
        #expect(next.number == 3)
        #expect(try r.run(job: "b", number: 3)?.id == next.id)
    }

    @Test("an older database's absolute paths inside the state directory become relative, and read back under the current directory")
    func pathsBecomeRelative() throws {
        let queue = try DatabaseQueue(path: dbPath)
        try Schema.migrator.migrate(queue, upTo: "v8")
        try queue.write { db in
            let now = Date()
            try db.execute(sql: "INSERT INTO job (name, file_path, file_hash, deploy_path, created_at, updated_at) VALUES ('churn', '/j', 'h', '/d', ?, ?)", arguments: [now, now])
            try db.execute(sql: """
                INSERT INTO run (id, job, trigger, state, job_file_hash, created_at, log_path)
                VALUES (4, 'churn', 'new_data', 'succeeded', 'h', ?, '/old/state/runs/churn/4/run.log')
                """, arguments: [now])
            try db.execute(sql: """
                INSERT INTO model_version (job, version, run_id, mode, generation, training_rows, data_fingerprint, job_file_hash,
                    metrics, artifact_path, artifact_sha256, reference, status, created_at)
                VALUES ('churn', 3, 4, 'full', 0, 10, 'f', 'h', '{}', '/old/state/models/churn/v3.model', 's', '{}', 'passed', ?),
                       ('churn', 5, 4, 'full', 0, 10, 'f', 'h', '{}', '/elsewhere/own.model', 's', '{}', 'passed', ?)
                """, arguments: [now, now])
            try db.execute(sql: """
                INSERT INTO batch (job, path, stored_path, size, sha256, first_seen_at, status)
                VALUES ('churn', '/in/b.csv', '/old/state/batches/churn/abc.csv', 1, 'abc', ?, 'consumed')
                """, arguments: [now])
        }
        try queue.close()
        let r = try Registry(path: dbPath)
        #expect(try r.version("churn", 3)?.artifactPath == dir.path + "/models/churn/v3.model")
        #expect(try r.version("churn", 5)?.artifactPath == "/elsewhere/own.model", "a path outside the layout is kept")
        #expect(try r.batches(of: "churn").first?.storedPath == dir.path + "/batches/churn/abc.csv")
        #expect(try r.run(4)?.logPath == dir.path + "/runs/churn/4/run.log")
        let stored = try r.read { db in try String.fetchOne(db, sql: "SELECT artifact_path FROM model_version WHERE version = 3") }
        #expect(stored == "models/churn/v3.model")
        #expect(try !r.stateID().isEmpty)
    }

    @Test("reopening keeps what was recorded")
    func reopenKeepsData() throws {
        _ = try seeded()
        let again = try Registry(path: dbPath)
        #expect(try again.job("churn")?.deployPath == "/srv/churn.model")
    }

    @Test("a database written by a newer updater is refused with a clear message and left untouched")
    func newerSchemaRefused() throws {
        _ = try seeded()
        let queue = try DatabaseQueue(path: dbPath)
        try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        try queue.close()
        #expect {
            _ = try Registry(path: dbPath)
        } throws: { error in
            "\(error)".contains("written by a newer updater") && "\(error)".contains("v99")
        }
        let check = try DatabaseQueue(path: dbPath)
        #expect(try check.read { db in try String.fetchOne(db, sql: "SELECT name FROM job") } == "churn")
    }

    @Test("the production history is append-only: updates and deletes are refused by the database")
    func historyIsAppendOnly() throws {
        let r = try seeded()
        _ = try r.moveProduction(job: "churn", to: 1, action: .promote, actor: "t", reason: "r") {}
        #expect(throws: (any Error).self) {
            try r.write { db in try db.execute(sql: "UPDATE production_event SET to_version = 7") }
        }
        #expect(throws: (any Error).self) {
            try r.write { db in try db.execute(sql: "DELETE FROM production_event") }
        }
        #expect(try r.history(of: "churn").map(\.toVersion) == [1])
    }

    @Test("moving production records pointer and event together; a failed publish records neither")
    func moveProductionIsAtomic() throws {
        let r = try seeded()
        _ = try r.moveProduction(job: "churn", to: 1, action: .promote, actor: "t", reason: "first") {}
        struct PublishFailed: Error {}
        #expect(throws: PublishFailed.self) {
            _ = try r.moveProduction(job: "churn", to: 2, action: .promote, actor: "t", reason: "second") { throw PublishFailed() }
        }
        #expect(try r.job("churn")?.productionVersion == 1)
        #expect(try r.history(of: "churn").count == 1)
    }

    @Test("a move that expects another production version than the current one changes nothing")
    func expectedFromGuards() throws {
        let r = try seeded()
        _ = try r.moveProduction(job: "churn", to: 1, action: .promote, actor: "t", reason: "first") {}
        #expect(throws: RegistryError.self) {
            _ = try r.moveProduction(job: "churn", to: 2, action: .rollback, actor: "t", reason: "x", expectedFrom: .some(5)) {}
        }
        #expect(try r.job("churn")?.productionVersion == 1)
    }

    @Test("a file with content already registered is the same batch, under any name")
    func batchRegisteredOnceByContent() throws {
        let r = try seeded()
        let first = try r.registerFile(job: "churn", path: "/in/a.csv", size: 10, mtimeNs: 1, sha256: "abc", storedPath: "/s/abc.csv")
        let again = try r.registerFile(job: "churn", path: "/in/copy.csv", size: 10, mtimeNs: 2, sha256: "abc", storedPath: "/s/abc.csv")
        #expect(first.isNew)
        #expect(!again.isNew)
        #expect(again.batch.id == first.batch.id)
        #expect(try r.pendingBatches(job: "churn").count == 1)
        #expect(try r.isKnownFile(job: "churn", path: "/in/copy.csv", size: 10, mtimeNs: 2))
        #expect(try !r.isKnownFile(job: "churn", path: "/in/copy.csv", size: 10, mtimeNs: 3))
    }
}
