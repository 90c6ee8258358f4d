/// One problem in a job file: the file, the key path (`gate.rules[1].min`), the line where it can
/// be found, and what is wrong.
///
/// `description` reads `Jobs/churn.toml:14: gate.rules[1].min: expected a number between 0 and 1, got "high"`.
package struct JobFileProblem: Error, CustomStringConvertible, Sendable, Equatable {
    package var file: String
    package var keyPath: String?
    package var line: Int?
    package var message: String

    package init(file: String, keyPath: String? = nil, line: Int? = nil, message: String) {
        self.file = file
        self.keyPath = keyPath
        self.line = line
        self.message = message
    }

    package var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let keyPath, !keyPath.isEmpty { s += ": \(keyPath)" }
        return s + ": " + message
    }
}

/// Every problem found in one job file.
package struct JobFileError: Error, CustomStringConvertible, Sendable {
    package var problems: [JobFileProblem]

    package init(_ problems: [JobFileProblem]) { self.problems = problems }

    package var description: String { problems.map(\.description).joined(separator: "\n") }
}
