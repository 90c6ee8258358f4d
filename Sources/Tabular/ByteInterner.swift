#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Maps a field's raw bytes to its category code without building a `String` or hashing twice:
/// an open-addressing table over a hash of the key's 8-byte words, with the keys' bytes kept in one
/// flat buffer. Reading a categorical column costs one hash and one comparison per value; a
/// `String` is made only the first time a value is seen.
///
/// Most category values are at most 8 bytes long: those are hashed in one step and compared as one
/// word (their first 8 bytes, zero-padded, are kept in the entry). Hashing byte by byte (FNV-1a)
/// and comparing bytes in a loop took 10 % of reading a file with 3 categorical columns of 20.
struct ByteInterner {
    private struct Entry {
        var hash: UInt64
        /// The key's first 8 bytes, zero-padded.
        var prefix: UInt64
        /// Its bytes 8 to 15, zero-padded.
        var second: UInt64
        var length: Int
        /// Where the key's bytes start in `bytes`.
        var start: Int
        var code: Int32
    }

    private var slots: [Int32]  // index into `entries`, or -1 when empty
    private var entries: [Entry] = []
    private var bytes: [UInt8] = []

    init() { slots = [Int32](repeating: -1, count: 64) }

    /// The code stored for these bytes, if any.
    func find(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        let (h, prefix, _) = Self.hash(key)
        return slots.withUnsafeBufferPointer { slots in
            entries.withUnsafeBufferPointer { entries in
                let mask = slots.count - 1
                var i = Int(truncatingIfNeeded: h) & mask
                while true {
                    let e = Int(slots[i])
                    if e < 0 { return nil }
                    let entry = entries[e]
                    if entry.hash == h, entry.prefix == prefix, entry.length == key.count,
                        key.count <= 8 || restEqual(entry, key)
                    {
                        return entry.code
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    /// The code stored for the plain field at `p[at...]`, and where the field ends: a field of at
    /// most 15 bytes, without quotes, followed by a comma or a line end within the buffer's next
    /// 16 bytes. nil when the field is not such a field or its bytes are not stored yet (the
    /// caller then reads it the general way, ``find(_:)`` and ``insert(_:code:)``).
    ///
    /// The field's end and its key are found in the two 8-byte words at `at`, without a loop
    /// over its bytes: reading a categorical field byte by byte (its end, its hash) took three
    /// times a numeric field's instructions.
    @inline(__always)
    func find(plainFieldIn p: UnsafePointer<UInt8>, _ n: Int, at: Int) -> (code: Int32, end: Int)? {
        guard n &- at >= 16 else { return nil }
        let w1 = UInt64(littleEndian: UnsafeRawPointer(p + at).loadUnaligned(as: UInt64.self))
        let w2 = UInt64(littleEndian: UnsafeRawPointer(p + at + 8).loadUnaligned(as: UInt64.self))
        let m1 = Self.delimiters(w1), m2 = Self.delimiters(w2)
        let length: Int, prefix: UInt64, second: UInt64
        if m1 != 0 {
            length = m1.trailingZeroBitCount &>> 3
            prefix = w1 & Self.lowBytes(length)
            second = 0
        } else if m2 != 0 {
            length = 8 &+ (m2.trailingZeroBitCount &>> 3)
            prefix = w1
            second = w2 & Self.lowBytes(length &- 8)
        } else {
            return nil
        }
        guard p[at &+ length] != UInt8(ascii: "\"") else { return nil }
        // Self.hash's rounds: none for an empty key, one per 8 bytes (zero-padded).
        var h = Self.seed(length)
        if length > 0 { h = Self.mix(h, prefix) }
        if length > 8 { h = Self.mix(h, second) }
        return slots.withUnsafeBufferPointer { slots in
            entries.withUnsafeBufferPointer { entries in
                let mask = slots.count &- 1
                var i = Int(truncatingIfNeeded: h) & mask
                while true {
                    let e = Int(slots[i])
                    if e < 0 { return nil }
                    let entry = entries[e]
                    if entry.hash == h, entry.prefix == prefix, entry.second == second, entry.length == length {
                        return (entry.code, at &+ length)
                    }
                    i = (i &+ 1) & mask
                }
            }
        }
    }

    /// The high bit of each byte of `w` that is a comma, a quote, a CR or a LF: exact for the
    /// lowest one (a borrow can only mark bytes above a match).
    @inline(__always)
    private static func delimiters(_ w: UInt64) -> UInt64 {
        @inline(__always) func zeroBytes(_ x: UInt64) -> UInt64 { (x &- 0x0101_0101_0101_0101) & ~x }
        let marks = zeroBytes(w ^ 0x2C2C_2C2C_2C2C_2C2C) | zeroBytes(w ^ 0x2222_2222_2222_2222)
            | zeroBytes(w ^ 0x0D0D_0D0D_0D0D_0D0D) | zeroBytes(w ^ 0x0A0A_0A0A_0A0A_0A0A)
        return marks & 0x8080_8080_8080_8080
    }

    /// A mask of the low `count` bytes of a word (`count` < 8).
    @inline(__always)
    private static func lowBytes(_ count: Int) -> UInt64 { (1 &<< UInt64(count &* 8)) &- 1 }

    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, code: Int32) {
        if (entries.count + 1) * 2 > slots.count { grow() }
        let (h, prefix, second) = Self.hash(key)
        entries.append(Entry(hash: h, prefix: prefix, second: second, length: key.count, start: bytes.count, code: code))
        bytes.append(contentsOf: key)
        place(entries.count - 1, hash: h)
    }

    private mutating func place(_ entry: Int, hash: UInt64) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = Int32(entry)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        for e in entries.indices { place(e, hash: entries[e].hash) }
    }

    /// Whether the key's bytes after the first 8 equal the entry's (lengths already equal).
    private func restEqual(_ entry: Entry, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer { b in
            memcmp(b.baseAddress! + entry.start + 8, key.baseAddress! + 8, key.count - 8) == 0
        }
    }

    /// The key's hash (its length and each 8-byte word, multiplied and folded in turn), its first
    /// 8 bytes and its bytes 8 to 15, each zero-padded.
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> (hash: UInt64, prefix: UInt64, second: UInt64) {
        let n = key.count
        var h = seed(n)
        var prefix: UInt64 = 0, second: UInt64 = 0
        guard let p = key.baseAddress, n > 0 else { return (h, 0, 0) }
        var k = 0
        while k < n {
            var word: UInt64
            if n - k >= 8 {
                word = UInt64(littleEndian: UnsafeRawPointer(p + k).loadUnaligned(as: UInt64.self))
            } else {
                word = 0
                for t in 0..<(n - k) { word |= UInt64(p[k + t]) << UInt64(8 * t) }
            }
            if k == 0 { prefix = word } else if k == 8 { second = word }
            h = mix(h, word)
            k += 8
        }
        return (h, prefix, second)
    }

    /// The hash before any word: of the key's length.
    @inline(__always)
    private static func seed(_ length: Int) -> UInt64 { UInt64(truncatingIfNeeded: length) &* 0x9E37_79B9_7F4A_7C15 }

    /// One 8-byte word folded into the hash.
    @inline(__always)
    private static func mix(_ h: UInt64, _ word: UInt64) -> UInt64 {
        let m = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
        return m ^ (m &>> 32)
    }
}
