/// A problem with a data file, naming the file and, where known, the line and column.
///
/// `description` is the one line a user sees, for example
/// `incoming/b1.csv: line 17, column "tenure": "abc" is not a number`.
package struct DataError: Error, CustomStringConvertible, Sendable, Equatable {
    package enum Code: String, Sendable {
        case unreadable, empty, badHeader, raggedRow, badQuote, badNumber, missingColumn, badEncoding, badLabel, badRows, badID
    }

    package var code: Code
    package var file: String
    /// 1-based physical line in the file (a quoted field may span lines; this is where the row starts).
    package var line: Int?
    package var column: String?
    package var message: String

    package init(_ code: Code, file: String, line: Int? = nil, column: String? = nil, _ message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    package var description: String {
        var where_ = file
        if let line { where_ += ": line \(line)" }
        if let column { where_ += (line == nil ? ": " : ", ") + "column \"\(column)\"" }
        return "\(where_): \(message)"
    }
}
