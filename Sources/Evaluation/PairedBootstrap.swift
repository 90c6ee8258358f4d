import Dispatch
import Foundation
import Tabular

/// A bootstrap interval of `metric(candidate) − metric(production)` on the same rows.
package struct DifferenceInterval: Sendable, Codable, Equatable {
    /// The difference on all rows; NaN when the metric is undefined on them (one class for ROC-AUC).
    package var estimate: Double
    /// Percentile bounds; NaN when every resample was undefined.
    package var lower: Double
    package var upper: Double
    package var level: Double
    package var resamples: Int
    package var seed: UInt64
    /// Resamples where the metric of either model was undefined (e.g. one class) and that were skipped.
    package var undefined: Int

    package init(estimate: Double, lower: Double, upper: Double, level: Double, resamples: Int, seed: UInt64, undefined: Int) {
        self.estimate = estimate
        self.lower = lower
        self.upper = upper
        self.level = level
        self.resamples = resamples
        self.seed = seed
        self.undefined = undefined
    }
}

/// The paired percentile bootstrap of a metric difference between two models scored on the same rows.
///
/// Resampling scheme (reproduced exactly by `scripts/fixtures/make_bootstrap_delong_fixtures.py`):
/// * resample `r` (0-based) draws from its own SplitMix64 stream, seeded with the `r`-th output of
///   `SplitMix64(seed)`. Each resample is its own block of work, so the result does not depend on
///   how many cores share the resamples;
/// * a resample makes `n` draws; a draw maps to a row in `0..<n` by Lemire's multiply-shift with
///   rejection (unbiased);
/// * the drawn rows are applied to both score vectors together;
/// * a resample where either model's metric is undefined is skipped and counted in `undefined`;
/// * the bounds are numpy's default ("linear") quantiles of the kept differences at
///   `(1 − level) / 2` and `1 − (1 − level) / 2`.
package enum PairedBootstrap {
    /// The percentile bootstrap interval of `metric(candidate) − metric(production)` for any metric.
    ///
    /// Each resample materialises the resampled labels and scores (in draw order) and calls `metric`
    /// on them; it runs on one core. For the gate's metrics prefer ``interval(for:labels:candidate:production:threshold:resamples:level:seed:)``.
    package static func interval(
        labels: [Bool], candidate: [Double], production: [Double],
        metric: (_ labels: [Bool], _ scores: [Double]) -> Double?,
        resamples: Int = 1000, level: Double = 0.95, seed: UInt64 = 0
    ) -> DifferenceInterval {
        validate(labels: labels, candidate: candidate, production: production, resamples: resamples, level: level)
        return interval(rows: labels.count, resamples: resamples, level: level, seed: seed) { rows in
            let y = rows.map { labels[$0] }
            return (metric(y, rows.map { candidate[$0] }), metric(y, rows.map { production[$0] }))
        }
    }

    /// The percentile bootstrap interval of a difference between two models on the same `rows` rows,
    /// for any task: `metrics(indexes)` gives both models' metric on the rows at `indexes` (all rows in
    /// order for the estimate, then each resample's draws, in draw order; the same draws as the other
    /// intervals with the same seed). Runs on one core.
    package static func interval(
        rows n: Int, resamples: Int = 1000, level: Double = 0.95, seed: UInt64 = 0,
        metrics: (_ indexes: [Int]) -> (candidate: Double?, production: Double?)
    ) -> DifferenceInterval {
        precondition(n > 0, "at least one row")
        precondition(resamples >= 1, "at least one resample")
        precondition(level > 0 && level < 1, "level in (0, 1)")
        let all = metrics(Array(0..<n))
        let estimate = difference(all.candidate, all.production)
        var diffs = [Double](repeating: .nan, count: resamples)
        var indexes = [Int](repeating: 0, count: n)
        for r in 0..<resamples {
            var gen = SplitMix64(seed: resampleSeed(seed, r))
            for k in 0..<n { indexes[k] = Int(gen.next(below: UInt64(n))) }
            let m = metrics(indexes)
            diffs[r] = difference(m.candidate, m.production)
        }
        return summarise(diffs, estimate: estimate, level: level, seed: seed)
    }

    /// The interval for one of the gate's metrics, by its fast path: ROC-AUC by
    /// ``rocAUCInterval(labels:candidate:production:resamples:level:seed:)``, the threshold metrics by
    /// weighted confusion counts. Values equal the generic ``interval(labels:candidate:production:metric:resamples:level:seed:)``
    /// with the corresponding `BinaryMetrics` definition.
    package static func interval(
        for metric: Metric, labels: [Bool], candidate: [Double], production: [Double],
        threshold: Double = 0.5, resamples: Int = 1000, level: Double = 0.95, seed: UInt64 = 0
    ) -> DifferenceInterval {
        interval(for: metric, labels: labels, candidate: candidate, production: production, threshold: threshold,
                 resamples: resamples, level: level, seed: seed, workers: defaultWorkers(resamples))
    }

    /// Fast path for accuracy at `threshold` (a row is predicted positive when its score is ≥ `threshold`).
    package static func accuracyInterval(
        labels: [Bool], candidate: [Double], production: [Double],
        threshold: Double = 0.5, resamples: Int = 1000, level: Double = 0.95, seed: UInt64 = 0
    ) -> DifferenceInterval {
        interval(for: .accuracy, labels: labels, candidate: candidate, production: production, threshold: threshold,
                 resamples: resamples, level: level, seed: seed)
    }

    /// Fast path for ROC-AUC. Each score vector is sorted once; a resample is a vector of row
    /// multiplicities, and the AUC with integer weights (weighted Mann–Whitney, ties counting one half)
    /// is one pass over the pre-sorted order in exact integer arithmetic, so each resample is O(n)
    /// with no sorting. Resamples are shared between the available cores.
    package static func rocAUCInterval(
        labels: [Bool], candidate: [Double], production: [Double],
        resamples: Int = 1000, level: Double = 0.95, seed: UInt64 = 0
    ) -> DifferenceInterval {
        rocAUCInterval(labels: labels, candidate: candidate, production: production,
                       resamples: resamples, level: level, seed: seed, workers: defaultWorkers(resamples))
    }

    // MARK: - Fast paths with an explicit number of workers (tests force 1 or many)

    static func interval(
        for metric: Metric, labels: [Bool], candidate: [Double], production: [Double],
        threshold: Double, resamples: Int, level: Double, seed: UInt64, workers: Int
    ) -> DifferenceInterval {
        switch metric {
        case .rocAUC:
            return rocAUCInterval(labels: labels, candidate: candidate, production: production,
                                  resamples: resamples, level: level, seed: seed, workers: workers)
        case .accuracy, .precision, .recall, .f1:
            return thresholdInterval(metric, labels: labels, candidate: candidate, production: production,
                                     threshold: threshold, resamples: resamples, level: level, seed: seed, workers: workers)
        }
    }

    static func rocAUCInterval(
        labels: [Bool], candidate: [Double], production: [Double],
        resamples: Int, level: Double, seed: UInt64, workers: Int
    ) -> DifferenceInterval {
        validate(labels: labels, candidate: candidate, production: production, resamples: resamples, level: level)
        let n = labels.count
        let c = SortedScores(labels: labels, scores: candidate)
        let p = SortedScores(labels: labels, scores: production)
        let ones = [UInt32](repeating: 1, count: n)
        let estimate = difference(c.auc(weights: ones), p.auc(weights: ones))
        let diffs = parallelResamples(resamples, workers: workers) { range, out in
            var counts = [UInt32](repeating: 0, count: n)
            counts.withUnsafeMutableBufferPointer { w in
                for r in range {
                    w.update(repeating: 0)
                    var gen = SplitMix64(seed: resampleSeed(seed, r))
                    for _ in 0..<n { w[Int(gen.next(below: UInt64(n)))] &+= 1 }
                    out[r] = difference(c.auc(weights: UnsafeBufferPointer(w)), p.auc(weights: UnsafeBufferPointer(w)))
                }
            }
        }
        return summarise(diffs, estimate: estimate, level: level, seed: seed)
    }

    static func thresholdInterval(
        _ metric: Metric, labels: [Bool], candidate: [Double], production: [Double],
        threshold: Double, resamples: Int, level: Double, seed: UInt64, workers: Int
    ) -> DifferenceInterval {
        validate(labels: labels, candidate: candidate, production: production, resamples: resamples, level: level)
        let n = labels.count
        // Each row's confusion cell for both models, packed as candidate * 4 + production; a resample
        // only needs the 16 weighted cell counts.
        func cell(_ y: Bool, _ s: Double) -> UInt8 {
            switch (y, s >= threshold) {
            case (true, true): 0  // tp
            case (false, true): 1  // fp
            case (false, false): 2  // tn
            case (true, false): 3  // fn
            }
        }
        let code = (0..<n).map { cell(labels[$0], candidate[$0]) &* 4 &+ cell(labels[$0], production[$0]) }
        @Sendable func value(_ joint: UnsafePointer<Int>) -> Double {
            var cc = ConfusionCounts(), pc = ConfusionCounts()
            for k in 0..<16 {
                cc.add(cell: k / 4, joint[k])
                pc.add(cell: k % 4, joint[k])
            }
            return difference(cc.value(of: metric), pc.value(of: metric))
        }
        var all = [Int](repeating: 0, count: 16)
        for k in code { all[Int(k)] += 1 }
        let estimate = all.withUnsafeBufferPointer { value($0.baseAddress!) }
        let diffs = parallelResamples(resamples, workers: workers) { range, out in
            code.withUnsafeBufferPointer { code in
                var joint = [Int](repeating: 0, count: 16)
                joint.withUnsafeMutableBufferPointer { joint in
                    for r in range {
                        joint.update(repeating: 0)
                        var gen = SplitMix64(seed: resampleSeed(seed, r))
                        for _ in 0..<n { joint[Int(code[Int(gen.next(below: UInt64(n)))])] += 1 }
                        out[r] = value(UnsafePointer(joint.baseAddress!))
                    }
                }
            }
        }
        return summarise(diffs, estimate: estimate, level: level, seed: seed)
    }

    // MARK: - Shared pieces

    /// The seed of resample `r`'s stream: the `r`-th (0-based) output of `SplitMix64(seed)`.
    static func resampleSeed(_ seed: UInt64, _ r: Int) -> UInt64 {
        SplitMix64.mix(seed &+ UInt64(r + 1) &* SplitMix64.gamma)
    }

    static func defaultWorkers(_ resamples: Int) -> Int {
        max(1, min(ProcessInfo.processInfo.activeProcessorCount, resamples))
    }

    /// Runs `body` on contiguous blocks of resample indices on up to `workers` threads; `body` writes
    /// resample `r`'s difference (NaN when undefined) to `out[r]`. Each resample has its own
    /// generator, so the split does not affect the values.
    static func parallelResamples(
        _ resamples: Int, workers: Int,
        _ body: @Sendable (Range<Int>, UnsafeMutableBufferPointer<Double>) -> Void
    ) -> [Double] {
        let workers = max(1, min(workers, resamples))
        return [Double](unsafeUninitializedCapacity: resamples) { buffer, count in
            buffer.initialize(repeating: .nan)
            // Workers write disjoint ranges of the buffer.
            nonisolated(unsafe) let out = buffer
            if workers == 1 {
                body(0..<resamples, out)
            } else {
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    let lo = resamples * w / workers, hi = resamples * (w + 1) / workers
                    body(lo..<hi, out)
                }
            }
            count = resamples
        }
    }

    static func difference(_ a: Double?, _ b: Double?) -> Double {
        guard let a, let b else { return .nan }
        return a - b
    }

    static func summarise(_ diffs: [Double], estimate: Double, level: Double, seed: UInt64) -> DifferenceInterval {
        let kept = diffs.filter { !$0.isNaN }.sorted()
        let alpha = (1 - level) / 2
        return DifferenceInterval(
            estimate: estimate,
            lower: numpyLinearQuantile(sorted: kept, alpha),
            upper: numpyLinearQuantile(sorted: kept, 1 - alpha),
            level: level, resamples: diffs.count, seed: seed, undefined: diffs.count - kept.count)
    }

    /// numpy's default (`method="linear"`, Hyndman & Fan type 7) quantile of sorted values, including
    /// numpy's choice of interpolation formula for weights ≥ 0.5.
    static func numpyLinearQuantile(sorted x: [Double], _ q: Double) -> Double {
        guard !x.isEmpty else { return .nan }
        let n = x.count
        let virtual = Double(n - 1) * q
        if virtual <= 0 { return x[0] }
        if virtual >= Double(n - 1) { return x[n - 1] }
        let i = Int(virtual.rounded(.down))
        let t = virtual - Double(i)
        let a = x[i], b = x[i + 1]
        let d = b - a
        return t >= 0.5 ? b - d * (1 - t) : a + d * t
    }

    static func validate(labels: [Bool], candidate: [Double], production: [Double], resamples: Int, level: Double) {
        precondition(labels.count == candidate.count && labels.count == production.count, "one score per label for both models")
        precondition(!labels.isEmpty, "at least one row")
        precondition(resamples >= 1, "at least one resample")
        precondition(level > 0 && level < 1, "level in (0, 1)")
    }
}

extension SplitMix64 {
    /// A uniform integer in `0..<n` by Lemire's multiply-shift with rejection.
    @inline(__always)
    mutating func next(below n: UInt64) -> UInt64 {
        var m = next().multipliedFullWidth(by: n)
        if m.low < n {
            let t = (0 &- n) % n
            while m.low < t { m = next().multipliedFullWidth(by: n) }
        }
        return m.high
    }
}

/// One model's scores sorted once, with tie groups, for weighted ROC-AUC.
struct SortedScores: Sendable {
    /// Rows in ascending score order.
    let rows: [Int32]
    /// Whether the row at each sorted position is positive.
    let positive: [Bool]
    /// End (exclusive) of each tie group in sorted positions.
    let groupEnds: [Int32]

    init(labels: [Bool], scores: [Double]) {
        precondition(labels.count < Int(Int32.max))
        let order = (0..<labels.count).sorted { scores[$0] < scores[$1] }
        rows = order.map { Int32($0) }
        positive = order.map { labels[$0] }
        var ends: [Int32] = []
        for k in 1..<max(order.count, 1) where scores[order[k]] != scores[order[k - 1]] {
            ends.append(Int32(k))
        }
        if !order.isEmpty { ends.append(Int32(order.count)) }
        groupEnds = ends
    }

    func auc(weights: [UInt32]) -> Double? {
        weights.withUnsafeBufferPointer { auc(weights: $0) }
    }

    /// ROC-AUC when row `i` appears `weights[i]` times: the Mann–Whitney statistic with ties as one
    /// half, accumulated exactly as twice the area in integers; `nil` with one class.
    @inline(__always)
    func auc(weights w: UnsafeBufferPointer<UInt32>) -> Double? {
        rows.withUnsafeBufferPointer { rows in
            positive.withUnsafeBufferPointer { positive in
                groupEnds.withUnsafeBufferPointer { ends in
                    var negativesBelow = 0, positives = 0, twiceArea = 0
                    var k = 0
                    for end in ends {
                        var wp = 0, wn = 0
                        while k < Int(end) {
                            let c = Int(w[Int(rows[k])])
                            if positive[k] { wp &+= c } else { wn &+= c }
                            k &+= 1
                        }
                        twiceArea &+= wp &* (2 &* negativesBelow &+ wn)
                        negativesBelow &+= wn
                        positives &+= wp
                    }
                    guard positives > 0, negativesBelow > 0 else { return nil }
                    // Both products are exact integers in Double, so this equals the trapezoid
                    // `area / (P · N)` of `BinaryMetrics.rocAUC` bit for bit.
                    return Double(twiceArea) / (2 * (Double(positives) * Double(negativesBelow)))
                }
            }
        }
    }
}

/// Confusion counts with `BinaryMetrics`' formulas (scikit-learn's, `zero_division=0`).
struct ConfusionCounts {
    var tp = 0, fp = 0, tn = 0, fn = 0

    mutating func add(cell: Int, _ count: Int) {
        switch cell {
        case 0: tp += count
        case 1: fp += count
        case 2: tn += count
        default: fn += count
        }
    }

    func value(of metric: Metric) -> Double? {
        let rows = tp + fp + tn + fn
        switch metric {
        case .accuracy: return rows == 0 ? 0 : Double(tp + tn) / Double(rows)
        case .precision: return tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp)
        case .recall: return tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
        case .f1: return 2 * tp + fp + fn == 0 ? 0 : Double(2 * tp) / Double(2 * tp + fp + fn)
        case .rocAUC: return nil
        }
    }
}
