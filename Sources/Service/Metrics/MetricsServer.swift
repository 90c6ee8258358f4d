import Foundation
import Hummingbird
import JobFiles
import Logging
import Registry
import Report
import ServiceLifecycle

/// Where the daemon serves `/metrics`: off, or a host and port, with the bearer token a client
/// must send when the address is not the loopback one.
package struct MetricsListen: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    package var host: String
    package var port: Int
    /// Required, and checked, when `host` is not a loopback address.
    package var token: String?

    package static let defaultAddress = "127.0.0.1:9464"

    /// Never the token: the service group prints its services in errors.
    package var description: String { "\(host):\(port)\(token == nil ? "" : " (bearer token required)")" }
    package var customMirror: Mirror { Mirror(self, children: ["address": description]) }

    /// `off`, or `HOST:PORT` (`[::1]:9464` for IPv6); nil for `off`. A token is read from
    /// `tokenFile`, else from the systemd credential `metrics-token`; an address other than the
    /// loopback one without a token is refused.
    package static func parse(_ text: String, tokenFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> MetricsListen?
    {
        if text == "off" { return nil }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw MetricsError("--metrics-listen: expected HOST:PORT (such as 127.0.0.1:9464) or off, got \"\(text)\"")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw MetricsError("--metrics-listen: no host in \"\(text)\" (use 0.0.0.0 for every address)") }
        var token: String? = nil
        let credential = environment["CREDENTIALS_DIRECTORY"].map { $0 + "/metrics-token" }
        if let path = tokenFile ?? credential.flatMap({ FileManager.default.fileExists(atPath: $0) ? $0 : nil }) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw MetricsError("cannot read the metrics token file \(path)")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard token?.isEmpty == false else { throw MetricsError("the metrics token file \(path) is empty") }
        }
        let loopback = host == "127.0.0.1" || host == "::1" || host == "localhost"
        if !loopback, token == nil {
            throw MetricsError(
                "--metrics-listen \(text) is not the loopback address: give a bearer token with --metrics-token-file FILE (or the systemd credential metrics-token), or listen on 127.0.0.1")
        }
        return MetricsListen(host: host, port: port, token: token)
    }
}

package struct MetricsError: Error, CustomStringConvertible {
    package var description: String
    init(_ d: String) { description = d }
}

/// The daemon's HTTP server (Hummingbird on NIO's shared event loops): `GET /metrics` in the Prometheus text
/// format and the dashboard's pages (`Dashboard`), read from the registry on each request; any
/// other method 405, any other path 404. It runs in the daemon's
/// service group. A port it cannot bind is logged and the daemon goes on without metrics: the jobs
/// matter more than their figures.
package struct MetricsServer: Service, CustomStringConvertible {
    let listen: MetricsListen
    let registry: Registry
    /// The job files in force, for their schedules.
    let configs: @Sendable () -> [JobConfig]
    let log: Logger

    package var description: String { "metrics server on \(listen)" }

    package init(listen: MetricsListen, registry: Registry, configs: @escaping @Sendable () -> [JobConfig], log: Logger) {
        self.listen = listen
        self.registry = registry
        self.configs = configs
        self.log = log
    }

    package func run() async throws {
        let router = Router()
        if let token = listen.token { router.add(middleware: BearerToken(token: token)) }
        router.add(middleware: ReadOnly())
        router.get("metrics") { [registry, configs] _, _ -> Response in
            let text = try MetricsExposition.text(registry: registry, configs: configs())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        // The dashboard: read-only pages (ReadOnly answers any method but GET and HEAD with 405).
        let dashboard = Dashboard(registry: registry)
        router.get("/") { _, _ in Self.page(try dashboard.jobsPage()) }
        router.get("jobs/:job") { _, context in Self.page(try dashboard.jobPage(context.parameters.get("job") ?? "")) }
        router.get("jobs/:job/runs/:run") { _, context in
            guard let number = context.parameters.get("run", as: Int.self) else { return Self.page(nil) }
            return Self.page(try dashboard.runPage(context.parameters.get("job") ?? "", number))
        }
        router.get("webhooks") { _, _ in Self.page(try dashboard.webhooksPage()) }
        let log = self.log
        // Hummingbird's own lines (one per request at info) only when something is wrong.
        var quiet = log
        quiet.logLevel = .warning
        let app = Application(
            router: router, configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: nil),
            onServerRunning: { channel in
                let ip = channel.localAddress?.ipAddress ?? listen.host
                let base = "http://\(ip.contains(":") ? "[\(ip)]" : ip):\(channel.localAddress?.port ?? listen.port)"
                log.info("serving metrics on \(base)/metrics and the dashboard on \(base)/")
            },
            logger: quiet)
        do {
            try await app.runService()
        } catch {
            log.error("cannot serve metrics on \(listen.host):\(listen.port): \(error); the daemon goes on without them")
            try? await gracefulShutdown()
        }
    }
}

extension MetricsServer {
    /// A dashboard page with its Content-Security-Policy; nil: 404.
    static func page(_ html: String?) -> Response {
        var headers: HTTPFields = [
            .contentSecurityPolicy: HTML.contentSecurityPolicy, .cacheControl: "no-store", .xContentTypeOptions: "nosniff",
        ]
        headers[.init("Referrer-Policy")!] = "no-referrer"
        guard let html else {
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .notFound, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "not found\n")))
        }
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

/// Answers anything but GET and HEAD with 405: nothing is written through this server.
struct ReadOnly<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            return Response(status: .methodNotAllowed, headers: [.allow: "GET, HEAD"])
        }
        return try await next(request, context)
    }
}

/// Refuses a request without `Authorization: Bearer TOKEN` (compared in constant time).
struct BearerToken<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let given = request.headers[.authorization].map { Array($0.utf8) } ?? []
        let wanted = Array("Bearer \(token)".utf8)
        var difference = UInt8(given.count == wanted.count ? 0 : 1)
        for (a, b) in zip(given, wanted) { difference |= a ^ b }
        guard difference == 0 else {
            return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }
}
