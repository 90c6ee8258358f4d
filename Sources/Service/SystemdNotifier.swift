import Foundation
import Support

#if canImport(Glibc)
import Glibc
#endif

/// systemd's service notification protocol without libsystemd: each message is one datagram of
/// `KEY=VALUE` lines to the unix socket named by `$NOTIFY_SOCKET` (a leading `@` is the abstract
/// namespace). Without `$NOTIFY_SOCKET` (not under systemd, or `Type=` other than notify) every
/// send does nothing.
package struct SystemdNotifier: Sendable {
    /// The socket's address, as `$NOTIFY_SOCKET` gave it.
    package let socketPath: String?
    /// How often systemd expects `WATCHDOG=1`: `$WATCHDOG_USEC`, when it is meant for this process
    /// (`$WATCHDOG_PID` unset or ours).
    package let watchdogInterval: TimeInterval?

    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0,
            environment["WATCHDOG_PID"].map({ Int32($0) == getpid() }) ?? true
        {
            watchdogInterval = Double(usec) / 1_000_000
        } else {
            watchdogInterval = nil
        }
    }

    package var isActive: Bool { socketPath != nil }

    /// Sends `fields` (e.g. `["READY": "1", "STATUS": "…"]`, in that order) as one datagram. A
    /// failure is returned, not thrown: the daemon carries on without notifications.
    @discardableResult
    package func send(_ fields: KeyValuePairs<String, String>) -> Bool {
        guard let socketPath else { return false }
        // A value may not hold a newline: it would start another field.
        let text = fields.map { "\($0.key)=\($0.value.replacingOccurrences(of: "\n", with: " "))" }.joined(separator: "\n")
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var name = Array(socketPath.utf8)
        let abstract = name.first == UInt8(ascii: "@")
        if abstract { name[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard name.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: name)
            if !abstract { raw[name.count] = 0 }
        }
        // An abstract address's length counts its bytes exactly; a path's includes the NUL.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + name.count + (abstract ? 0 : 1))
        let bytes = Array(text.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
        return sent == bytes.count
    }

    /// `RELOADING=1` with the monotonic clock in microseconds, as systemd 253's notify-reload wants.
    package func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let usec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        send(["RELOADING": "1", "MONOTONIC_USEC": String(usec)])
    }
}
