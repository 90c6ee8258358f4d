/// Finds the malformed TOML the bundled parser cannot report.
///
/// toml++ 3.4 (inside TOMLKit) asserts, and so aborts the whole process, where its parser assumes
/// what it never checked: a table header whose first character is neither a key character nor a
/// quote (`[%]`, `[.a]`, `[[ [a]]]`, a `[` at the end of a line), and an array element starting
/// with `}` or with a Unicode line or paragraph separator (`x = [}]`). `make fuzz` found both; a
/// release build aborts too, because the assertion is compiled into the C++ target. Every other
/// syntax error is the parser's to report, so this scanner only follows strings, comments and
/// brackets far enough to know where headers and array elements are: on a valid prefix it agrees
/// with the parser, and the parser stops at the first error anyway.
enum TOMLParserGuard {
    /// The line and message of the first construct the parser would abort on, or nil.
    static func firstAbortingConstruct(_ text: String) -> (line: Int, message: String)? {
        let b = Array(text.utf8)
        var i = 0, line = 1, lineStart = true
        var open: [UInt8] = []  // the brackets and braces open at i (a header's too)
        while i < b.count {
            switch b[i] {
            case newline:
                line += 1
                lineStart = true
                i += 1
                continue
            case space, tab, carriageReturn:
                i += 1
                continue
            case hash:
                while i < b.count, b[i] != newline { i += 1 }
                continue
            case quote, apostrophe:
                i = endOfString(b, from: i, line: &line)
            case openBracket where open.isEmpty && lineStart:
                let arrayTable = i + 1 < b.count && b[i + 1] == openBracket
                var j = i + (arrayTable ? 2 : 1)
                while j < b.count, b[j] == space || b[j] == tab { j += 1 }
                let spacedArray = !arrayTable && j < b.count && b[j] == openBracket  // the parser's own error
                if !spacedArray, !(j < b.count && (startsKey(b[j]) || b[j] == closeBracket)) {
                    return (line, "Error while parsing table header: expected a key name or a quoted key, saw \(describe(b, at: j))")
                }
                open.append(openBracket)
                if arrayTable {
                    open.append(openBracket)
                    i += 1
                }
            case openBracket, openBrace:
                open.append(b[i])
            case closeBrace where open.last == openBracket:
                return (line, "Error while parsing array: expected a value or ']', saw '}'")
            case closeBracket, closeBrace:
                _ = open.popLast()
            case 0xE2 where i + 2 < b.count && b[i + 1] == 0x80 && (b[i + 2] == 0xA8 || b[i + 2] == 0xA9),
                 0xC2 where i + 1 < b.count && b[i + 1] == 0x85:
                return (line, "a Unicode line or paragraph separator outside a string, saw \(describe(b, at: i))")
            default:
                break
            }
            lineStart = false
            i += 1
        }
        return nil
    }

    /// The index of a string's closing quote (or of the end of the line or file where an
    /// unterminated one stops); `line` counts the newlines inside multi-line strings.
    private static func endOfString(_ b: [UInt8], from start: Int, line: inout Int) -> Int {
        let q = b[start]
        let basic = q == quote
        let multi = start + 2 < b.count && b[start + 1] == q && b[start + 2] == q
        var i = start + (multi ? 3 : 1)
        while i < b.count {
            let c = b[i]
            if basic && c == backslash {
                if i + 1 < b.count, b[i + 1] == newline { line += 1 }
                i += 2
                continue
            }
            if c == newline {
                if !multi { return i - 1 }
                line += 1
            } else if c == q {
                if !multi { return i }
                if i + 2 < b.count, b[i + 1] == q, b[i + 2] == q {
                    var end = i + 2
                    while end + 1 < b.count, b[end + 1] == q, end - i < 4 { end += 1 }  // `""""` ends with a quote
                    return end
                }
            }
            i += 1
        }
        return b.count - 1
    }

    private static func startsKey(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
            || c == 0x5F || c == 0x2D || c == quote || c == apostrophe
    }

    private static func describe(_ b: [UInt8], at j: Int) -> String {
        guard j < b.count else { return "the end of the file" }
        if b[j] == newline || b[j] == carriageReturn { return "the end of the line" }
        // The character starting at j (the text is valid UTF-8).
        var end = j + 1
        while end < b.count, b[end] & 0xC0 == 0x80 { end += 1 }
        let character = String(decoding: b[j..<end], as: UTF8.self)
        let scalar = character.unicodeScalars.first!
        guard scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .lineSeparator
            || scalar.properties.generalCategory == .paragraphSeparator
        else { return "'\(character)'" }
        return "the invisible character U+\(String(String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)))"
    }

    private static let newline: UInt8 = 0x0A, carriageReturn: UInt8 = 0x0D, space: UInt8 = 0x20, tab: UInt8 = 0x09
    private static let hash: UInt8 = 0x23, quote: UInt8 = 0x22, apostrophe: UInt8 = 0x27, backslash: UInt8 = 0x5C
    private static let openBracket: UInt8 = 0x5B, closeBracket: UInt8 = 0x5D, openBrace: UInt8 = 0x7B, closeBrace: UInt8 = 0x7D
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
