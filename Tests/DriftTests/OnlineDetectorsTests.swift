import Foundation
import Testing

@testable import Drift

/// `Fixtures/online_detectors.json`, written by `scripts/fixtures/make_online_fixtures.py` with River 0.26.
struct OnlineDetectorsFixture: Decodable {
    struct Checkpoint: Decodable {
        var index: Int
        var width: Int
        var estimation: Double
    }

    struct Run: Decodable {
        var detections: [Int]
        var checkpoints: [Checkpoint]?
    }

    /// River's keyword arguments, snake_case.
    struct Params: Decodable {
        var delta: Double?
        var clock: Int?
        var max_buckets: Int?
        var min_window_length: Int?
        var grace_period: Int?
        var min_instances: Int?
        var threshold: Double?
        var alpha: Double?
        var mode: String?
    }

    struct Variant: Decodable {
        var detector: String
        var params: Params
        var detections: [Int]
        var checkpoints: [Checkpoint]?
    }

    struct Stream: Decodable {
        var name: String
        var values: [Double]
        var adwin: Run
        var page_hinkley: Run
        var variants: [Variant]
    }

    var generator: String
    var streams: [Stream]

    static func load() throws -> OnlineDetectorsFixture {
        let url = try #require(
            Bundle.module.url(forResource: "online_detectors", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(OnlineDetectorsFixture.self, from: Data(contentsOf: url))
    }

    func stream(_ name: String) throws -> Stream {
        try #require(streams.first { $0.name == name })
    }
}

extension OnlineDetectorsFixture.Params {
    func adwin() -> ADWIN {
        let d = ADWIN()
        return ADWIN(
            delta: delta ?? d.delta, clock: clock ?? d.clock, maxBuckets: max_buckets ?? d.maxBuckets,
            minWindowLength: min_window_length ?? d.minWindowLength, gracePeriod: grace_period ?? d.gracePeriod)
    }

    func pageHinkley() throws -> PageHinkley {
        let d = PageHinkley()
        return PageHinkley(
            minInstances: min_instances ?? d.minInstances, delta: delta ?? d.delta, threshold: threshold ?? d.threshold,
            alpha: alpha ?? d.alpha, mode: try mode.map { try #require(PageHinkley.Mode(rawValue: $0)) } ?? d.mode)
    }
}

/// What a run of ADWIN over a stream shows: detection indexes and (width, estimation) after every 100th value.
private func replay(_ detector: ADWIN, _ values: [Double]) -> (detections: [Int], checkpoints: [(Int, Int, Double)]) {
    var adwin = detector
    var detections: [Int] = []
    var checkpoints: [(Int, Int, Double)] = []
    for (i, x) in values.enumerated() {
        if adwin.update(x) { detections.append(i) }
        if (i + 1) % 100 == 0 { checkpoints.append((i, adwin.width, adwin.estimation)) }
    }
    return (detections, checkpoints)
}

private func replay(_ detector: PageHinkley, _ values: [Double]) -> [Int] {
    var ph = detector
    return values.indices.filter { ph.update(values[$0]) }
}

private func expectCheckpoints(
    _ actual: [(Int, Int, Double)], _ expected: [OnlineDetectorsFixture.Checkpoint], _ label: String
) {
    #expect(actual.count == expected.count, "\(label)")
    for (a, e) in zip(actual, expected) {
        #expect(a.0 == e.index, "\(label)")
        #expect(a.1 == e.width, "\(label) width at \(e.index)")
        #expect(abs(a.2 - e.estimation) <= 1e-12, "\(label) estimation at \(e.index): \(a.2) vs \(e.estimation)")
    }
}

/// Runs `detector` over `values`, encoding its state to JSON and decoding it back every `every` values
/// and right after each detection (the state that carries a pending reset).
private func detectionsWithRoundTrips<D: Codable & Equatable>(
    _ detector: D, _ values: [Double], every: Int, update: (inout D, Double) -> Bool
) throws -> (detections: [Int], final: D) {
    var d = detector
    var detections: [Int] = []
    for (i, x) in values.enumerated() {
        let fired = update(&d, x)
        if fired { detections.append(i) }
        if fired || (i + 1) % every == 0 {
            let data = try JSONEncoder().encode(d)
            let restored = try JSONDecoder().decode(D.self, from: data)
            #expect(restored == d, "state at \(i) changed through JSON")
            d = restored
        }
    }
    return (detections, d)
}

@Suite("Online drift detectors (River 0.26 parity)")
struct OnlineDetectorsTests {
    let fixture: OnlineDetectorsFixture

    init() throws { fixture = try OnlineDetectorsFixture.load() }

    @Test("the facts.md check: ADWIN fires once at 1055, Page–Hinkley at 696 and 1028")
    func factsCheck() throws {
        let s = try fixture.stream("gaussian_shift")
        #expect(s.values.count == 2000)
        #expect(replay(ADWIN(), s.values).detections == [1055])
        #expect(replay(PageHinkley(), s.values) == [696, 1028])
        #expect(s.adwin.detections == [1055])
        #expect(s.page_hinkley.detections == [696, 1028])
    }

    @Test("ADWIN with River's defaults fires where River does, with the same width and estimation")
    func adwinDefaults() throws {
        for s in fixture.streams {
            let run = replay(ADWIN(), s.values)
            #expect(run.detections == s.adwin.detections, "\(s.name)")
            expectCheckpoints(run.checkpoints, s.adwin.checkpoints ?? [], s.name)
        }
    }

    @Test("Page–Hinkley with River's defaults fires where River does")
    func pageHinkleyDefaults() throws {
        for s in fixture.streams {
            #expect(replay(PageHinkley(), s.values) == s.page_hinkley.detections, "\(s.name)")
        }
    }

    @Test("non-default parameters and one-sided modes match River too")
    func variants() throws {
        for s in fixture.streams {
            for v in s.variants {
                let label = "\(s.name) \(v.detector) \(v.params)"
                switch v.detector {
                case "adwin":
                    let run = replay(v.params.adwin(), s.values)
                    #expect(run.detections == v.detections, "\(label)")
                    expectCheckpoints(run.checkpoints, v.checkpoints ?? [], label)
                case "page_hinkley":
                    #expect(replay(try v.params.pageHinkley(), s.values) == v.detections, "\(label)")
                default:
                    Issue.record("unknown detector \(v.detector)")
                }
            }
        }
    }

    @Test("a detector saved to JSON mid-stream and resumed detects exactly as an uninterrupted one")
    func resumeThroughJSON() throws {
        for s in fixture.streams {
            for every in [1, 97, 500] {
                let adwin = try detectionsWithRoundTrips(ADWIN(), s.values, every: every) { $0.update($1) }
                #expect(adwin.detections == s.adwin.detections, "\(s.name) ADWIN every \(every)")
                var straight = ADWIN()
                for x in s.values { _ = straight.update(x) }
                #expect(adwin.final == straight, "\(s.name) ADWIN every \(every)")

                let ph = try detectionsWithRoundTrips(PageHinkley(), s.values, every: every) { $0.update($1) }
                #expect(ph.detections == s.page_hinkley.detections, "\(s.name) Page–Hinkley every \(every)")
            }
        }
    }

    @Test("a fresh detector's state encodes to plain JSON (no infinities)")
    func freshStateEncodes() throws {
        for d in [PageHinkley(), PageHinkley(mode: .up)] {
            #expect(try JSONDecoder().decode(PageHinkley.self, from: JSONEncoder().encode(d)) == d)
        }
        let adwin = ADWIN(delta: 0.01, clock: 4)
        #expect(try JSONDecoder().decode(ADWIN.self, from: JSONEncoder().encode(adwin)) == adwin)
    }

    @Test("a damaged ADWIN state is a decoding error, not a crash")
    func damagedState() throws {
        var adwin = ADWIN()
        for i in 0..<100 { _ = adwin.update(Double(i % 2)) }
        let data = try JSONEncoder().encode(adwin)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        object["length"] = 99
        let damaged = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ADWIN.self, from: damaged) }
        object["length"] = 100
        object["clock"] = 0
        let zeroClock = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ADWIN.self, from: zeroClock) }
    }

    @Test("after a detection the next value starts a fresh window, as in River")
    func resetAfterDetection() throws {
        let s = try fixture.stream("gaussian_shift")
        var adwin = ADWIN()
        for x in s.values[...1055] { _ = adwin.update(x) }
        #expect(adwin.width < 1056)
        #expect(adwin.width > 1)
        _ = adwin.update(s.values[1056])
        #expect(adwin.width == 1)
        #expect(adwin.estimation == s.values[1056])
    }

    @Test("the doc comment examples give the detections they state")
    func docExamples() {
        let errors = Array(repeating: 0.0, count: 500) + Array(repeating: 1.0, count: 500)
        var ph = PageHinkley()
        #expect(errors.indices.filter { ph.update(errors[$0]) } == [553])
        var adwin = ADWIN()
        #expect(errors.indices.filter { adwin.update(errors[$0]) } == [511])
    }
}
