import Foundation
import GRDB

/// The registry's dates, stored as GRDB stores a `Date` (TEXT `yyyy-MM-dd HH:mm:ss.SSS` in UTC)
/// and read as GRDB reads one, without ICU.
///
/// GRDB's own conversion formats with a `DateFormatter` and reads through a `Calendar`, and either
/// loads ICU into the process for good (about 4.6 MB resident; issue 18). ``UTCTime`` makes the
/// same text byte for byte, and the same `Date` bit for bit from it, with integer arithmetic; a
/// value it does not handle (a year before 1583, a time zone suffix, a date without a time, a
/// number) is left to GRDB, so every database reads as before. Records adopt ``StoredDates``;
/// SQL arguments, comparisons and single dates read with raw SQL go through these functions.
package enum StoredDate {
    /// What GRDB stores for `date`.
    package static func databaseValue(_ date: Date) -> DatabaseValue {
        if let time = UTCTime(date) { return time.databaseText.databaseValue }
        return date.databaseValue
    }

    /// The date GRDB reads from `value`; nil for NULL and for a value that is no date.
    package static func date(_ value: DatabaseValue) -> Date? {
        if case .string(let text) = value.storage, let time = UTCTime(databaseText: text) { return time.date }
        return Date.fromDatabaseValue(value)
    }

    /// The date in `row`'s `column`; throws when it is NULL or no date.
    package static func decode(_ row: Row, _ column: String) throws -> Date {
        let value: DatabaseValue = row[column]
        guard let date = date(value) else { throw RegistryError("\(column) is not a date: \(value)") }
        return date
    }

    /// The date in the first column of the first row `sql` selects (as `Date.fetchOne`): nil without
    /// a row or for NULL; throws for a value that is no date.
    package static func fetchOne(_ db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> Date? {
        guard let row = try Row.fetchOne(db, sql: sql, arguments: arguments) else { return nil }
        let value: DatabaseValue = row[0]
        if value.isNull { return nil }
        guard let date = date(value) else { throw RegistryError("not a date: \(value)") }
        return date
    }
}

/// A record whose `Date` properties are stored and read through ``StoredDate`` rather than GRDB's
/// `DateFormatter` and `Calendar` (the same text; no ICU). Every registry record adopts it.
package protocol StoredDates {}

extension FetchableRecord where Self: StoredDates {
    package static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        .custom { StoredDate.date($0) }
    }
}

extension EncodableRecord where Self: StoredDates {
    package static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .custom { StoredDate.databaseValue($0) }
    }
}
