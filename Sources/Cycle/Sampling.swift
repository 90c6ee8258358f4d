import Tabular

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
    var g = SplitMix64(seed: fnv1a(sha256) ^ seed ^ (UInt64(row) &* SplitMix64.gamma))
    return g.nextUnit() < fraction
}
