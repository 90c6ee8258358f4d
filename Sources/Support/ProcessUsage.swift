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
