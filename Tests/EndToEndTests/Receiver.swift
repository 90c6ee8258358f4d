import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real HTTP/1.1 server on 127.0.0.1 for the tests: records every request and answers as
/// `respond` says (status, headers, body, a delay before answering). Keeps connections alive, as
/// libcurl reuses them.
final class Receiver: Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        /// Header names lowercased.
        var headers: [String: String]
        var body: [UInt8]
        var at: Date
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Response: Sendable {
        var status: Int = 200
        var headers: [String: String] = [:]
        var body: String = "ok"
        var delay: TimeInterval = 0
    }

    let port: Int
    var url: String { "http://127.0.0.1:\(port)/hook" }
    private let listener: Int32
    private let state = Mutex<(requests: [Request], stopped: Bool)>(([], false))
    private let respond: @Sendable (Request, Int) -> Response

    /// `respond(request, n)`: the answer to the n-th request (0-based).
    /// `port` 0: any free port.
    init(port fixed: Int = 0, respond: @escaping @Sendable (Request, Int) -> Response = { _, _ in Response() }) throws {
        self.respond = respond
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(fixed).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    func stop() {
        let first = state.withLock { s -> Bool in
            defer { s.stopped = true }
            return !s.stopped
        }
        if first {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
    }

    var requests: [Request] { state.withLock { $0.requests } }

    /// How many connections were accepted (a client that reuses its connection opens one).
    var connections: Int { accepted.load(ordering: .relaxed) }
    private let accepted = Atomic<Int>(0)

    /// Waits (bounded) until at least `count` requests arrived.
    func wait(for count: Int, seconds: Double = 30) -> [Request] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, requests.count < count { usleep(20_000) }
        return requests
    }

    /// Waits (bounded) until `done` holds for the requests received; returns them.
    func wait(seconds: Double = 30, until done: ([Request]) -> Bool) -> [Request] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, !done(requests) { usleep(20_000) }
        return requests
    }

    private func acceptLoop() {
        while !state.withLock({ $0.stopped }) {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            accepted.add(1, ordering: .relaxed)
            let thread = Thread { [self] in serve(fd) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            // The header block.
            var end: Int?
            while end == nil {
                if let r = find(buffer, Array("\r\n\r\n".utf8)) { end = r; break }
                let n = read(fd, &chunk, chunk.count)
                guard n > 0 else { return }
                buffer += chunk[0..<n]
            }
            let head = String(decoding: buffer[0..<end!], as: UTF8.self).components(separatedBy: "\r\n")
            buffer.removeFirst(end! + 4)
            let line = head[0].split(separator: " ")
            var headers: [String: String] = [:]
            for h in head.dropFirst() {
                guard let colon = h.firstIndex(of: ":") else { continue }
                headers[h[..<colon].lowercased()] = h[h.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            while buffer.count < length {
                let n = read(fd, &chunk, chunk.count)
                guard n > 0 else { return }
                buffer += chunk[0..<n]
            }
            let body = Array(buffer[0..<length])
            buffer.removeFirst(length)
            let request = Request(
                method: line.count > 0 ? String(line[0]) : "", path: line.count > 1 ? String(line[1]) : "", headers: headers,
                body: body, at: Date())
            let index = state.withLock { s -> Int in
                s.requests.append(request)
                return s.requests.count - 1
            }
            let response = respond(request, index)
            if response.delay > 0 { usleep(useconds_t(response.delay * 1_000_000)) }
            var text = "HTTP/1.1 \(response.status) Status\r\nContent-Length: \(response.body.utf8.count)\r\n"
            for (k, v) in response.headers { text += "\(k): \(v)\r\n" }
            text += "\r\n" + response.body
            let bytes = Array(text.utf8)
            var sent = 0
            while sent < bytes.count {
                let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { return }
                sent += n
            }
        }
    }

    private func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}
