import CCurlShim
import Foundation

/// The answer to one POST: the HTTP status, or the transport failure (refused, timed out, TLS)
/// when no response arrived.
package struct HTTPResult: Sendable, Equatable {
    package var status: Int?
    /// libcurl's message when no response arrived (`Connection refused`, `Operation timed out …`).
    package var error: String?
    /// The Retry-After header, in seconds from now (a number of seconds or an HTTP date).
    package var retryAfter: TimeInterval?
    /// The start of the response body (at most 1 KiB), for `updater webhooks test`.
    package var body: String
    package var seconds: Double

    package var isSuccess: Bool { status.map { (200..<300).contains($0) } ?? false }
}

/// POSTs through libcurl (Debian's libcurl4-openssl-dev) behind a small C shim: TLS verification
/// on, redirects not followed, only http and https, connect and total timeouts, and the handle's
/// connections reused between requests. A client is used by one thread at a time; its calls block
/// that thread, so callers keep them off Swift's cooperative pool.
///
/// libcurl is loaded at the first request of the process, not linked (issue 18: linked, it and its
/// dependencies cost every daemon about 6 MB, though many send no webhook). Where it cannot be
/// loaded, each request fails with the reason, which the delivery records like any other failure.
package final class HTTPClient {
    /// The libcurl handle, made at the first request.
    private var handle: OpaquePointer?

    package init() {}

    deinit { if let handle { updater_http_free(handle) } }

    package func post(
        _ url: String, headers: [String], body: [UInt8], connectTimeout: TimeInterval = 5, timeout: TimeInterval = 15,
        caFile: String? = nil
    ) -> HTTPResult {
        if handle == nil { handle = updater_http_new() }
        guard let handle else {
            let reason = String(cString: updater_http_load_error())
            return HTTPResult(status: nil, error: reason.isEmpty ? "cannot initialise libcurl" : reason, retryAfter: nil, body: "", seconds: 0)
        }
        var result = updater_http_result()
        let cHeaders = headers.map { strdup($0) }
        defer { cHeaders.forEach { free($0) } }
        let pointers = cHeaders.map { UnsafePointer($0) }
        let bytes = body.isEmpty ? [0] : body  // never a nil pointer; the length passed says 0
        _ = pointers.withUnsafeBufferPointer { hs in
            bytes.withUnsafeBytes { b in
                updater_http_post(
                    handle, url, hs.baseAddress, Int32(hs.count), b.baseAddress!.assumingMemoryBound(to: CChar.self), body.count,
                    Int(connectTimeout * 1000), Int(timeout * 1000), caFile, &result)
            }
        }
        let error = withUnsafeBytes(of: &result.error) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        let retry = withUnsafeBytes(of: &result.retry_after) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        let text = withUnsafeBytes(of: &result.body) { String(decoding: $0.prefix(result.body_length), as: UTF8.self) }
        return HTTPResult(
            status: result.curl_code == 0 ? Int(result.status) : nil, error: result.curl_code == 0 ? nil : error,
            retryAfter: Self.retryAfter(retry), body: text, seconds: result.seconds)
    }

    /// A Retry-After value in seconds: delta-seconds, or an HTTP date (RFC 9110) from now.
    static func retryAfter(_ text: String, now: Date = Date()) -> TimeInterval? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty else { return nil }
        if let seconds = Int(t), seconds >= 0 { return TimeInterval(seconds) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return f.date(from: t).map { max(0, $0.timeIntervalSince(now)) }
    }
}
