import Foundation
import Tabular
import Testing

@testable import Drift

struct PSIFixture: Decodable {
    struct Case: Decodable {
        var name: String
        var kind: String
        var bins: Int
        var reference: [Value?]
        var current: [Value?]
        var edges: [Double]?
        var categories: [String]?
        var reference_counts: [Int]
        var current_counts: [Int]
        var psi: Double
    }

    enum Value: Decodable {
        case number(Double)
        case text(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let x = try? c.decode(Double.self) { self = .number(x) } else { self = .text(try c.decode(String.self)) }
        }
    }

    var cases: [Case]

    static func load() throws -> PSIFixture {
        let url = try #require(Bundle.module.url(forResource: "psi", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(PSIFixture.self, from: Data(contentsOf: url))
    }
}

extension PSIFixture.Case {
    func column(_ values: [PSIFixture.Value?]) -> Column {
        if kind == "numeric" {
            return .numeric(values.map { v in if case .number(let x)? = v { x } else { .nan } })
        }
        var levels: [String] = []
        var index: [String: Int32] = [:]
        let codes: [Int32] = values.map { v in
            guard case .text(let s)? = v, !s.isEmpty else { return -1 }
            if let i = index[s] { return i }
            levels.append(s)
            index[s] = Int32(levels.count - 1)
            return Int32(levels.count - 1)
        }
        return .categorical(codes: codes, levels: levels)
    }
}

@Suite("PSI with reference-quantile bins agrees with the NumPy definition")
struct PSITests {
    static let names = (try? PSIFixture.load().cases.map(\.name)) ?? []

    @Test("edges, bin counts and PSI match the fixture", arguments: names)
    func matchesFixture(name: String) throws {
        let c = try #require(try PSIFixture.load().cases.first { $0.name == name })
        let profile = ColumnProfile(name: name, column: c.column(c.reference), bins: c.bins)
        if let edges = c.edges { #expect(profile.edges == edges) }
        if let categories = c.categories { #expect(profile.categories == categories) }
        #expect(profile.counts == c.reference_counts)
        let current = profile.binCounts(c.column(c.current))
        #expect(current == c.current_counts)
        let value = psi(reference: profile.counts, current: current)
        #expect(abs(value - c.psi) <= 1e-9 * max(1, abs(c.psi)))
    }

    @Test("identical histograms have PSI 0 and empty bins on both sides add nothing")
    func identicalIsZero() {
        #expect(psi(reference: [10, 20, 0], current: [20, 40, 0]) == 0)
    }

    @Test("an empty bin on one side gives a large but finite PSI")
    func emptyBinIsSmoothed() {
        let v = psi(reference: [100, 0], current: [50, 50])
        #expect(v.isFinite)
        #expect(v > 3)
    }
}
