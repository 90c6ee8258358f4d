/// One problem in a job file: the file, the key path (`gate.rules[1].min`), the line where it can
/// be found, and what is wrong.
///
/// `description` reads `Jobs/churn.toml:14: gate.rules[1].min: expected a number between 0 and 1, got "high"`.
public struct JobFileProblem: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var keyPath: String?
    public var line: Int?
    public var message: String

    public init(file: String, keyPath: String? = nil, line: Int? = nil, message: String) {
        self.file = file
        self.keyPath = keyPath
        self.line = line
        self.message = message
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let keyPath, !keyPath.isEmpty { s += ": \(keyPath)" }
        return s + ": " + message
    }
}

/// Every problem found in one job file.
public struct JobFileError: Error, CustomStringConvertible, Sendable {
    public var problems: [JobFileProblem]

    public init(_ problems: [JobFileProblem]) { self.problems = problems }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
