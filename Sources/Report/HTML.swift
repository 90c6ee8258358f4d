import Crypto
import Foundation

/// HTML written by hand, escaped on the way in: every page and report updater makes is one
/// document with one stylesheet (``HTML/style``), no script, no font, no request to anywhere.
package enum HTML {
    /// Text as HTML content or an attribute value.
    package static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The one stylesheet. Its hash is in ``contentSecurityPolicy``, so the browser applies it and
    /// nothing else (no other style, script, font, image or frame).
    package static let style = """
        :root{color-scheme:light}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff;margin:0}
        main{max-width:1240px;margin:0 auto;padding:12px 20px 40px}
        nav{background:#f6f8fa;border-bottom:1px solid #d0d7de;padding:8px 20px}
        nav a{margin-right:16px}
        a{color:#0550ae}
        h1{font-size:22px;margin:16px 0 4px}
        h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
        h3{font-size:15px;margin:0 0 6px}
        p.sub{color:#57606a;margin:0 0 12px}
        table{border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums}
        th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
        th{background:#f6f8fa;font-weight:600}
        td.num{text-align:right}
        td:first-child{white-space:nowrap}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:14px}
        .card{border:1px solid #d0d7de;border-radius:6px;padding:10px 12px;break-inside:avoid}
        .card table{font-size:13px}
        .tag{display:inline-block;border:1px solid;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;margin-left:6px}
        .bad{color:#a40e26;border-color:#a40e26}
        .warn{color:#7d4e00;border-color:#7d4e00}
        .good{color:#116329;border-color:#116329}
        .muted{color:#57606a}
        .note{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;border-radius:6px}
        svg{display:block;max-width:100%;height:auto}
        svg text{font:11px system-ui,sans-serif;fill:#1f2328}
        svg .axis{stroke:#57606a;stroke-width:1}
        svg .grid{stroke:#eaeef2;stroke-width:1}
        svg .ref{fill:#fff;stroke:#57606a;stroke-width:1.2;stroke-dasharray:3 2}
        svg .cur{fill:#0969da;stroke:#0550ae;stroke-width:1}
        svg .line{fill:none;stroke-width:2}
        svg .mark{stroke:#1f2328;stroke-width:1}
        pre{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:12px}
        @media print{nav{display:none}main{max-width:none;padding:0}.cards{display:block}.card{margin-bottom:10px}a{color:inherit;text-decoration:none}}
        """

    /// The Content-Security-Policy of pages and reports, in the document itself (so a report saved
    /// as a file keeps it): nothing may load or run but the stylesheet.
    package static let documentPolicy: String = {
        let hash = Data(SHA256.hash(data: Data(style.utf8))).base64EncodedString()
        return "default-src 'none'; style-src 'sha256-\(hash)'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
    }()

    /// The dashboard's Content-Security-Policy header: the document's, and no page may frame it
    /// (which only a header can say).
    package static let contentSecurityPolicy = documentPolicy + "; frame-ancestors 'none'"

    /// A whole document. `nav` is the dashboard's links (empty for a report saved as a file).
    package static func page(title: String, nav: [(href: String, text: String)] = [], body: String) -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="\(escape(documentPolicy))">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="updater">
            <title>\(escape(title))</title>
            <style>\(style)</style>
            </head><body>

            """
        if !nav.isEmpty {
            out += "<nav>" + nav.map { "<a href=\"\(escape($0.href))\">\(escape($0.text))</a>" }.joined() + "</nav>\n"
        }
        out += "<main>\n" + body + "\n</main></body></html>\n"
        return out
    }

    /// A table; cells are HTML already (use ``escape(_:)`` or the helpers). Cells that hold a
    /// number are right-aligned when `numeric` names their column.
    package static func table(_ header: [String], _ rows: [[String]], numeric: Set<Int> = [], caption: String? = nil) -> String {
        var out = "<table>"
        if let caption { out += "<caption class=\"muted\">\(escape(caption))</caption>" }
        out += "<thead><tr>" + header.map { "<th scope=\"col\">\(escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in rows {
            out += "<tr>" + row.enumerated().map { i, c in numeric.contains(i) ? "<td class=\"num\">\(c)</td>" : "<td>\(c)</td>" }.joined() + "</tr>"
        }
        return out + "</tbody></table>\n"
    }

    /// A word in a bordered tag: the meaning is in the word, the colour only repeats it.
    package static func tag(_ text: String, _ tone: Tone) -> String {
        "<span class=\"tag \(tone.rawValue)\">\(escape(text))</span>"
    }

    package enum Tone: String { case bad, warn, good, muted }

    package static func link(_ href: String, _ text: String) -> String {
        "<a href=\"\(escape(href))\">\(escape(text))</a>"
    }
}

/// Numbers and times as the pages show them.
package enum Show {
    /// Four decimals, as the CLI's tables; "–" for none.
    package static func number(_ x: Double?) -> String {
        guard let x else { return "–" }
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "∞" : "−∞" }
        return String(format: "%.4f", x)
    }

    /// Three significant digits, for axis labels and bin edges.
    package static func short(_ x: Double) -> String {
        if x == 0 || x.isNaN || x.isInfinite { return x == 0 ? "0" : "\(x)" }
        let a = abs(x)
        if a >= 1e6 || a < 1e-3 { return String(format: "%.2e", x) }
        let digits = max(0, 2 - Int(log10(a).rounded(.down)))
        var s = String(format: "%.\(digits)f", x)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }

    package static func percent(_ x: Double?) -> String {
        guard let x else { return "–" }
        return String(format: "%.1f %%", 100 * x)
    }

    /// `2026-11-29 03:00:12Z`.
    package static func time(_ date: Date?) -> String {
        guard let date else { return "–" }
        return formatter("yyyy-MM-dd HH:mm:ss'Z'").string(from: date)
    }

    /// A time axis's label, as precise as its ticks are apart: `03:00:12`, `11-29 03:00` or `2026-11-29`.
    package static func time(_ date: Date, step: Double) -> String {
        formatter(step < 60 ? "HH:mm:ss" : step < 86400 ? "MM-dd HH:mm" : "yyyy-MM-dd").string(from: date)
    }

    private static func formatter(_ format: String) -> DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = format
        return f
    }
}
