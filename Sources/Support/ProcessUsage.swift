import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The CPU time this process has used so far (user + system), in seconds.
package func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

package func peakResidentBytes() -> Int64 {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int64(usage.ru_maxrss) * 1024
}

/// `90` → `1m30s`.
package func formatSeconds(_ s: Double) -> String {
    let total = Int(s.rounded())
    if total < 60 { return "\(total)s" }
    if total < 3600 { return "\(total / 60)m" + (total % 60 > 0 ? "\(total % 60)s" : "") }
    return "\(total / 3600)h" + (total % 3600 / 60 > 0 ? "\(total % 3600 / 60)m" : "")
}

/// Gives the heap memory the process has freed back to the system (glibc's `malloc_trim`, which
/// Swift's Glibc module does not declare; looked up once). glibc otherwise keeps freed memory in
/// its per-thread arenas, so a daemon that was busy stays as large as at its busiest.
package func releaseFreeMemory() {
    _ = mallocTrim?(0)
}

private let mallocTrim: (@convention(c) (Int) -> Int32)? = {
    // RTLD_DEFAULT: the global symbol scope (a null handle on glibc).
    guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
}()
