// The CSV reader's number loop with SSE4.1: see updater_read_numbers in system_shim.h.
#include "system_shim.h"

#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>

/// For each count of digits before the point `k` and count of digits `d` (both below 16): the
/// shuffle that gathers a number's digits right-aligned in 16 bytes, skipping the point after the
/// first `k`. Output byte o takes digit o - (16 - d), which is at that index, or one further once
/// past the point; the leading bytes take index 0x80, which makes the shuffle write a zero. (A
/// number without a point has k = d: no digit is past it.)
static uint8_t gather[16][16][16];

__attribute__((constructor)) static void make_gather(void) {
    for (int k = 0; k < 16; k++)
        for (int d = 0; d < 16; d++)
            for (int o = 0; o < 16; o++) {
                const int digit = o - (16 - d);
                gather[k][d][o] = digit < 0 ? 0x80 : (uint8_t)(digit < k ? digit : digit + 1);
            }
}

/// The plain number of `length` bytes (1 to 15) at `p`, with 16 bytes readable there: digits with
/// at most one point among them. Its digits are found by one compare and a movemask, gathered
/// right-aligned by one shuffle that also drops the point, and combined by three multiply-adds.
/// Returns 0 when the bytes are not such a number.
__attribute__((target("sse4.1"))) __attribute__((always_inline))
static inline int simd_number(const unsigned char *p, int length, uint64_t *mantissa, int *scale) {
    const __m128i v = _mm_loadu_si128((const __m128i *)p);
    const __m128i x = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    const unsigned in = (1u << length) - 1;
    const unsigned digit = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(9)), x)) & in;
    const unsigned point = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))) & in;
    // Every byte a digit or a point, at most one point, at least one digit.
    if (((digit | point) ^ in) | (point & (point - 1)) | (digit == 0)) return 0;
    const int k = __builtin_ctz(point | (1u << length));  // digits before the point (or all of them)
    const int digits = length - (point != 0);
    __m128i n = _mm_shuffle_epi8(x, _mm_loadu_si128((const __m128i *)gather[k][digits]));
    n = _mm_maddubs_epi16(n, _mm_setr_epi8(10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1));
    n = _mm_madd_epi16(n, _mm_setr_epi16(100, 1, 100, 1, 100, 1, 100, 1));
    n = _mm_packus_epi32(n, n);
    n = _mm_madd_epi16(n, _mm_setr_epi16(10000, 1, 10000, 1, 10000, 1, 10000, 1));
    const uint64_t high = (uint32_t)_mm_cvtsi128_si32(n), low = (uint32_t)_mm_extract_epi32(n, 1);
    *mantissa = high * 100000000u + low;
    *scale = digits - k;
    return 1;
}

/// 10^0 ... 10^15, exact.
static const double powers_of_ten[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/// The most fields one pass finds the ends of (a longer run of numeric columns takes more passes).
enum { batch = 64 };

/// In two passes: first the ends of the run's fields (commas, then a line end), 16 bytes at a
/// time; then each field's number, which no longer waits for the one before it to be read. Read
/// in one pass, each field's start was known only once the field before it was parsed, a chain
/// of about 30 cycles of latency per field that bounded the loop whatever its instruction count.
__attribute__((target("sse4.1")))
static intptr_t read_numbers_sse41(const unsigned char *p, intptr_t n, intptr_t at, intptr_t *column, intptr_t row,
                                   const updater_number_run *run, bool *after_field) {
    intptr_t c = *column, start = at;
    const intptr_t stop = run->run_end[c];
    const intptr_t limit = n - 32;  // every 16-byte load below stays inside the buffer
    *after_field = false;
    while (c < stop) {
        intptr_t ends[batch + 16];
        const int want = stop - c < batch ? (int)(stop - c) : batch;
        int count = 0, line_end = 0;
        for (intptr_t base = at; base <= limit; base += 16) {
            const __m128i v = _mm_loadu_si128((const __m128i *)(p + base));
            unsigned commas = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')));
            const unsigned others = (unsigned)_mm_movemask_epi8(_mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))),
                _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))));
            const int other = __builtin_ctz(others | 0x10000);
            commas &= (1u << other) - 1;
            while (commas != 0) {
                ends[count++] = base + __builtin_ctz(commas);
                commas &= commas - 1;
            }
            if (count >= want) {
                count = want;
                break;
            }
            if (other < 16) {
                // A line end ends the run with this field; a quote ends the pass before it.
                if (p[base + other] != '"') {
                    ends[count++] = base + other;
                    line_end = 1;
                }
                break;
            }
        }
        double *const *const columns = run->columns + c;
        int f = 0;
        start = at;
        for (; f < count; f++) {
            const intptr_t end = ends[f];
            double *const target = columns[f] + row;
            if (end == start) {
                if (run->must_have[c + f]) break;
                *target = __builtin_nan("");
            } else {
                const unsigned char first = p[start];
                const int sign = first == '-' || first == '+';
                const intptr_t length = end - start - sign;
                uint64_t mantissa;
                int scale;
                if (length < 1 || length > 15 || !simd_number(p + start + sign, (int)length, &mantissa, &scale)) break;
                const double x = (double)(int64_t)mantissa / powers_of_ten[scale];  // both exact: correctly rounded
                *target = first == '-' ? -x : x;
            }
            start = end + 1;
        }
        c += f;
        if (f < count) break;  // a field that is not a plain number: the caller's general path reads it
        if (count > 0 && (line_end || c == stop)) {
            *after_field = true;
            *column = c;
            return ends[count - 1];
        }
        if (count < want) break;  // a quote, or the last bytes of the buffer: the caller reads on
        at = start;
    }
    *column = c;
    return start;
}

#endif

intptr_t updater_read_numbers(const unsigned char *p, intptr_t n, intptr_t at, intptr_t *column, intptr_t row,
                              const updater_number_run *run, bool *after_field) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.1"))
        return read_numbers_sse41(p, n, at, column, row, run, after_field);
#endif
    *after_field = false;
    return at;
}
