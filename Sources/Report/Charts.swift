import Drift
import Foundation

/// The charts of pages and reports, as inline SVG: no script, no style attribute (the page's
/// stylesheet and presentation attributes only, so the Content-Security-Policy holds). Every
/// series differs by more than its colour (outline or fill, dash pattern, marker shape, a label
/// beside it), and every mark has a `<title>` with its numbers.
package enum Chart {
    // MARK: Distributions

    /// The reference's and the current data's share of rows per bin, side by side: dashed outline
    /// for the reference, filled for the current data. Numeric bins are labelled at their edges;
    /// categorical bins by category (the 23 largest, the others summed).
    package static func distribution(_ bins: ColumnDrift.Bins, column: String) -> String {
        let refTotal = max(1, bins.reference.reduce(0, +))
        let curTotal = max(1, bins.current.reduce(0, +))
        var groups: [(label: String, ref: Int, cur: Int)] = []
        var edgeLabels: [String] = []
        if let edges = bins.edges {
            for i in 0...edges.count where i < bins.reference.count && i < bins.current.count {
                groups.append((i == 0 ? "≤ \(Show.short(edges.first ?? 0))" : i == edges.count ? "> \(Show.short(edges[i - 1]))"
                    : "\(Show.short(edges[i - 1]))–\(Show.short(edges[i]))", bins.reference[i], bins.current[i]))
            }
            edgeLabels = edges.map(Show.short)
        } else {
            let categories = bins.categories ?? []
            var named = categories.indices.compactMap { i -> (label: String, ref: Int, cur: Int)? in
                i < bins.reference.count && i < bins.current.count ? (categories[i], bins.reference[i], bins.current[i]) : nil
            }
            if named.count > 24 {
                let share = { (g: (label: String, ref: Int, cur: Int)) in max(Double(g.ref) / Double(refTotal), Double(g.cur) / Double(curTotal)) }
                let order = named.indices.sorted { share(named[$0]) > share(named[$1]) }
                let kept = Set(order.prefix(23))
                let rest = named.indices.filter { !kept.contains($0) }
                let other = (label: "other (\(rest.count))", ref: rest.reduce(0) { $0 + named[$1].ref }, cur: rest.reduce(0) { $0 + named[$1].cur })
                named = named.indices.filter(kept.contains).map { named[$0] } + [other]
            }
            groups = named
            let u = categories.count
            if u < bins.current.count, u < bins.reference.count, bins.current[u] + bins.reference[u] > 0 {
                groups.append(("unseen", bins.reference[u], bins.current[u]))
            }
        }
        if let r = bins.reference.last, let c = bins.current.last, r + c > 0 { groups.append(("missing", r, c)) }
        guard !groups.isEmpty else { return "" }

        let width = 560.0, height = 230.0
        let left = 52.0, right = 10.0, top = 26.0
        let bottom = bins.edges == nil && groups.count > 6 ? 62.0 : 40.0
        let plotW = width - left - right, plotH = height - top - bottom
        let shares = groups.map { (Double($0.ref) / Double(refTotal), Double($0.cur) / Double(curTotal)) }
        let ticks = niceTicks(max: max(shares.map { max($0.0, $0.1) }.max() ?? 0, 0.01))
        let yMax = ticks.last ?? 1
        let y = { (v: Double) in top + plotH * (1 - v / yMax) }
        let groupW = plotW / Double(groups.count)
        let barW = min(28, groupW * 0.38)
        var svg = open(width, height, label: "Distribution of \(column): reference and current share of rows per bin")
        svg += yAxis(ticks: ticks, left: left, right: width - right, y: y, format: { Show.short($0 * 100) })
        svg += text(14, top + plotH / 2, "share of rows (%)", anchor: "middle", rotate: -90)
        for (i, g) in groups.enumerated() {
            let cx = left + groupW * (Double(i) + 0.5)
            let (r, c) = shares[i]
            svg += "<rect class=\"ref\" x=\"\(f(cx - barW - 1))\" y=\"\(f(y(r)))\" width=\"\(f(barW))\" height=\"\(f(top + plotH - y(r)))\">"
                + "<title>\(HTML.escape(g.label)): reference \(Show.percent(r)) (\(g.ref) rows)</title></rect>"
            svg += "<rect class=\"cur\" x=\"\(f(cx + 1))\" y=\"\(f(y(c)))\" width=\"\(f(barW))\" height=\"\(f(top + plotH - y(c)))\">"
                + "<title>\(HTML.escape(g.label)): current \(Show.percent(c)) (\(g.cur) rows)</title></rect>"
        }
        svg += line(left, top + plotH, width - right, top + plotH, "axis")
        if bins.edges != nil {
            // Edges between the bins; as many labels as fit.
            let every = max(1, Int((Double(edgeLabels.count) * 46 / plotW).rounded(.up)))
            for (i, label) in edgeLabels.enumerated() {
                let x = left + groupW * Double(i + 1)
                svg += line(x, top + plotH, x, top + plotH + 4, "axis")
                if i % every == 0 { svg += text(x, top + plotH + 16, label, anchor: "middle") }
            }
            if groups.last?.label == "missing" { svg += text(left + groupW * (Double(groups.count) - 0.5), top + plotH + 16, "missing", anchor: "middle") }
            svg += text(left + plotW / 2, height - 6, "\(column) (bins at the reference's quantiles)", anchor: "middle")
        } else {
            let rotate = groups.count > 6
            for (i, g) in groups.enumerated() {
                let x = left + groupW * (Double(i) + 0.5)
                let label = g.label.count > 14 ? String(g.label.prefix(13)) + "…" : g.label
                svg += rotate
                    ? text(x + 3, top + plotH + 10, label, anchor: "end", rotate: -40, title: g.label)
                    : text(x, top + plotH + 16, label, anchor: "middle", title: g.label)
            }
            if !rotate { svg += text(left + plotW / 2, height - 6, column, anchor: "middle") }
        }
        // Legend: what each mark is, in words.
        svg += "<rect class=\"ref\" x=\"\(f(left))\" y=\"6\" width=\"14\" height=\"10\"/>"
        svg += text(left + 18, 15, "reference (\(refTotal) rows)")
        svg += "<rect class=\"cur\" x=\"\(f(left + 190))\" y=\"6\" width=\"14\" height=\"10\"/>"
        svg += text(left + 208, 15, "current (\(curTotal) rows)")
        return svg + "</svg>"
    }

    // MARK: Lines over batches or time

    /// One line; `nil` values leave a gap.
    package struct Series {
        package var name: String
        package var points: [(x: Double, y: Double?)]
        package init(name: String, points: [(x: Double, y: Double?)]) { (self.name, self.points) = (name, points) }
    }

    /// A row of marks under the plot (changes, trainings, promotions, rollbacks), each with what
    /// it was. A track with `guide` also draws a dashed line through the plot at each mark.
    package struct Track {
        package var name: String
        package var symbol: Symbol
        package var marks: [(x: Double, label: String)]
        package var guide = false
        package init(name: String, symbol: Symbol, marks: [(x: Double, label: String)], guide: Bool = false) {
            (self.name, self.symbol, self.marks, self.guide) = (name, symbol, marks, guide)
        }
    }

    package enum Symbol { case circle, triangleUp, triangleDown, diamond, bar, cross }

    /// Line styles in order: colour, dash, and a label at the line's end.
    static let styles: [(color: String, dash: String?)] = [
        ("#0969da", nil), ("#57606a", "6 4"), ("#bf3989", "2 3"), ("#1a7f37", "10 3 2 3"), ("#9a6700", "4 2"), ("#8250df", "1 2"),
    ]

    /// Lines over a shared x axis (batch numbers, or seconds since 1970 with `timeAxis`), with
    /// tracks of events under them.
    package static func lines(
        _ series: [Series], tracks: [Track] = [], xLabel: String, yLabel: String, timeAxis: Bool = false, label: String
    ) -> String {
        let xs = series.flatMap { $0.points.map(\.x) } + tracks.flatMap { $0.marks.map(\.x) }
        let ys = series.flatMap { $0.points.compactMap(\.y) }.filter(\.isFinite)
        guard var x0 = xs.min(), var x1 = xs.max() else { return "<p class=\"muted\">Nothing to draw yet.</p>" }
        if x1 - x0 < 1e-9 { (x0, x1) = (x0 - 1, x1 + 1) }
        var y0 = ys.min() ?? 0, y1 = ys.max() ?? 1
        if y1 - y0 < 1e-9 { (y0, y1) = (y0 - 0.05, y1 + 0.05) }
        let span = y1 - y0
        let yTicks = niceTicks(from: y0 - span * 0.05, to: y1 + span * 0.05)
        let yLo = yTicks.first!, yHi = yTicks.last!
        let width = 1160.0, left = 110.0, right = 130.0, top = 12.0, plotH = 240.0
        let trackH = 20.0
        let height = top + plotH + 40 + trackH * Double(tracks.count) + 8
        let plotW = width - left - right
        let x = { (v: Double) in left + plotW * (v - x0) / (x1 - x0) }
        let y = { (v: Double) in top + plotH * (1 - (v - yLo) / (yHi - yLo)) }
        var svg = open(width, height, label: label)
        svg += yAxis(ticks: yTicks, left: left, right: left + plotW, y: y, format: Show.short)
        svg += text(14, top + plotH / 2, yLabel, anchor: "middle", rotate: -90)
        svg += line(left, top + plotH, left + plotW, top + plotH, "axis")
        let (ticks, tickStep) = xTicks(x0, x1, time: timeAxis)
        for t in ticks {
            svg += line(x(t), top + plotH, x(t), top + plotH + 4, "axis")
            svg += text(x(t), top + plotH + 16, timeAxis ? Show.time(Date(timeIntervalSince1970: t), step: tickStep) : Show.short(t), anchor: "middle")
        }
        svg += text(left + plotW / 2, top + plotH + 32, xLabel, anchor: "middle")
        for track in tracks where track.guide {
            for m in track.marks {
                svg += "<line x1=\"\(f(x(m.x)))\" y1=\"\(f(top))\" x2=\"\(f(x(m.x)))\" y2=\"\(f(top + plotH))\" stroke=\"#a40e26\" stroke-dasharray=\"4 3\"><title>\(HTML.escape(m.label))</title></line>"
            }
        }
        var ends: [(y: Double, name: String, color: String, dash: String)] = []
        for (i, s) in series.enumerated() {
            let style = styles[i % styles.count]
            var segments: [[(Double, Double)]] = [[]]
            for p in s.points {
                if let v = p.y, v.isFinite { segments[segments.count - 1].append((x(p.x), y(v))) } else if !segments[segments.count - 1].isEmpty { segments.append([]) }
            }
            let dash = style.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
            for seg in segments where !seg.isEmpty {
                if seg.count == 1 {
                    svg += "<circle cx=\"\(f(seg[0].0))\" cy=\"\(f(seg[0].1))\" r=\"2.5\" fill=\"\(style.color)\"/>"
                } else {
                    svg += "<polyline class=\"line\" stroke=\"\(style.color)\"\(dash) points=\"\(seg.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " "))\"><title>\(HTML.escape(s.name))</title></polyline>"
                }
            }
            // Points with their values, for a reader who hovers; then the name at the line's end.
            for p in s.points {
                if let v = p.y, v.isFinite {
                    svg += "<circle cx=\"\(f(x(p.x)))\" cy=\"\(f(y(v)))\" r=\"1.8\" fill=\"\(style.color)\"><title>\(HTML.escape(s.name)) at \(timeAxis ? Show.time(Date(timeIntervalSince1970: p.x)) : Show.short(p.x)): \(Show.number(v))</title></circle>"
                }
            }
            if let last = s.points.last(where: { $0.y?.isFinite == true }) { ends.append((y(last.y!), s.name, style.color, dash)) }
        }
        // Each line's name at its end, moved apart so that none covers another.
        ends.sort { $0.y < $1.y }
        var previous = -Double.infinity
        for end in ends {
            let ly = max(end.y, previous + 14)
            previous = ly
            svg += "<line x1=\"\(f(left + plotW + 6))\" y1=\"\(f(ly))\" x2=\"\(f(left + plotW + 24))\" y2=\"\(f(ly))\" stroke=\"\(end.color)\" stroke-width=\"2\"\(end.dash)/>"
            svg += text(left + plotW + 28, ly + 4, end.name)
        }
        for (i, track) in tracks.enumerated() {
            let ty = top + plotH + 40 + trackH * Double(i) + trackH / 2
            svg += text(left - 6, ty + 4, track.name, anchor: "end")
            svg += "<line class=\"grid\" x1=\"\(f(left))\" y1=\"\(f(ty))\" x2=\"\(f(left + plotW))\" y2=\"\(f(ty))\"/>"
            for m in track.marks { svg += symbol(track.symbol, x(m.x), ty, title: m.label) }
        }
        return svg + "</svg>"
    }

    // MARK: Pieces

    static func open(_ width: Double, _ height: Double, label: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\" role=\"img\" aria-label=\"\(HTML.escape(label))\">"
    }

    static func yAxis(ticks: [Double], left: Double, right: Double, y: (Double) -> Double, format: (Double) -> String) -> String {
        var out = ""
        for t in ticks {
            out += line(left, y(t), right, y(t), "grid")
            out += text(left - 6, y(t) + 4, format(t), anchor: "end")
        }
        return out + line(left, y(ticks.first ?? 0), left, y(ticks.last ?? 1), "axis")
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ cls: String) -> String {
        "<line class=\"\(cls)\" x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\"/>"
    }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String = "start", rotate: Double? = nil, title: String? = nil) -> String {
        let transform = rotate.map { " transform=\"rotate(\(f($0)) \(f(x)) \(f(y)))\"" } ?? ""
        let tip = title.map { "<title>\(HTML.escape($0))</title>" } ?? ""
        return "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\"\(transform)>\(tip)\(HTML.escape(s))</text>"
    }

    static func symbol(_ s: Symbol, _ x: Double, _ y: Double, title: String) -> String {
        let tip = "<title>\(HTML.escape(title))</title>"
        switch s {
        case .circle: return "<circle class=\"mark\" cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"4\" fill=\"#57606a\">\(tip)</circle>"
        case .triangleUp: return "<path class=\"mark\" d=\"M\(f(x)) \(f(y - 5))L\(f(x + 5)) \(f(y + 4))L\(f(x - 5)) \(f(y + 4))Z\" fill=\"#1a7f37\">\(tip)</path>"
        case .triangleDown: return "<path class=\"mark\" d=\"M\(f(x)) \(f(y + 5))L\(f(x + 5)) \(f(y - 4))L\(f(x - 5)) \(f(y - 4))Z\" fill=\"#cf222e\">\(tip)</path>"
        case .diamond: return "<path class=\"mark\" d=\"M\(f(x)) \(f(y - 5))L\(f(x + 5)) \(f(y))L\(f(x)) \(f(y + 5))L\(f(x - 5)) \(f(y))Z\" fill=\"#9a6700\">\(tip)</path>"
        case .bar: return "<rect class=\"mark\" x=\"\(f(x - 1.5))\" y=\"\(f(y - 6))\" width=\"3\" height=\"12\" fill=\"#a40e26\">\(tip)</rect>"
        case .cross: return "<path d=\"M\(f(x - 4)) \(f(y - 4))L\(f(x + 4)) \(f(y + 4))M\(f(x + 4)) \(f(y - 4))L\(f(x - 4)) \(f(y + 4))\" stroke=\"#cf222e\" stroke-width=\"2\">\(tip)</path>"
        }
    }

    /// Ticks from 0 to at least `max`, on a 1, 2, 2.5 or 5 step.
    static func niceTicks(max: Double) -> [Double] { niceTicks(from: 0, to: max) }

    static func niceTicks(from lo: Double, to hi: Double) -> [Double] {
        let raw = (hi - lo) / 4
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = [1, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        let start = (lo / step).rounded(.down) * step
        var ticks: [Double] = []
        var t = start
        while t < hi + step * 0.999 && ticks.count < 12 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return ticks
    }

    /// About eight ticks over the x range, and their step: whole batches, or round times.
    static func xTicks(_ x0: Double, _ x1: Double, time: Bool) -> (ticks: [Double], step: Double) {
        let step: Double
        if time {
            let steps: [Double] = [1, 5, 10, 30, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400]
            step = steps.first { (x1 - x0) / $0 <= 8 } ?? 30 * 86400
        } else {
            let nice = niceTicks(from: x0, to: x1)
            step = Swift.max(1, ((nice.count > 1 ? nice[1] - nice[0] : 1)).rounded(.up))
        }
        var t = (x0 / step).rounded(.up) * step
        var out: [Double] = []
        while t <= x1 + 1e-9 {
            out.append(t)
            t += step
        }
        return (out, step)
    }

    /// Coordinates with two decimals at most.
    static func f(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(r)
    }
}
