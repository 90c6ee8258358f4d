/// Sorting for the ranking metrics (ROC-AUC, average precision).
///
/// A copy of the approach in `Drift/Sorting.swift` (modules do not share internals): an LSD radix
/// sort on IEEE-754 bit patterns flipped so that unsigned order is numeric order, four passes of
/// 16 bits. Callers build the keys themselves (in the pass that reads the rows) together with the
/// four digit histograms, so the sort itself only scatters.
enum ScoreRadixSort {
    /// The order-preserving key of a non-NaN double: ascending keys are ascending values (with
    /// -0.0 immediately before +0.0, which compare equal).
    @inline(__always)
    static func key(_ x: Double) -> UInt64 {
        let bits = x.bitPattern
        return bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
    }

    @inline(__always)
    static func value(_ key: UInt64) -> Double {
        Double(bitPattern: key & (1 << 63) != 0 ? key & ~(1 << 63) : ~key)
    }

    /// Adds a key's four 16-bit digits to `histograms` (4 × 65,536 counts).
    @inline(__always)
    static func count(_ key: UInt64, into h: UnsafeMutablePointer<Int>) {
        h[Int(key & 0xFFFF)] += 1
        h[65536 + Int((key >> 16) & 0xFFFF)] += 1
        h[131_072 + Int((key >> 32) & 0xFFFF)] += 1
        h[196_608 + Int(key >> 48)] += 1
    }

    /// Sorts `keys[0..<n]` ascending in place, given its digit histograms (which it consumes).
    /// `scratch` must hold at least `n` elements. Small inputs use the standard library's sort.
    static func sort(
        _ keys: UnsafeMutableBufferPointer<UInt64>, count n: Int,
        histograms h: UnsafeMutablePointer<Int>, scratch: UnsafeMutableBufferPointer<UInt64>
    ) {
        guard n > 1 else { return }
        if n < 4096 {
            var head = UnsafeMutableBufferPointer(rebasing: keys[0..<n])
            head.sort()
            return
        }
        var src = keys.baseAddress!
        var dst = scratch.baseAddress!
        for pass in 0..<4 {
            let shift = UInt64(16 * pass)
            let offset = pass << 16
            // A digit shared by every key leaves the order as it is: skip the pass.
            if h[offset + Int((src[0] >> shift) & 0xFFFF)] == n { continue }
            var sum = 0
            for d in 0..<65536 {
                let c = h[offset + d]
                h[offset + d] = sum
                sum += c
            }
            for i in 0..<n {
                let key = src[i]
                let d = offset + Int((key >> shift) & 0xFFFF)
                dst[h[d]] = key
                h[d] += 1
            }
            swap(&src, &dst)
        }
        if src != keys.baseAddress! {
            keys.baseAddress!.update(from: src, count: n)
        }
    }
}
