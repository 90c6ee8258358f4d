import Foundation
import GRDB
import Testing

@testable import Registry

/// Dates across the years the registry meets, with fractions of a millisecond (rounded when
/// stored: half a millisecond up, into the next second and the next day), leap days and the ends of
/// the range handled by hand; GRDB's and Foundation's own conversions are the reference.
private let dates: [Date] = {
    var out: [Date] = [
        Date(timeIntervalSince1970: 0),
        Date(timeIntervalSinceReferenceDate: 0),
        Date(timeIntervalSinceReferenceDate: -0.0004),
        Date(timeIntervalSince1970: 1_700_000_000.123),
        Date(timeIntervalSince1970: 1_700_000_000.1235),
        Date(timeIntervalSince1970: 1_700_000_000.1236),
        Date(timeIntervalSince1970: 1_700_000_000.9996),
        Date(timeIntervalSince1970: 86_399.9996),
        Date(timeIntervalSince1970: 951_782_400.5),  // 2000-02-29
        Date(timeIntervalSince1970: 4_107_542_399.999),  // 2100-02-28 23:59:59.999, not a leap year
        Date(timeIntervalSince1970: -5_000_000_000.25),  // 1811
        Date(timeIntervalSince1970: -12_212_553_600),  // 1583-01-01, the first day handled by hand
        Date(timeIntervalSince1970: 253_402_300_799.999),  // 9999-12-31 23:59:59.999, the last
        Date(timeIntervalSince1970: -12_212_553_600.001),  // before: Foundation's
        Date(timeIntervalSince1970: 253_402_300_800),  // year 10000: Foundation's
        Date(),
    ]
    // Any fraction, from 1811 to 2295.
    for k in 0..<3000 { out.append(Date(timeIntervalSince1970: -5e9 + Double(k) * 5_123_456.789_012_3)) }
    // Whole milliseconds, as a date read back from the registry has.
    for k in 0..<3000 { out.append(Date(timeIntervalSince1970: Double(1_600_000_000_000 + Int64(k) * 86_400_123) / 1000)) }
    return out
}()

/// Whether `Record` reads its dates through ``StoredDate`` (the witness chosen for its conformance).
private func readsByHand<Record: FetchableRecord>(_: Record.Type) -> Bool {
    if case .custom = Record.databaseDateDecodingStrategy(for: "at") { return true }
    return false
}

/// Whether `Record` also stores its dates through ``StoredDate``.
private func byHand<Record: FetchableRecord & EncodableRecord>(_: Record.Type) -> Bool {
    guard readsByHand(Record.self) else { return false }
    if case .custom = Record.databaseDateEncodingStrategy(for: "at") { return true }
    return false
}

@Suite("Dates in the registry, made and read without ICU")
struct StoredDateTests {
    @Test("the text stored is GRDB's, byte for byte")
    func text() {
        for date in dates {
            #expect(StoredDate.databaseValue(date) == date.databaseValue, "\(date.timeIntervalSinceReferenceDate)")
        }
        #expect(StoredDate.databaseValue(Date(timeIntervalSince1970: 1_700_000_000.1236)) == "2023-11-14 22:13:20.124".databaseValue)
        #expect(StoredDate.databaseValue(Date(timeIntervalSince1970: 86_399.9996)) == "1970-01-02 00:00:00.000".databaseValue)
    }

    @Test("the date read is GRDB's, bit for bit, from the text it stores and from the other forms it reads")
    func reading() {
        for date in dates {
            let stored = date.databaseValue
            #expect(StoredDate.date(stored) == Date.fromDatabaseValue(stored), "\(stored)")
            // Read back and stored again: the same text (GRDB reads no year of five digits).
            if let read = StoredDate.date(stored) { #expect(StoredDate.databaseValue(read) == stored, "\(stored)") }
        }
        let others: [DatabaseValue] = [
            "2024-01-02 03:04:05".databaseValue, "2024-01-02T03:04:05.5".databaseValue, "2024-01-02 03:04:05.12".databaseValue,
            "2024-02-29 23:59:59.999".databaseValue, "2024-01-02".databaseValue, "2024-01-02 03:04".databaseValue,
            "2024-01-02 03:04:05.1234".databaseValue, "2024-01-02T03:04:05Z".databaseValue, "2024-01-02 03:04:05.123+02:00".databaseValue,
            "1500-06-01 12:00:00.000".databaseValue, "2023-02-29 00:00:00".databaseValue, "2024-01-02 24:00:00".databaseValue,
            "03:04:05".databaseValue, "not a date".databaseValue, "".databaseValue, 1_700_000_000.databaseValue,
            1_700_000_000.25.databaseValue, DatabaseValue.null,
        ]
        for value in others {
            #expect(StoredDate.date(value) == Date.fromDatabaseValue(value), "\(value)")
        }
    }

    @Test("every record type stores and reads its dates by hand")
    func records() {
        #expect(byHand(JobRecord.self) && byHand(BatchRecord.self) && byHand(RunRecord.self) && byHand(VersionRecord.self))
        #expect(byHand(GateResultRecord.self) && byHand(ProductionEvent.self) && byHand(RequestRecord.self))
        #expect(byHand(OnlineDetectorRecord.self) && byHand(PauseRecord.self) && byHand(JobFileProblemRecord.self))
        #expect(byHand(ServedBatchRecord.self) && byHand(ConceptChangeRecord.self) && byHand(DriftBaselineRecord.self))
        #expect(byHand(BatchActionRecord.self) && byHand(DeployHookRecord.self) && byHand(PredictionRecord.self))
        #expect(byHand(LabelFileRecord.self) && byHand(EstimatedBatchRecord.self) && readsByHand(RealizedBatch.self))
        #expect(byHand(WebhookEventRecord.self) && byHand(WebhookDeliveryRecord.self) && byHand(WebhookEndpointStateRecord.self))
    }

    @Test("a record's date is stored as GRDB's text and read back as GRDB reads it")
    func throughTheRegistry() throws {
        let registry = try Registry.inMemory()
        let at = Date(timeIntervalSince1970: 1_700_000_000.1236)
        try registry.upsertJob(name: "churn", filePath: "/jobs/churn.toml", fileHash: "h", deployPath: "/srv/churn.model", now: at)
        let text = try registry.read { db in try String.fetchOne(db, sql: "SELECT created_at FROM job WHERE name = 'churn'") }
        #expect(text == "2023-11-14 22:13:20.124")
        #expect(try registry.job("churn")?.createdAt == Date.fromDatabaseValue("2023-11-14 22:13:20.124".databaseValue))
        // A date written by raw SQL and read back the same way.
        try registry.setCycleProblem(job: "churn", message: "stuck", now: at)
        #expect(try registry.cycleProblems()["churn"]?.since == Date.fromDatabaseValue("2023-11-14 22:13:20.124".databaseValue))
    }

    @Test("the database pool reads with at most two connections")
    func readers() throws {
        let dir = TempDir()
        let registry = try Registry(path: dir.path + "/registry.sqlite")
        #expect(registry.db.configuration.maximumReaderCount == 2)
    }
}

@Suite("UTC times by hand")
struct UTCTimeTests {
    @Test("ISO 8601 text as ISO8601DateFormatter makes it, with and without milliseconds")
    func iso8601() {
        let plain = ISO8601DateFormatter()
        let precise = ISO8601DateFormatter()
        precise.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        precise.timeZone = TimeZone(identifier: "UTC")
        for date in dates {
            guard let time = UTCTime(date) else { continue }
            #expect(time.iso8601 == plain.string(from: date), "\(date.timeIntervalSinceReferenceDate)")
            #expect(time.iso8601WithMilliseconds == precise.string(from: date), "\(date.timeIntervalSinceReferenceDate)")
            #expect(WebhookEventRecord.timestamp(date) == precise.string(from: date))
        }
        #expect(UTCTime(Date(timeIntervalSince1970: 1_700_000_000.9996))?.iso8601WithMilliseconds == "2023-11-14T22:13:21.000Z")
    }

    @Test("only years 1583...9999 and real fields; other text is left to GRDB")
    func limits() {
        #expect(UTCTime(Date(timeIntervalSince1970: -12_212_553_600.001)) == nil)
        #expect(UTCTime(Date(timeIntervalSince1970: 253_402_300_800)) == nil)
        #expect(UTCTime(Date(timeIntervalSinceReferenceDate: .infinity)) == nil)
        #expect(UTCTime(Date(timeIntervalSinceReferenceDate: .nan)) == nil)
        #expect(UTCTime(databaseText: "2024-02-29 23:59:59.999") == UTCTime(year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 59, millisecond: 999))
        #expect(UTCTime(databaseText: "2024-01-02T03:04:05.5")?.millisecond == 500)
        #expect(UTCTime(databaseText: "2024-01-02 03:04:05.05")?.millisecond == 50)
        for text in [
            "2023-02-29 00:00:00", "2024-13-01 00:00:00", "2024-00-01 00:00:00", "2024-01-01 24:00:00", "2024-01-01 00:60:00",
            "2024-01-01 00:00:60", "2024-01-01 00:00:00.", "2024-01-01 00:00:00.1234", "2024-01-01 00:00:00Z", "1582-12-31 23:59:59",
            "2024-01-01", "2024-01-01 00:00", " 2024-01-01 00:00:00", "2024-01-01 00:00:0a", "2024/01/01 00:00:00", "",
        ] {
            #expect(UTCTime(databaseText: text) == nil, "\(text)")
        }
    }
}
