#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private let exactPowersOfTen: [Double] = (0...22).map { p in
    var x = 1.0
    for _ in 0..<p { x *= 10 }
    return x
}

/// The same powers where a hot loop reads them without an array's checks (allocated once, kept).
nonisolated(unsafe) let exactPowersOfTenTable: UnsafePointer<Double> = {
    let table = UnsafeMutablePointer<Double>.allocate(capacity: exactPowersOfTen.count)
    table.initialize(from: exactPowersOfTen, count: exactPowersOfTen.count)
    return UnsafePointer(table)
}()

/// 10^0 ... 10^19 as integers, for scaling a mantissa in a hot loop (converting the Double powers
/// to integers there cost a range check per use).
nonisolated(unsafe) let integerPowersOfTenTable: UnsafePointer<UInt64> = {
    let table = UnsafeMutablePointer<UInt64>.allocate(capacity: 20)
    var x: UInt64 = 1
    for k in 0..<20 {
        table[k] = x
        x = x &* 10
    }
    return UnsafePointer(table)
}()

/// Parses a decimal number (`-12`, `3.25`, `.5`, `1e-3`), correctly rounded; `nil` when the bytes are
/// not a decimal number (hex, `inf`, `nan` and stray characters are rejected).
///
/// Numbers with at most 15 significant digits and a small exponent take Clinger's exact fast path
/// (one multiplication or division of two exactly representable doubles); the rest go to `strtod`.
package func parseDouble(_ s: UnsafeBufferPointer<UInt8>) -> Double? {
    var i = 0
    let n = s.count
    var negative = false
    if i < n, s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+") {
        negative = s[i] == UInt8(ascii: "-")
        i += 1
    }
    var mantissa: UInt64 = 0
    var digits = 0
    var significant = 0
    var scale = 0
    var tooManyDigits = false
    while i < n, s[i] &- 48 < 10 {
        let d = UInt64(s[i] &- 48)
        if significant < 19 {
            mantissa = mantissa * 10 + d
            if mantissa > 0 { significant += 1 }
        } else {
            tooManyDigits = true
            scale += 1
        }
        digits += 1
        i += 1
    }
    if i < n, s[i] == UInt8(ascii: ".") {
        i += 1
        while i < n, s[i] &- 48 < 10 {
            let d = UInt64(s[i] &- 48)
            if significant < 19 {
                mantissa = mantissa * 10 + d
                if mantissa > 0 { significant += 1 }
                scale -= 1
            } else if d != 0 {
                tooManyDigits = true
            }
            digits += 1
            i += 1
        }
    }
    guard digits > 0 else { return nil }
    var exponent = 0
    if i < n, s[i] == UInt8(ascii: "e") || s[i] == UInt8(ascii: "E") {
        i += 1
        var expNegative = false
        if i < n, s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+") {
            expNegative = s[i] == UInt8(ascii: "-")
            i += 1
        }
        var expDigits = 0
        while i < n, s[i] &- 48 < 10 {
            // Saturates far beyond any digit count, so that `exponent + scale` cannot look small.
            if exponent < 1 << 40 { exponent = exponent * 10 + Int(s[i] &- 48) }
            expDigits += 1
            i += 1
        }
        guard expDigits > 0 else { return nil }
        if expNegative { exponent = -exponent }
    }
    guard i == n else { return nil }
    let e10 = exponent + scale
    if !tooManyDigits, mantissa <= (1 << 53), abs(e10) <= 22 {
        var x = Double(mantissa)
        x = e10 < 0 ? x / exactPowersOfTen[-e10] : x * exactPowersOfTen[e10]
        return negative ? -x : x
    }
    if mantissa == 0 { return negative ? -0.0 : 0.0 }
    // Slow path: strtod is correctly rounded; the grammar was checked above.
    var buffer = [CChar](repeating: 0, count: n + 1)
    for k in 0..<n { buffer[k] = CChar(bitPattern: s[k]) }
    return buffer.withUnsafeBufferPointer { strtod($0.baseAddress!, nil) }
}

/// Parses a decimal number from a string; see ``parseDouble(_:)-(UnsafeBufferPointer<UInt8>)``.
package func parseDouble(_ text: String) -> Double? {
    var t = text
    return t.withUTF8 { parseDouble($0) }
}
