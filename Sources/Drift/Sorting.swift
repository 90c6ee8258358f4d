import Synchronization

/// The non-missing values of a column, sorted ascending.
///
/// An LSD radix sort on the IEEE-754 bit patterns (flipped so that unsigned order is numeric
/// order): six passes of 11 bits (a pass's 2,048 counters and write positions stay in the L1
/// cache), all six histograms counted in one read, a pass skipped when every key shares its digit.
/// Two buffers take turns; the result is decoded in place in the one the last pass wrote. On
/// 1,000,000 values it takes about a tenth of the time of the standard library's comparison sort,
/// which was most of the drift check's time on a million rows (Benchmarks/drift_bench.py).
///
/// Both buffers come from `buffers` and the sorted one goes back there once the caller is done
/// with it (``SortBuffers``).
func sortedPresent(_ values: [Double], buffers: SortBuffers) -> [Double] {
    let n = values.reduce(0) { $0 + ($1.isNaN ? 0 : 1) }
    if n < 4096 {
        var small = values.filter { !$0.isNaN }
        small.sort()
        return small
    }
    let digits = 6, radix = 1 << 11, mask: UInt64 = (1 << 11) - 1
    var histograms = [Int](repeating: 0, count: digits * radix)
    // Keys live in arrays of doubles (the same 8 bytes) so that the sorted one is returned as it is.
    var keys = buffers.take(n)
    keys.withUnsafeMutableBufferPointer { doubles in
        doubles.withMemoryRebound(to: UInt64.self) { buffer in histograms.withUnsafeMutableBufferPointer { h in
            var j = 0
            for x in values where !x.isNaN {
                let bits = x.bitPattern
                let key = bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
                buffer[j] = key
                j += 1
                for d in 0..<digits { h[d * radix + Int((key >> UInt64(11 * d)) & mask)] += 1 }
            }
        } }
    }
    var scratch = buffers.take(n)
    let first = keys[0].bitPattern
    histograms.withUnsafeMutableBufferPointer { h in
        for pass in 0..<digits {
            let shift = UInt64(11 * pass)
            let offset = pass * radix
            if h[offset + Int((first >> shift) & mask)] == n { continue }
            var sum = 0
            for d in 0..<radix {
                let c = h[offset + d]
                h[offset + d] = sum
                sum += c
            }
            keys.withUnsafeMutableBufferPointer { source in
                scratch.withUnsafeMutableBufferPointer { target in
                    source.withMemoryRebound(to: UInt64.self) { src in target.withMemoryRebound(to: UInt64.self) { dst in
                    for i in 0..<n {
                        let key = src[i]
                        let d = offset + Int((key >> shift) & mask)
                        dst[h[d]] = key
                        h[d] += 1
                    }
                    } }
                }
            }
            swap(&keys, &scratch)
        }
    }
    buffers.give(scratch)
    keys.withUnsafeMutableBufferPointer { doubles in
        doubles.withMemoryRebound(to: UInt64.self) { k in
            for i in 0..<n {
                let key = k[i]
                k[i] = key & (1 << 63) != 0 ? key & ~(1 << 63) : ~key
            }
        }
    }
    return keys
}

/// Arrays of doubles lent to the sorts of one drift computation and reused from column to column.
///
/// A column of 10M values sorts in two 80 MB arrays. The allocator returns arrays that large to the
/// kernel when they are freed (glibc keeps only those up to 32 MB), so new ones for every column
/// had the kernel clear 3.2 GB of fresh pages in a 10M-row drift check, longer than the sorts took.
/// Reused, a worker's two arrays are cleared once. The arrays are freed with the last reference to
/// the lender, at the end of the computation that made it (the daemon keeps none between checks).
package final class SortBuffers: Sendable {
    private let free = Mutex<[[Double]]>([])

    package init() {}

    /// An array of `n` values, their contents undefined: a returned one when one has room for them.
    func take(_ n: Int) -> [Double] {
        guard var a = free.withLock({ $0.popLast() }), a.capacity >= n else {
            // Not written first: the sort writes every value before it reads one.
            return [Double](unsafeUninitializedCapacity: n) { _, count in count = n }
        }
        if a.count > n {
            a.removeLast(a.count - n)
        } else if a.count < n {
            a.append(contentsOf: repeatElement(0, count: n - a.count))
        }
        return a
    }

    /// Returns `array` for a later ``take(_:)``.
    func give(_ array: consuming [Double]) {
        let a = array
        free.withLock { $0.append(a) }
    }
}
