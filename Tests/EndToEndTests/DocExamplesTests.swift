import Foundation
import Testing

/// The docs' command examples, run against the binary, so the docs cannot drift from it.
///
/// - Every `updater …` command in a code block of README.md and docs/*.md, and every example of
///   every command's `--help`, must parse: it may fail for want of a job or a file here, but never
///   as a usage error (exit 64).
/// - A code block marked `<!-- checked -->` holds a command (`$ updater …`) and its output, which
///   must be exactly what the binary prints, run in a directory holding the blocks marked
///   `<!-- file: NAME -->` (the docs' small input files) and `Jobs/` (the example job's data).
///   `python3 scripts/docs/update_examples.py` rewrites those outputs after a deliberate change.
@Suite("The docs' examples, through the binary")
struct DocExamplesTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var documents: [String] {
        let docs = repo.appendingPathComponent("docs").path
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: docs)) ?? []).filter { $0.hasSuffix(".md") }.sorted()
        return ["README.md"] + names.map { "docs/" + $0 }
    }

    @Test("every documented command parses", arguments: documents)
    func documentedCommandsParse(document: String) throws {
        let text = try String(contentsOf: Self.repo.appendingPathComponent(document), encoding: .utf8)
        let commands = DocBlocks(text).blocks.flatMap(\.commands)
        let dir = try TemporaryDirectory()
        for command in commands where Self.safeToParse(command) {
            let r = try run(command, in: dir.path)
            #expect(r.status != 64, "\(document): `\(command.joined(separator: " "))` is a usage error: \(r.stderr)")
        }
    }

    @Test("every example in the commands' --help parses")
    func helpExamplesParse() throws {
        let dir = try TemporaryDirectory()
        let top = try run(["updater", "--help"], in: dir.path)
        let names = top.stdout.components(separatedBy: "SUBCOMMANDS:").last?.split(separator: "\n").compactMap {
            $0.split(separator: " ").first.map(String.init)
        }.filter { $0.first?.isLetter == true && $0 != "See" } ?? []
        #expect(names.count >= 20, "\(top.stdout)")
        var examples = 0
        for name in names {
            let help = try run(["updater", name, "--help"], in: dir.path)
            guard let section = help.stdout.components(separatedBy: "Example:").dropFirst().first else {
                Issue.record("updater \(name) --help has no example")
                continue
            }
            for line in section.split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard trimmed.hasPrefix("updater ") else { if trimmed.isEmpty { continue } else { break } }
                let command = shellWords(trimmed)
                examples += 1
                guard Self.safeToParse(command) else { continue }
                let r = try run(command, in: dir.path)
                #expect(r.status != 64, "`\(trimmed)` (updater \(name) --help) is a usage error: \(r.stderr)")
            }
        }
        #expect(examples >= names.count)
    }

    @Test("every checked example prints what the docs show", arguments: documents)
    func checkedExamples(document: String) throws {
        let text = try String(contentsOf: Self.repo.appendingPathComponent(document), encoding: .utf8)
        let blocks = DocBlocks(text).blocks
        guard blocks.contains(where: \.checked) else { return }
        let dir = try TemporaryDirectory()
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/Jobs", withDestinationPath: Self.repo.appendingPathComponent("Jobs").path)
        for block in blocks {
            if let name = block.file {
                try block.body.write(toFile: dir.path + "/" + name, atomically: true, encoding: .utf8)
            }
        }
        for block in blocks where block.checked {
            let command = try #require(block.commands.first, "\(document): a checked block without a command")
            let r = try run(command, in: dir.path)
            let printed = (r.stdout + r.stderr).trimmingCharacters(in: .newlines)
            #expect(printed == block.output, "\(document): `\(command.joined(separator: " "))` printed:\n\(printed)")
        }
    }

    /// Commands a test may run: not the daemon (it runs until stopped), and not a synopsis
    /// (`updater metrics FILE [--task …]`) or a diagram.
    static func safeToParse(_ command: [String]) -> Bool {
        guard command.first == "updater", command.count > 1 else { return false }
        if command.contains(where: { $0.contains("[") || $0.contains("─") || $0.contains("…") || $0.contains("...") }) { return false }
        if command[1] == "run" && !command.contains("--once") && !command.contains("--help") { return false }
        return true
    }

    func run(_ command: [String], in directory: String) throws -> Workspace.Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Workspace.binary)
        p.arguments = Array(command.dropFirst())
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        for key in ["UPDATER_STATE_DIR", "STATE_DIRECTORY", "JOURNAL_STREAM", "NOTIFY_SOCKET", "INVOCATION_ID"] { env.removeValue(forKey: key) }
        env["COLUMNS"] = "1000"  // help text unwrapped, one example per line
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        return try Workspace.collect(p)
    }
}

/// The fenced code blocks of a Markdown text, with the marker comment before each.
struct DocBlocks {
    struct Block {
        var body: String
        /// `<!-- checked -->`: a command and its exact output.
        var checked = false
        /// `<!-- file: NAME -->`: an input file the checked examples read.
        var file: String?

        /// The `updater …` commands in the block (`$ ` prompts or bare lines; `\` continues a line),
        /// without pipes and redirections.
        var commands: [[String]] {
            var out: [[String]] = []
            var pending = ""
            for raw in body.split(separator: "\n", omittingEmptySubsequences: false) {
                var line = raw.trimmingCharacters(in: .whitespaces)
                if pending.isEmpty {
                    if line.hasPrefix("$ ") { line.removeFirst(2) }
                    guard line.hasPrefix("updater ") else { continue }
                }
                if line.hasSuffix("\\") {
                    pending += line.dropLast() + " "
                    continue
                }
                out.append(shellWords(pending + line))
                pending = ""
            }
            return out
        }

        /// A checked block's output: the lines after its command (the prompt line and the lines a
        /// trailing backslash continues).
        var output: String {
            var lines = body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard lines.first?.hasPrefix("$ ") == true else { return body }
            var continues = true
            while continues, !lines.isEmpty { continues = lines.removeFirst().hasSuffix("\\") }
            return lines.joined(separator: "\n").trimmingCharacters(in: .newlines)
        }
    }

    var blocks: [Block] = []

    init(_ text: String) {
        var marker: String? = nil
        var inside = false
        var body: [String] = []
        var current = Block(body: "")
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") {
                if inside {
                    current.body = body.joined(separator: "\n")
                    blocks.append(current)
                    inside = false
                } else {
                    inside = true
                    body = []
                    current = Block(body: "")
                    if let m = marker {
                        if m == "checked" { current.checked = true }
                        if m.hasPrefix("file: ") { current.file = String(m.dropFirst(6)) }
                    }
                }
                marker = nil
                continue
            }
            if inside {
                body.append(line)
            } else if line.hasPrefix("<!-- "), line.hasSuffix(" -->") {
                marker = String(line.dropFirst(5).dropLast(4))
            } else if !line.trimmingCharacters(in: .whitespaces).isEmpty {
                marker = nil
            }
        }
    }
}

/// A command line split as a POSIX shell would (quotes, backslashes), up to a pipe or redirection.
func shellWords(_ line: String) -> [String] {
    var words: [String] = []
    var word = ""
    var inWord = false
    var quote: Character? = nil
    var escaped = false
    for c in line {
        if escaped {
            word.append(c)
            escaped = false
            continue
        }
        if let q = quote {
            if c == q { quote = nil } else if c == "\\" && q == "\"" { escaped = true } else { word.append(c) }
            continue
        }
        switch c {
        case "\"", "'":
            quote = c
            inWord = true
        case "\\":
            escaped = true
            inWord = true
        case " ", "\t":
            if inWord { words.append(word) }
            word = ""
            inWord = false
        case "#" where inWord:
            word.append(c)
        case "|", ">", "<", "#", ";", "&":
            if inWord { words.append(word) }
            // A redirection such as 2>&1 leaves a stray "2".
            if c == ">", words.last == "2" || words.last == "1" { words.removeLast() }
            return words
        default:
            word.append(c)
            inWord = true
        }
    }
    if inWord { words.append(word) }
    return words
}

/// A directory removed when the test ends.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "updater-docs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
