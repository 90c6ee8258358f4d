import Testing

@testable import Tabular

private func digits(_ count: Int, using rng: inout SplitMix64) -> String {
    String((0..<count).map { _ in Character(String(Int.random(in: 0...9, using: &rng))) })
}

/// A random decimal string: optional sign, integer and/or fraction digits (up to 30 each, so many
/// mantissas are longer than 19 digits), optional exponent up to ±350.
private func randomDecimal(using rng: inout SplitMix64) -> String {
    var s = ""
    switch Int.random(in: 0..<4, using: &rng) {
    case 0: s += "-"
    case 1: s += "+"
    default: break
    }
    let shape = Int.random(in: 0..<4, using: &rng)
    let intCount = shape == 0 ? 0 : Int.random(in: 1...30, using: &rng)
    let fracCount = shape == 1 ? 0 : Int.random(in: shape == 0 ? 1...30 : 0...30, using: &rng)
    s += digits(intCount, using: &rng)
    if shape != 1 || Bool.random(using: &rng) { s += "." }
    s += digits(fracCount, using: &rng)
    if Bool.random(using: &rng) {
        s += Bool.random(using: &rng) ? "e" : "E"
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: s += "-"
        case 1: s += "+"
        default: break
        }
        s += String(Int.random(in: 0...350, using: &rng))
    }
    return s
}

/// The same comparison as `==` but distinguishing -0.0 from 0.0.
private func sameBits(_ a: Double?, _ b: Double?) -> Bool {
    a?.bitPattern == b?.bitPattern
}

@Suite("parseDouble")
struct NumberParsingTests {
    @Test("agrees bit-for-bit with Double(String) on 20,000 generated decimal strings")
    func agreesWithSwiftOnGeneratedStrings() {
        var rng = SplitMix64(seed: 0x5EED)
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let s = randomDecimal(using: &rng)
            if !sameBits(parseDouble(s), Double(s)) { mismatches.append(s) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    @Test("agrees with Double(String) on short numbers that take the fast path")
    func agreesOnShortNumbers() {
        var rng = SplitMix64(seed: 42)
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let mantissa = UInt64.random(in: 0...(1 << 53), using: &rng)
            let exponent = Int.random(in: -25...25, using: &rng)
            let s = "\(mantissa)e\(exponent)"
            if !sameBits(parseDouble(s), Double(s)) { mismatches.append(s) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    @Test("round-trips the shortest representation of random doubles")
    func roundTripsRandomDoubles() {
        var rng = SplitMix64(seed: 7)
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let x = Double(bitPattern: rng.next())
            guard x.isFinite else { continue }
            let s = "\(x)"
            if !sameBits(parseDouble(s), x) { mismatches.append(s) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    @Test(
        "is correctly rounded on long mantissas and hard cases",
        arguments: [
            "12345678901234567890123",  // 23 digits
            "0.1234567890123456789012345",
            "9007199254740993",  // 2^53 + 1: halfway, rounds to even
            "9007199254740993.0000000000000000001",  // just above halfway: rounds up
            "9007199254740992.9999999999999999999",
            "9007199254740995",
            "0.1000000000000000055511151231257827",
            "0.1000000000000000055511151231257828",
            "123456789012345678901234567890e-10",
            "100000000000000000000000",
            "1000000000000000000000000000000.000",
            "0.0000000000000000000000000000000000001",
            "2.2250738585072011e-308",  // largest subnormal neighbourhood
            "2.2250738585072014e-308",  // smallest normal
            "4.9406564584124654e-324",  // smallest subnormal
            "2.4703282292062328e-324",  // just above half the smallest subnormal
            "2.4703282292062327e-324",  // just below: rounds to zero
            "1.7976931348623157e308",  // largest double
            "1.7976931348623158e308",
            "179769313486231580793728971405301e276",
            "7.2057594037927933e16",
            "3.0000000000000000000000000000000000000001",
        ])
    func hardCases(_ s: String) {
        #expect(sameBits(parseDouble(s), Double(s)))
        #expect(parseDouble(s)?.isFinite == true)
    }

    @Test("parses exponents near the limits: 1e-300 and 1e300")
    func largeExponents() {
        #expect(parseDouble("1e-300") == 1e-300)
        #expect(parseDouble("1e300") == 1e300)
        #expect(parseDouble("-2.5E+300") == -2.5e300)
        #expect(sameBits(parseDouble("1e-300"), Double("1e-300")))
    }

    @Test("overflows to infinity beyond the largest double (1e400, 1.8e308)")
    func overflowIsInfinite() {
        #expect(parseDouble("1e400") == .infinity)
        #expect(parseDouble("-1e400") == -.infinity)
        #expect(parseDouble("1.8e308") == .infinity)
        #expect(parseDouble("1e99999999999") == .infinity)
    }

    @Test("underflows to zero below the smallest subnormal, keeping the sign")
    func underflowIsZero() {
        #expect(sameBits(parseDouble("1e-400"), 0.0))
        #expect(sameBits(parseDouble("-1e-400"), -0.0))
    }

    @Test("a long run of fraction zeros is not confused by a huge exponent")
    func longFractionWithHugeExponent() {
        // 100,000 fraction digits then e1000000: the value is 1e900000, which is infinite.
        let big = "0." + String(repeating: "0", count: 99_999) + "1e1000000"
        #expect(parseDouble(big) == .infinity)
        let small = "1" + String(repeating: "0", count: 100_000) + "e-1000000"
        #expect(sameBits(parseDouble(small), 0.0))
    }

    @Test("accepts leading zeros")
    func leadingZeros() {
        #expect(parseDouble("007") == 7)
        #expect(parseDouble("000123.4500") == 123.45)
        #expect(parseDouble("-00.5") == -0.5)
        #expect(parseDouble("0000000000000000000000000001") == 1)
    }

    @Test("accepts an explicit plus sign")
    func plusSign() {
        #expect(parseDouble("+1") == 1)
        #expect(parseDouble("+0.25") == 0.25)
    }

    @Test("keeps the sign of negative zero")
    func negativeZero() {
        #expect(sameBits(parseDouble("-0"), -0.0))
        #expect(sameBits(parseDouble("-0.000"), -0.0))
        #expect(sameBits(parseDouble("0"), 0.0))
    }

    @Test("accepts a missing integer part (.5) or fraction part (5.)")
    func partialDecimals() {
        #expect(parseDouble(".5") == 0.5)
        #expect(parseDouble("5.") == 5)
        #expect(parseDouble("-.25") == -0.25)
        #expect(parseDouble("5.e1") == 50)
    }

    @Test("accepts e and E with signed exponents")
    func exponentForms() {
        #expect(parseDouble("1e3") == 1000)
        #expect(parseDouble("1E3") == 1000)
        #expect(parseDouble("1e+3") == 1000)
        #expect(parseDouble("1e-3") == 0.001)
        #expect(parseDouble("1e003") == 1000)
    }

    @Test(
        "rejects text that is not a plain decimal number",
        arguments: [
            "", "-", "+", ".", "-.", "e5", ".e5", "1e", "1e+", "1e-", "1.2.3", "1..2", "--1", "+-1", "1-", " 1", "1 ",
            "\t1", "nan", "NaN", "inf", "-inf", "infinity", "0x10", "1_000", "1,5", "1e5.5", "1f", "١٢", "1\n",
        ])
    func rejects(_ s: String) {
        #expect(parseDouble(s) == nil)
    }

    @Test("the byte-buffer form agrees with the string form")
    func bufferForm() {
        for s in ["3.25", "-1e-3", "abc", "", "12345678901234567890123"] {
            let bytes = Array(s.utf8)
            let fromBuffer = bytes.withUnsafeBufferPointer { parseDouble($0) }
            #expect(sameBits(fromBuffer, parseDouble(s)))
        }
    }
}
