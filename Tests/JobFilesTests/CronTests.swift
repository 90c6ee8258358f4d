import Foundation
import Testing

@testable import JobFiles

@Suite("Cron schedules")
struct CronTests {
    /// `text` (ISO 8601 with offset) as a date.
    func at(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    func next(_ cron: String, after: String, zone: String = "UTC") throws -> String? {
        let c = try CronSchedule(cron)
        let tz = TimeZone(identifier: zone)!
        guard let d = c.next(after: at(after), in: tz) else { return nil }
        let f = ISO8601DateFormatter()
        f.timeZone = tz
        return f.string(from: d)
    }

    @Test("fields: values, ranges, steps, lists, names, Sunday as 0 or 7")
    func fields() throws {
        let c = try CronSchedule("*/15 9-17/4 1,15 jan-mar mon-fri")
        #expect(c.minutes == [0, 15, 30, 45])
        #expect(c.hours == [9, 13, 17])
        #expect(c.days == [1, 15])
        #expect(c.months == [1, 2, 3])
        #expect(c.weekdays == [1, 2, 3, 4, 5])
        #expect(try CronSchedule("0 0 * * 7").weekdays == [0])
        #expect(try CronSchedule("0 0 * * 5/1").weekdays == [5, 6, 0])
    }

    @Test("bad expressions name the field and the problem")
    func errors() {
        #expect(throws: CronError("expected 5 fields (minute hour day-of-month month day-of-week), got 4")) { try CronSchedule("0 3 * *") }
        #expect(throws: CronError("minute \"60\": \"60\" is not in 0–59")) { try CronSchedule("60 * * * *") }
        #expect(throws: CronError("hour \"5-2\": the range 5-2 is backwards")) { try CronSchedule("0 5-2 * * *") }
        #expect(throws: CronError("day of month \"*/0\": the step \"0\" must be a whole number ≥ 1")) { try CronSchedule("0 0 */0 * *") }
        #expect(throws: CronError("month \"foo\": \"foo\" is not in 1–12")) { try CronSchedule("0 0 1 foo *") }
        #expect(throws: CronError("day of week \"1,,2\": \"\" is not a value, range or step")) { try CronSchedule("0 0 * * 1,,2") }
    }

    @Test("the next time is strictly after, at a minute boundary")
    func nextTimes() throws {
        #expect(try next("0 3 * * *", after: "2026-11-29T03:00:00Z") == "2026-11-30T03:00:00Z")
        #expect(try next("0 3 * * *", after: "2026-11-29T02:59:30Z") == "2026-11-29T03:00:00Z")
        #expect(try next("*/20 * * * *", after: "2026-11-29T23:50:00Z") == "2026-11-30T00:00:00Z")
        // 2026-11-29 is a Sunday; the next Monday 09:30.
        #expect(try next("30 9 * * mon", after: "2026-11-29T12:00:00Z") == "2026-11-30T09:30:00Z")
        // Both day fields restricted: either matches (the 1st, or a Friday).
        #expect(try next("0 0 1 * fri", after: "2026-11-29T12:00:00Z") == "2026-12-01T00:00:00Z")
        #expect(try next("0 0 1 * fri", after: "2026-12-01T12:00:00Z") == "2026-12-04T00:00:00Z")
        #expect(try next("0 0 29 2 *", after: "2026-03-01T00:00:00Z") == "2028-02-29T00:00:00Z")
        #expect(try next("0 0 30 2 *", after: "2026-03-01T00:00:00Z") == nil)
        #expect(try next("0 12 31 12 *", after: "2026-12-31T12:00:00Z") == "2027-12-31T12:00:00Z")
    }

    @Test("the job's time zone: local wall-clock times, including a half-hour offset")
    func timeZones() throws {
        #expect(try next("0 3 * * *", after: "2026-11-29T00:00:00Z", zone: "Europe/Berlin") == "2026-11-29T03:00:00+01:00")
        #expect(try next("0 3 * * *", after: "2026-11-29T02:00:00Z", zone: "Europe/Berlin") == "2026-11-30T03:00:00+01:00")
        #expect(try next("0 3 * * *", after: "2026-07-01T00:00:00Z", zone: "Europe/Berlin") == "2026-07-01T03:00:00+02:00")
        #expect(try next("15 * * * *", after: "2026-11-29T10:20:00Z", zone: "Asia/Kolkata") == "2026-11-29T16:15:00+05:30")
    }

    @Test("daylight saving: a skipped local time does not occur, a repeated one fires once")
    func daylightSaving() throws {
        // Berlin springs forward on 2026-03-29 at 02:00 → 03:00: 02:30 does not exist that day.
        #expect(try next("30 2 * * *", after: "2026-03-28T02:00:00Z", zone: "Europe/Berlin") == "2026-03-30T02:30:00+02:00")
        // Berlin falls back on 2026-10-25 at 03:00 → 02:00: 02:30 occurs twice, fires at the first.
        let first = try next("30 2 * * *", after: "2026-10-24T12:00:00Z", zone: "Europe/Berlin")
        #expect(first == "2026-10-25T02:30:00+02:00")
        #expect(try next("30 2 * * *", after: "2026-10-25T00:30:00Z", zone: "Europe/Berlin") == "2026-10-26T02:30:00+01:00")
        // An every-hour job fires in both passes of the repeated hour.
        #expect(try next("0 * * * *", after: "2026-10-25T00:30:00Z", zone: "Europe/Berlin") == "2026-10-25T02:00:00+01:00")
    }
}
