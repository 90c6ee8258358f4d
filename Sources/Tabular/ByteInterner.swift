/// Maps a field's raw bytes to its category code without building a `String` or hashing twice:
/// an open-addressing table over FNV-1a hashes, with the keys' bytes kept in one flat buffer.
/// Reading a categorical column costs one hash and one byte comparison per value; a `String` is
/// made only the first time a value is seen.
struct ByteInterner {
    private var slots: [Int32]  // index into `entries`, or -1 when empty
    private var starts: [Int] = []
    private var lengths: [Int] = []
    private var codes: [Int32] = []
    private var hashes: [UInt64] = []
    private var bytes: [UInt8] = []

    init() { slots = [Int32](repeating: -1, count: 64) }

    /// The code stored for these bytes, if any.
    func find(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        let h = Self.hash(key)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { return nil }
            if hashes[e] == h, lengths[e] == key.count, equal(e, key) { return codes[e] }
            i = (i + 1) & mask
        }
    }

    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, code: Int32) {
        if (codes.count + 1) * 2 > slots.count { grow() }
        let h = Self.hash(key)
        starts.append(bytes.count)
        lengths.append(key.count)
        codes.append(code)
        hashes.append(h)
        bytes.append(contentsOf: key)
        place(codes.count - 1, hash: h)
    }

    private mutating func place(_ entry: Int, hash: UInt64) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = Int32(entry)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        for e in 0..<codes.count { place(e, hash: hashes[e]) }
    }

    private func equal(_ e: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer { b in
            let start = starts[e]
            for k in 0..<key.count where b[start + k] != key[k] { return false }
            return true
        }
    }

    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return h ^ (h >> 29)
    }
}
