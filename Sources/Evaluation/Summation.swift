/// Summation helpers matching numpy where it matters.
enum Summation {
    /// numpy's pairwise summation (`pairwise_sum` in numpy's umath loops), bit for bit: fewer than
    /// 8 values are added in order from 0; up to 128 use eight interleaved accumulators combined as
    /// `((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))` then the remainder; longer runs split at half the
    /// length rounded down to a multiple of 8. `np.mean` (and so `r2_score`'s mean of the target)
    /// is this sum divided by n, and r2_score's constant-target rule depends on that mean exactly.
    static func numpyPairwise(_ a: UnsafeBufferPointer<Double>) -> Double {
        let n = a.count
        if n < 8 {
            var res = 0.0
            for x in a { res += x }
            return res
        }
        if n <= 128 {
            var r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7]
            var i = 8
            let end = n - n % 8
            while i < end {
                r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3]
                r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7]
                i += 8
            }
            var res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
            while i < n {
                res += a[i]
                i += 1
            }
            return res
        }
        var n2 = n / 2
        n2 -= n2 % 8
        return numpyPairwise(UnsafeBufferPointer(rebasing: a[0..<n2]))
            + numpyPairwise(UnsafeBufferPointer(rebasing: a[n2..<n]))
    }

    static func numpyMean(_ a: [Double]) -> Double {
        a.withUnsafeBufferPointer { numpyPairwise($0) } / Double(a.count)
    }
}

/// Neumaier-compensated running sum: within an ulp or two of the exact sum regardless of order,
/// so streaming means agree with numpy's pairwise means far inside the tests' 1e-9 tolerance.
struct CompensatedSum {
    var sum = 0.0
    var compensation = 0.0

    @inline(__always)
    mutating func add(_ x: Double) {
        let t = sum + x
        if abs(sum) >= abs(x) {
            compensation += (sum - t) + x
        } else {
            compensation += (x - t) + sum
        }
        sum = t
    }

    var value: Double { sum + compensation }
}
