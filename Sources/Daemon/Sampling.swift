/// SplitMix64: a small, fast, seedable generator, so that splits and samples are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform number in [0, 1) derived from `key` alone.
    static func unit(_ key: UInt64) -> Double {
        var g = SplitMix64(seed: key)
        return Double(g.next() >> 11) / Double(1 << 53)
    }
}

/// FNV-1a over a string, to turn batch hashes into seeds.
func fnv1a(_ text: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in text.utf8 {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01b3
    }
    return h
}

/// Whether row `row` of the batch with content hash `sha256` is held out for evaluation: a property
/// of the row alone, so the same batch always splits the same way.
func isHeldOut(sha256: String, row: Int, fraction: Double, seed: UInt64) -> Bool {
    SplitMix64.unit(fnv1a(sha256) ^ seed ^ (UInt64(row) &* 0x9E37_79B9_7F4A_7C15)) < fraction
}
