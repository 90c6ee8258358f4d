import Foundation

/// A moment's calendar fields in UTC, to the millisecond, and their text in the few fixed formats
/// updater writes, all computed with integer arithmetic.
///
/// Foundation's `DateFormatter`, `ISO8601DateFormatter` and `Calendar` load ICU, which then stays
/// resident (about 4.6 MB, issue 18): the daemon makes and reads its own timestamps with this
/// instead. The results are Foundation's, to the bit:
/// - ``init(_:)`` takes the fields Foundation's formatters print: CoreFoundation turns a date into
///   `(t + 978307200) * 1000 + 0.5` milliseconds (t since 2001), ICU floors that and splits it into
///   days and milliseconds of the day; the day is then a date of the Gregorian calendar.
/// - ``date`` is the date `Calendar(identifier: .gregorian)` in UTC makes of the fields (what GRDB
///   reads a stored date with): the day's start, plus the seconds of the day, plus the nanoseconds
///   over 1e9, in that order of floating-point operations.
///
/// Only years 1583...9999 are handled: before that Foundation's calendars switch to the Julian
/// calendar, and from 10000 on `yyyy` has five digits. Outside them, and for a date that is not
/// finite, the initialisers return nil and callers fall back on Foundation.
package struct UTCTime: Sendable, Equatable {
    package var year: Int
    /// 1...12.
    package var month: Int
    package var day: Int
    package var hour: Int
    package var minute: Int
    package var second: Int
    package var millisecond: Int

    package static let years = 1583...9999

    /// Fields that name a moment (nil when one is out of range, such as February 30 or a leap second).
    package init?(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int = 0) {
        guard Self.years.contains(year), (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year),
            (0..<24).contains(hour), (0..<60).contains(minute), (0..<60).contains(second), (0..<1000).contains(millisecond)
        else { return nil }
        (self.year, self.month, self.day) = (year, month, day)
        (self.hour, self.minute, self.second, self.millisecond) = (hour, minute, second, millisecond)
    }

    /// The fields Foundation's formatters (in UTC, en_US_POSIX) print for `date`.
    package init?(_ date: Date) {
        // CFDateFormatterCreateStringWithAbsoluteTime: UDate = (at + kCFAbsoluteTimeIntervalSince1970) * 1000.0 + 0.5;
        // ICU's Calendar::computeFields: days = floor(millis / kOneDay), millisInDay = (int32_t)(millis - days * kOneDay).
        let millis = (date.timeIntervalSinceReferenceDate + 978_307_200.0) * 1000.0 + 0.5
        guard millis.isFinite, abs(millis) < 1e15 else { return nil }
        let days = (millis / 86_400_000).rounded(.down)
        let inDay = Int(millis - days * 86_400_000)
        guard (0..<86_400_000).contains(inDay) else { return nil }
        let (year, month, day) = Self.civil(daysSince1970: Int(days))
        self.init(
            year: year, month: month, day: day, hour: inDay / 3_600_000, minute: inDay / 60_000 % 60, second: inDay / 1000 % 60,
            millisecond: inDay % 1000)
    }

    /// The date `Calendar(identifier: .gregorian)` in UTC makes of these fields (with the
    /// milliseconds as nanoseconds), as GRDB reads a stored date.
    package var date: Date {
        // _CalendarGregorian.date(from:): Date(julianDay:) - 43200 (the day's start, a whole number of
        // seconds, exact) + secondsInDay, where secondsInDay = hour * 3600 + minute * 60 + second
        // (exact) + Double(nanosecond) / 1e9.
        let dayStart = Double((Self.daysSince1970(year: year, month: month, day: day) - 11_323) * 86_400)  // 11323: 1970-01-01 to 2001-01-01
        let secondsInDay = Double(hour * 3600 + minute * 60 + second) + Double(millisecond * 1_000_000) / Double(1_000_000_000)
        return Date(timeIntervalSinceReferenceDate: dayStart + secondsInDay)
    }

    /// `2026-11-29 03:00:12.345`: GRDB's text of a stored date ("yyyy-MM-dd HH:mm:ss.SSS").
    package var databaseText: String { text(separator: UInt8(ascii: " "), milliseconds: true, zulu: false) }

    /// `2026-11-29T03:00:12Z`: what `ISO8601DateFormatter()` (its default options, GMT) prints.
    package var iso8601: String { text(separator: UInt8(ascii: "T"), milliseconds: false, zulu: true) }

    /// `2026-11-29T03:00:12.345Z`: what `ISO8601DateFormatter` with `.withFractionalSeconds` prints in UTC.
    package var iso8601WithMilliseconds: String { text(separator: UInt8(ascii: "T"), milliseconds: true, zulu: true) }

    /// Reads `yyyy-MM-dd HH:mm:ss` with an optional fraction of one to three digits (`.5`, `.25`,
    /// `.125`), the date and time separated by a space or a `T`: the forms GRDB and SQLite's
    /// `datetime()` write. Nil for anything else (a time zone, a fourth fraction digit, a date
    /// alone, a field out of range), which callers leave to GRDB's own parser.
    package init?(databaseText text: String) {
        let b = Array(text.utf8)
        guard b.count == 19 || (21...23).contains(b.count), b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            b[10] == UInt8(ascii: " ") || b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            b.count == 19 || b[19] == UInt8(ascii: ".")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var n = 0
            for i in range {
                guard b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else { return nil }
                n = n * 10 + Int(b[i] - UInt8(ascii: "0"))
            }
            return n
        }
        // One digit is tenths, two hundredths (as GRDB reads them).
        let digits = max(0, b.count - 20)
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), let fraction = number(20..<(20 + digits))
        else { return nil }
        let millisecond = digits == 0 ? 0 : fraction * [1, 100, 10, 1][digits]
        self.init(year: year, month: month, day: day, hour: hour, minute: minute, second: second, millisecond: millisecond)
    }

    // MARK: Internals

    private func text(separator: UInt8, milliseconds: Bool, zulu: Bool) -> String {
        var b: [UInt8] = []
        b.reserveCapacity(24)
        Self.append(year, digits: 4, to: &b)
        b.append(UInt8(ascii: "-"))
        Self.append(month, digits: 2, to: &b)
        b.append(UInt8(ascii: "-"))
        Self.append(day, digits: 2, to: &b)
        b.append(separator)
        Self.append(hour, digits: 2, to: &b)
        b.append(UInt8(ascii: ":"))
        Self.append(minute, digits: 2, to: &b)
        b.append(UInt8(ascii: ":"))
        Self.append(second, digits: 2, to: &b)
        if milliseconds {
            b.append(UInt8(ascii: "."))
            Self.append(millisecond, digits: 3, to: &b)
        }
        if zulu { b.append(UInt8(ascii: "Z")) }
        return String(decoding: b, as: UTF8.self)
    }

    /// `value` (0 ≤ value < 10^digits) in `digits` decimal digits, zero-padded.
    private static func append(_ value: Int, digits: Int, to b: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<digits { divisor *= 10 }
        while divisor > 0 {
            b.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's
    /// days_from_civil: years counted from March, so that the leap day ends them).
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date `days` days after 1970-01-01 (H. Hinnant's civil_from_days).
    static func civil(daysSince1970 days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let marchMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * marchMonth + 2) / 5 + 1
        let month = marchMonth < 10 ? marchMonth + 3 : marchMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
