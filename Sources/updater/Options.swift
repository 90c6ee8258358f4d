import ArgumentParser
import Cycle
import Service
import Foundation
import Support
import JobFiles
import Registry

/// Options every command that touches jobs or state shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Directory of job files (default: ./Jobs, or /etc/updater/jobs under systemd).")
    var jobs: String?

    @Option(name: .long, help: "State directory (default: $UPDATER_STATE_DIR, $STATE_DIRECTORY, else ./.updater).")
    var stateDir: String?

    @Option(name: .long, help: "Global webhook endpoints (default: webhooks.toml beside the jobs directory, if it exists).")
    var webhooks: String?

    var jobsDirectory: String { JobSet.defaultDirectory(option: jobs) }

    /// A job's file: in the jobs directory, or, run from another directory without --jobs, where
    /// the registry last saw it (stored as an absolute path).
    func jobFile(_ name: String, registry: Registry? = nil) -> String {
        let here = jobsDirectory + "/" + name + ".toml"
        guard !Files.exists(here), jobs == nil else { return here }
        guard let recorded = try? (registry ?? state.openExistingRegistry()).job(name)?.filePath,
            recorded.hasPrefix("/"), Files.exists(recorded)
        else { return here }
        return recorded
    }
    var webhooksFile: WebhookFile { WebhookFile.resolve(option: webhooks, jobsDirectory: jobsDirectory) }
    var state: StateDirectory { StateDirectory.resolve(option: stateDir) }
}

struct JSONFlag: ParsableArguments {
    @Flag(name: .long, help: "Print JSON for scripts instead of a table.")
    var json = false
}

/// A version named on the command line: `2` or `v2`, as tables print it.
struct VersionNumber: ExpressibleByArgument, CustomStringConvertible {
    let value: Int

    init?(argument: String) {
        let digits = argument.hasPrefix("v") || argument.hasPrefix("V") ? argument.dropFirst() : Substring(argument)
        guard let n = Int(digits), n >= 1 else { return nil }
        value = n
    }

    var description: String { "v\(value)" }
    static var defaultCompletionKind: CompletionKind { .default }
}

/// A job name from the command line: checked before it is used in any path.
func checkedJobName(_ name: String) throws -> String {
    guard JobFileDecoder.isValidName(name) else {
        throw ValidationError("\"\(name)\" is not a job name (job names match [a-z0-9][a-z0-9_-]*)")
    }
    return name
}

/// Prints an error line and exits 1.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("updater: \(message)\n".utf8))
    return ExitCode.failure
}

func printJSON<T: Encodable>(_ value: T) {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    e.dateEncodingStrategy = .iso8601
    // An infinite or NaN statistic (a z with zero error, an undefined interval) is written as a string.
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let data = (try? e.encode(value)) ?? Data("null".utf8)
    print(String(decoding: data, as: UTF8.self))
}

/// `2026-11-29 03:00:12Z`.
func show(_ date: Date?) -> String {
    guard let date else { return "-" }
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd HH:mm:ss'Z'"
    return f.string(from: date)
}

func show(_ x: Double?) -> String {
    guard let x else { return "-" }
    return String(format: "%.4f", x)
}

/// A plain text table with left-aligned columns.
func table(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows {
        for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        // Padded by characters, as the widths are counted (Foundation's `padding(toLength:)` counts
        // UTF-16 units, and goes through NSString and reflection: most of rendering a drift report).
        var text = cells.enumerated().map { i, c in
            i == cells.count - 1 || i >= widths.count ? c : c + String(repeating: " ", count: max(0, widths[i] - c.count))
        }.joined(separator: "  ")
        // No trailing blanks when the last cells are empty.
        while text.last == " " { text.removeLast() }
        return text
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

func truncate(_ s: String, _ n: Int) -> String {
    s.count <= n ? s : String(s.prefix(n - 1)) + "…"
}
