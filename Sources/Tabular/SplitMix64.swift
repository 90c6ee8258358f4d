/// SplitMix64 (Steele, Lea & Flood 2014), as in Java's `SplittableRandom` and Vigna's reference
/// code: small, fast, and the same numbers on every platform and Swift version (unlike the standard
/// library's generator and shuffle), so holdout splits, reference samples, initial weights and
/// bootstrap resamples reproduce. The one generator of the whole package.
@frozen
package struct SplitMix64: RandomNumberGenerator {
    package static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15
    package var state: UInt64

    @inlinable
    package init(seed: UInt64) { state = seed }

    /// The output function: a bijective mix of 64 bits.
    @inlinable @inline(__always)
    package static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inlinable @inline(__always)
    package mutating func next() -> UInt64 {
        state &+= Self.gamma
        return Self.mix(state)
    }

    /// Uniform in [0, 1), 53 random bits.
    @inlinable @inline(__always)
    package mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
