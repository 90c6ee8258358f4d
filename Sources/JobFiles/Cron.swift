import Foundation

/// A five-field cron expression, as Vixie cron / cronie read it: `minute hour day-of-month month
/// day-of-week`, each `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of
/// those; months and weekdays also by their English three-letter names; weekday 0 and 7 are
/// Sunday. When both day fields are restricted a day matches if either does (cron's rule).
package struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    package let minutes: Set<Int>
    package let hours: Set<Int>
    package let days: Set<Int>
    package let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday.
    package let weekdays: Set<Int>
    let dayRestricted: Bool
    let weekdayRestricted: Bool
    package let description: String

    struct Field {
        let name: String
        let range: ClosedRange<Int>
        let names: [String]  // names for range.lowerBound…, or []
    }

    static let fields = [
        Field(name: "minute", range: 0...59, names: []),
        Field(name: "hour", range: 0...23, names: []),
        Field(name: "day of month", range: 1...31, names: []),
        Field(name: "month", range: 1...12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]),
        Field(name: "day of week", range: 0...7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
    ]

    /// Parses `text`; the error message says which field is wrong and why.
    package init(_ text: String) throws(CronError) {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw CronError("expected 5 fields (minute hour day-of-month month day-of-week), got \(parts.count)")
        }
        var sets: [Set<Int>] = []
        for (part, field) in zip(parts, Self.fields) {
            sets.append(try Self.parse(part, field))
        }
        minutes = sets[0]
        hours = sets[1]
        days = sets[2]
        months = sets[3]
        weekdays = Set(sets[4].map { $0 == 7 ? 0 : $0 })
        dayRestricted = !parts[2].hasPrefix("*")
        weekdayRestricted = !parts[4].hasPrefix("*")
        description = parts.joined(separator: " ")
    }

    static func parse(_ text: String, _ field: Field) throws(CronError) -> Set<Int> {
        var out = Set<Int>()
        for item in text.lowercased().split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let pieces = item.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard pieces.count <= 2, !pieces[0].isEmpty else { throw CronError("\(field.name) \"\(text)\": \"\(item)\" is not a value, range or step") }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s >= 1 else { throw CronError("\(field.name) \"\(text)\": the step \"\(pieces[1])\" must be a whole number ≥ 1") }
                step = s
            }
            var lower = field.range.lowerBound, upper = field.range.upperBound
            if pieces[0] != "*" {
                let bounds = pieces[0].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
                guard bounds.count <= 2 else { throw CronError("\(field.name) \"\(text)\": \"\(pieces[0])\" is not a range") }
                lower = try value(bounds[0], field, text)
                upper = bounds.count == 2 ? try value(bounds[1], field, text) : (pieces.count == 2 ? field.range.upperBound : lower)
                guard lower <= upper else { throw CronError("\(field.name) \"\(text)\": the range \(pieces[0]) is backwards") }
            }
            out.formUnion(stride(from: lower, through: upper, by: step))
        }
        return out
    }

    static func value(_ text: String, _ field: Field, _ whole: String) throws(CronError) -> Int {
        if let i = field.names.firstIndex(of: text) { return field.range.lowerBound + i }
        guard let v = Int(text), field.range.contains(v) else {
            throw CronError("\(field.name) \"\(whole)\": \"\(text)\" is not in \(field.range.lowerBound)–\(field.range.upperBound)")
        }
        return v
    }

    func dayMatches(day: Int, weekday: Int) -> Bool {
        switch (dayRestricted, weekdayRestricted) {
        case (true, true): days.contains(day) || weekdays.contains(weekday)
        case (true, false): days.contains(day)
        case (false, true): weekdays.contains(weekday)
        case (false, false): true
        }
    }

    /// The first time strictly after `date` whose wall-clock time in `timeZone` matches. A local
    /// time skipped by a daylight-saving change does not occur; one that occurs twice fires at its
    /// first occurrence when the hour field is restricted (every-hour jobs run in both passes). Nil if none within eight years (e.g. "0 0 30 2 *").
    package func next(after date: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        // Whole minutes: the candidate starts at the next minute boundary.
        var t = Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
        let limit = date.addingTimeInterval(8 * 366 * 86_400)
        while t < limit {
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: t)
            guard let month = c.month, let day = c.day, let hour = c.hour, let minute = c.minute, let weekday = c.weekday else { return nil }
            if !months.contains(month) {
                t = calendar.date(from: DateComponents(year: c.year, month: month + 1, day: 1)) ?? t.addingTimeInterval(86_400)
            } else if !dayMatches(day: day, weekday: weekday - 1) {
                t = calendar.date(from: DateComponents(year: c.year, month: month, day: day + 1)) ?? t.addingTimeInterval(86_400)
            } else if !hours.contains(hour) {
                // The start of the next local hour (correct for zones offset by half hours, too).
                t = t.addingTimeInterval(Double(60 - minute) * 60)
            } else if !minutes.contains(minute) {
                t = t.addingTimeInterval(60)
            } else if hours.count < 24, let earlier = Optional(calendar.dateComponents([.day, .hour, .minute], from: t.addingTimeInterval(-3600))),
                earlier.day == day, earlier.hour == hour, earlier.minute == minute
            {
                // The second pass of a local hour repeated when clocks go back: a job at fixed hours
                // already fired (as cron does; jobs on every hour run in both passes).
                t = t.addingTimeInterval(60)
            } else {
                return t
            }
        }
        return nil
    }
}

package struct CronError: Error, CustomStringConvertible, Equatable {
    package var description: String
    init(_ d: String) { description = d }
}
