import Foundation

// Online drift detectors for a stream of numbers, typically the per-row error of the production
// model on freshly labelled rows (0/1 misclassification, absolute error, log loss). Both are exact
// ports of River 0.26 (`river.drift.PageHinkley`, `river.drift.ADWIN` and its Rust helper
// `AdaptiveWindowing`): same defaults, same arithmetic in the same order, so they fire at the same
// indexes as River on the same stream. Their whole state is `Codable`, so the daemon can store a
// detector between batches and resume it as if the stream had never stopped.

/// The Page–Hinkley test (a two-sided CUSUM on the deviation from the running mean), as River 0.26.
///
/// For each value `x` (with `n` values seen since the last reset):
/// - the running mean is updated: `mean += (1 / n) * (x - mean)` (a plain cumulative mean, not faded);
/// - `dev = x - mean`;
/// - `sumIncrease = alpha * sumIncrease + dev - delta` and
///   `sumDecrease = alpha * sumDecrease + dev + delta`;
/// - `minIncrease = min(minIncrease, sumIncrease)` (starts at +∞) and
///   `maxDecrease = max(maxDecrease, sumDecrease)` (starts at −1, as River's does);
/// - once `n >= minInstances`, drift is `sumIncrease - minIncrease > threshold` (an increase of the
///   mean, `.up`), `maxDecrease - sumDecrease > threshold` (a decrease, `.down`), or either (`.both`).
///
/// After a detection the detector starts afresh on the *next* value, as River's does: the mean, the
/// sums and the extrema are forgotten, so `minInstances` values must pass before the next detection.
///
/// Parameters and defaults (River's): `minInstances` 30, `delta` 0.005 (the magnitude of change
/// that is tolerated), `threshold` 50 (λ), `alpha` 0.9999 (forgetting factor of the two sums),
/// `mode` `.both`.
///
/// A non-finite value poisons the sums as it does in River, and the state then no longer encodes
/// with a default `JSONEncoder`: feed only finite values.
///
/// ```swift
/// var ph = PageHinkley()
/// let errors = Array(repeating: 0.0, count: 500) + Array(repeating: 1.0, count: 500)
/// let detections = errors.indices.filter { ph.update(errors[$0]) }   // [553]
/// ```
package struct PageHinkley: Sendable, Codable, Equatable {
    /// Which change of the mean counts as drift.
    package enum Mode: String, Sendable, Codable {
        /// Only an increase of the mean (for an error stream: the model got worse).
        case up
        /// Only a decrease of the mean.
        case down
        /// Either direction.
        case both
    }

    /// Values needed since the last reset before a drift can be signalled.
    package let minInstances: Int
    /// Tolerated magnitude of change, subtracted from (added to) every deviation.
    package let delta: Double
    /// Detection threshold λ on the cumulative deviation.
    package let threshold: Double
    /// Forgetting factor applied to the cumulative sums at every value.
    package let alpha: Double
    /// Which direction of change is monitored.
    package let mode: Mode

    private var count: Double = 0
    private var mean: Double = 0
    private var sumIncrease: Double = 0
    private var sumDecrease: Double = 0
    /// `nil` stands for River's initial +∞ (which JSON cannot hold).
    private var minIncrease: Double?
    private var maxDecrease: Double = -1
    /// Whether the last value was a detection: the next `update` resets first, as River's does.
    private var driftDetected = false

    /// Creates a detector with River's defaults.
    package init(
        minInstances: Int = 30,
        delta: Double = 0.005,
        threshold: Double = 50,
        alpha: Double = 1 - 0.0001,
        mode: Mode = .both
    ) {
        self.minInstances = minInstances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode
    }

    /// Adds one value; returns true when drift is detected at this value (then the detector resets
    /// as River's does, before the next value is taken into account).
    package mutating func update(_ x: Double) -> Bool {
        if driftDetected { reset() }

        count += 1
        mean += (1 / count) * (x - mean)
        let dev = x - mean

        sumIncrease = alpha * sumIncrease + dev - delta
        sumDecrease = alpha * sumDecrease + dev + delta

        if sumIncrease < (minIncrease ?? .infinity) { minIncrease = sumIncrease }
        if sumDecrease > maxDecrease { maxDecrease = sumDecrease }

        if count >= Double(minInstances) {
            let testIncrease = sumIncrease - (minIncrease ?? .infinity)
            let testDecrease = maxDecrease - sumDecrease
            switch mode {
            case .up: driftDetected = testIncrease > threshold
            case .down: driftDetected = testDecrease > threshold
            case .both: driftDetected = testIncrease > threshold || testDecrease > threshold
            }
        }
        return driftDetected
    }

    private mutating func reset() {
        self = PageHinkley(minInstances: minInstances, delta: delta, threshold: threshold, alpha: alpha, mode: mode)
    }
}

/// ADWIN (ADaptive WINdowing, Bifet & Gavaldà 2007, the ADWIN2 variant), as River 0.26.
///
/// The window of recent values is kept as an exponential histogram: row `i` holds up to
/// `maxBuckets` buckets, each summarising `2^i` consecutive values by their total and their sum of
/// squared deviations (merged as in Babcock et al. 2003). A new value enters row 0 as a bucket of
/// one; when a row reaches `maxBuckets + 1` buckets its two oldest are merged into one bucket of the
/// next row, cascading upwards.
///
/// Every `clock` values (counted since the last reset), and only while the window holds more than
/// `gracePeriod` values, every split of the window at a bucket boundary into an older part `W0`
/// (`n0` values) and a newer part `W1` (`n1` values) is tested, oldest boundary first. With
/// `n` the window length, `σ²` the window's sum of squared deviations divided by `n`,
/// `δ' = ln(2 · ln(n) / delta)` and `m = 1/(n0 − minWindowLength + 1) + 1/(n1 − minWindowLength + 1)`,
/// a split where both parts hold at least `minWindowLength` values is a cut when
/// `|mean(W0) − mean(W1)| > sqrt(2 · m · σ² · δ') + 2/3 · δ' · m`.
/// On a cut the oldest bucket is dropped and the scan starts over, until no split is a cut; the
/// value is then a detection. As in River, the whole detector starts afresh on the *next* value
/// (the shrunken window stays visible in `width` and `estimation` until then).
///
/// Parameters and defaults (River's): `delta` 0.002 (significance), `clock` 32, `maxBuckets` 5,
/// `minWindowLength` 5, `gracePeriod` 10. `clock` and `maxBuckets` must be at least 1.
///
/// ```swift
/// var adwin = ADWIN()
/// let errors = Array(repeating: 0.0, count: 500) + Array(repeating: 1.0, count: 500)
/// let detections = errors.indices.filter { adwin.update(errors[$0]) }   // [511]
/// ```
package struct ADWIN: Sendable, Codable, Equatable {
    /// Significance of the cut test (smaller: fewer false alarms, later detections).
    package let delta: Double
    /// The cut test runs once every `clock` values.
    package let clock: Int
    /// Buckets per row before the two oldest are merged into the next row.
    package let maxBuckets: Int
    /// Least number of values on each side of a tested split.
    package let minWindowLength: Int
    /// No cut test while the window holds `gracePeriod` values or fewer.
    package let gracePeriod: Int

    /// One row of the exponential histogram: buckets of `2^row` values, oldest first.
    private struct Row: Sendable, Codable, Equatable {
        var totals: [Double] = []
        var variances: [Double] = []
    }

    private var rows: [Row] = [Row()]
    private var length = 0
    private var total: Double = 0
    /// Sum of squared deviations from the mean over the window (River's `variance`).
    private var variance: Double = 0
    /// Values since the last reset; the cut test runs when it is a multiple of `clock`.
    private var tick = 0
    /// Whether the last value was a detection: the next `update` resets first, as River's does.
    private var driftDetected = false

    /// Creates a detector with River's defaults.
    package init(
        delta: Double = 0.002, clock: Int = 32, maxBuckets: Int = 5, minWindowLength: Int = 5, gracePeriod: Int = 10
    ) {
        precondition(clock >= 1, "ADWIN clock must be at least 1")
        precondition(maxBuckets >= 1, "ADWIN maxBuckets must be at least 1")
        self.delta = delta
        self.clock = clock
        self.maxBuckets = maxBuckets
        self.minWindowLength = minWindowLength
        self.gracePeriod = gracePeriod
    }

    /// Current window length (number of values in the window).
    package var width: Int { length }

    /// Mean of the window (0 when it is empty).
    package var estimation: Double { length == 0 ? 0 : total / Double(length) }

    /// Adds one value; returns true when drift is detected at this value (then the detector resets
    /// as River's does, before the next value is taken into account).
    package mutating func update(_ x: Double) -> Bool {
        if driftDetected {
            self = ADWIN(
                delta: delta, clock: clock, maxBuckets: maxBuckets, minWindowLength: minWindowLength,
                gracePeriod: gracePeriod)
        }
        insert(x)
        driftDetected = detectChange()
        return driftDetected
    }

    private mutating func insert(_ x: Double) {
        rows[0].totals.append(x)
        rows[0].variances.append(0)

        length += 1
        let width = Double(length)
        var incrementalVariance = 0.0
        if width > 1 {
            let d = x - total / (width - 1)
            incrementalVariance = (width - 1) * d * d / width
        }
        variance += incrementalVariance
        total += x

        compress()
    }

    private mutating func compress() {
        var i = 0
        while rows[i].totals.count == maxBuckets + 1 {
            let n = Double(1 << i)
            let t0 = rows[i].totals[0], t1 = rows[i].totals[1]
            let mu1 = t0 / n
            let mu2 = t1 / n
            let merged = t0 + t1
            let mergedVariance = rows[i].variances[0] + rows[i].variances[1] + n * 0.5 * (mu1 - mu2) * (mu1 - mu2)

            if i + 1 == rows.count { rows.append(Row()) }
            rows[i + 1].totals.append(merged)
            rows[i + 1].variances.append(mergedVariance)
            rows[i].totals.removeFirst(2)
            rows[i].variances.removeFirst(2)

            if rows[i + 1].totals.count <= maxBuckets { break }
            i += 1
        }
    }

    /// Drops the oldest bucket (the first one of the top row) from the window.
    private mutating func deleteOldest() {
        let top = rows.count - 1
        let n = Double(1 << top)
        let u = rows[top].totals[0]
        let v = rows[top].variances[0]
        let mu = u / n

        length -= 1 << top
        let width = Double(length)
        total -= u
        let muWindow = total / width
        variance -= v + n * width * (mu - muWindow) * (mu - muWindow) / (n + width)

        rows[top].totals.removeFirst()
        rows[top].variances.removeFirst()
        if rows[top].totals.isEmpty { rows.removeLast() }
    }

    private mutating func detectChange() -> Bool {
        var changeDetected = false
        tick += 1
        guard tick % clock == 0, length > gracePeriod else { return false }

        let minLength = Double(minWindowLength)
        var reduceWidth = true
        while reduceWidth {
            reduceWidth = false
            var n0 = 0.0, n1 = Double(length)
            var u0 = 0.0, u1 = total
            scan: for i in stride(from: rows.count - 1, through: 0, by: -1) {
                let size = Double(1 << i)
                let count = rows[i].totals.count
                for k in 0..<count {
                    n0 += size
                    n1 -= size
                    let t = rows[i].totals[k]
                    u0 += t
                    u1 -= t
                    // The newest bucket is never tested alone as W1.
                    if i == 0 && k == count - 1 { break scan }

                    let deltaMean = (u0 / n0) - (u1 / n1)
                    if n1 >= minLength && n0 >= minLength && isCut(n0: n0, n1: n1, deltaMean: deltaMean) {
                        reduceWidth = true
                        changeDetected = true
                        if length > 0 {
                            deleteOldest()
                            break scan
                        }
                    }
                }
            }
        }
        return changeDetected
    }

    private func isCut(n0: Double, n1: Double, deltaMean: Double) -> Bool {
        let width = Double(length)
        let minLength = Double(minWindowLength)
        let deltaPrime = log(2 * log(width) / delta)
        let mRecip = 1 / (n0 - minLength + 1) + 1 / (n1 - minLength + 1)
        let epsilon = (2 * mRecip * (variance / width) * deltaPrime).squareRoot() + 2.0 / 3.0 * deltaPrime * mRecip
        return abs(deltaMean) > epsilon
    }

    // Decoding checks the invariants `update` relies on, so a damaged stored state is an error
    // rather than a crash in the daemon.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        delta = try c.decode(Double.self, forKey: .delta)
        clock = try c.decode(Int.self, forKey: .clock)
        maxBuckets = try c.decode(Int.self, forKey: .maxBuckets)
        minWindowLength = try c.decode(Int.self, forKey: .minWindowLength)
        gracePeriod = try c.decode(Int.self, forKey: .gracePeriod)
        rows = try c.decode([Row].self, forKey: .rows)
        length = try c.decode(Int.self, forKey: .length)
        total = try c.decode(Double.self, forKey: .total)
        variance = try c.decode(Double.self, forKey: .variance)
        tick = try c.decode(Int.self, forKey: .tick)
        driftDetected = try c.decode(Bool.self, forKey: .driftDetected)

        func invalid(_ message: String) -> DecodingError {
            .dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "invalid ADWIN state: \(message)"))
        }
        guard clock >= 1, maxBuckets >= 1 else { throw invalid("clock and maxBuckets must be at least 1") }
        guard !rows.isEmpty, rows.count < 63 else { throw invalid("bad number of bucket rows") }
        var held = 0
        for (i, row) in rows.enumerated() {
            guard row.totals.count == row.variances.count, row.totals.count <= maxBuckets else {
                throw invalid("row \(i) has \(row.totals.count) totals, \(row.variances.count) variances")
            }
            guard i == 0 || i < rows.count - 1 || !row.totals.isEmpty else { throw invalid("empty top row") }
            held += row.totals.count << i
        }
        guard held == length, tick >= 0 else { throw invalid("width \(length) but buckets hold \(held) values") }
    }
}
