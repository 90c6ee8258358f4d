import Foundation
import TOMLKit

/// Where a secret (a signing secret, a Slack URL) is read from when it is needed: never from the
/// configuration file itself, so it stays out of files people share, review and paste.
public enum SecretSource: Sendable, Equatable, CustomStringConvertible {
    /// A file (absolute; relative paths were resolved against the configuration file's directory).
    case file(String)
    /// An environment variable of the daemon.
    case environment(String)
    /// A systemd credential (`LoadCredential=NAME:…`): `$CREDENTIALS_DIRECTORY/NAME`.
    case credential(String)

    /// Where the secret comes from, for messages (never the secret).
    public var description: String {
        switch self {
        case .file(let p): "file \(p)"
        case .environment(let n): "environment variable \(n)"
        case .credential(let n): "systemd credential \(n)"
        }
    }

    /// The secret's text, without surrounding white space; errors say where it was looked for.
    public func read(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let text: String
        switch self {
        case .file(let path):
            do { text = String(decoding: try readFile(path), as: UTF8.self) } catch {
                throw SecretError("cannot read the secret from \(description): \(error)")
            }
        case .environment(let name):
            guard let v = environment[name] else { throw SecretError("the environment variable \(name) is not set") }
            text = v
        case .credential(let name):
            guard let dir = environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty else {
                throw SecretError("the systemd credential \(name) is not available: $CREDENTIALS_DIRECTORY is not set (LoadCredential=\(name):… in the unit)")
            }
            do { text = String(decoding: try readFile(dir + "/" + name), as: UTF8.self) } catch {
                throw SecretError("cannot read the systemd credential \(name) in $CREDENTIALS_DIRECTORY: \(error)")
            }
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw SecretError("the \(description) is empty") }
        return trimmed
    }
}

public struct SecretError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// One webhook endpoint: where events go, which ones, in which format, signed with which secret.
public struct WebhookEndpoint: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable {
        /// Standard Webhooks: the event's JSON, signed.
        case standard
        /// A Slack incoming webhook: `text` and `blocks`, unsigned (the URL is the secret).
        case slack
    }

    public enum URLSource: Sendable, Equatable {
        case plain(String)
        case secret(SecretSource)
    }

    /// `ops` for a global endpoint, `churn/ops` for an endpoint of job `churn`.
    public var name: String
    /// The job whose file declares it, nil for a global endpoint.
    public var job: String?
    public var url: URLSource
    public var format: Format
    /// The event types it wants; nil for all.
    public var events: Set<String>?
    /// For global endpoints: the jobs whose events it wants; nil for all.
    public var jobs: Set<String>?
    /// Where the signing secret is read (at each attempt, so a rotated file takes effect at once);
    /// during a rotation it holds two secrets separated by white space, and both sign. Nil for Slack.
    public var secret: SecretSource?
    /// Seconds per attempt, connection included.
    public var timeout: Double

    /// Every event updater sends (and `test`, sent only by `updater webhooks test`).
    public static let eventTypes = [
        "drift.detected", "run.started", "run.succeeded", "run.failed", "gate.passed", "gate.failed", "model.promoted",
        "model.rolled_back", "model.forced", "job.invalid",
    ]

    /// Whether this endpoint wants an event of `type` about `job`.
    public func wants(type: String, job eventJob: String?) -> Bool {
        if let events, !events.contains(type) { return false }
        if let job { return eventJob == job }
        if let jobs { return eventJob.map(jobs.contains) ?? true }
        return true
    }

    /// The URL's scheme, host and port, for messages and listings: the path and query of a URL can
    /// hold a token (Slack's do), and a URL read from a secret source is not shown at all.
    public var shownURL: String {
        switch url {
        case .secret(let s): return "(secret, from the \(s))"
        case .plain(let u): return Self.origin(u)
        }
    }

    /// Checks a URL read from a secret source (never repeating it): http or https with a host.
    public static func checkedURL(_ url: String, from source: SecretSource) throws -> String {
        guard let c = URLComponents(string: url), ["http", "https"].contains(c.scheme?.lowercased() ?? ""), c.host?.isEmpty == false else {
            throw SecretError("the URL read from the \(source) is not an http:// or https:// URL")
        }
        return url
    }

    public static func origin(_ url: String) -> String {
        guard let c = URLComponents(string: url), let scheme = c.scheme, let host = c.host else { return "(not a URL)" }
        return "\(scheme)://\(host)\(c.port.map { ":\($0)" } ?? "")/…"
    }
}

/// The global webhook settings (`webhooks.toml`): endpoints for every job, and the retry schedule.
public struct WebhookSettings: Sendable, Equatable {
    public var endpoints: [WebhookEndpoint]
    /// Waits between attempts: after the first failed attempt wait `retrySchedule[0]`, and so on;
    /// after the last one the delivery is dead.
    public var retrySchedule: [Double]
    /// How long delivered events are kept (dead and pending ones stay until dealt with).
    public var keepDelivered: Double
    public var file: String?

    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 28 hours (Svix's schedule).
    public static let defaultRetrySchedule: [Double] = [5, 300, 1800, 7200, 18000, 36000, 36000]

    public init(
        endpoints: [WebhookEndpoint] = [], retrySchedule: [Double] = Self.defaultRetrySchedule, keepDelivered: Double = 30 * 86400,
        file: String? = nil
    ) {
        self.endpoints = endpoints
        self.retrySchedule = retrySchedule
        self.keepDelivered = keepDelivered
        self.file = file
    }

    /// Reads the global file; throws every problem, each naming the file, line and key.
    public static func load(_ path: String) throws(JobFileError) -> WebhookSettings {
        let (text, _) = try JobFileDecoder.readText(path)
        let root = try JobFileDecoder.parse(text, file: path)
        let log = ProblemLog(file: path, text: text)
        let r = TOMLReader(root, path: "", log: log)
        let decoder = WebhookDecoding(directory: dirName(absolutePath(path)), log: log)
        var schedule = defaultRetrySchedule
        if let list = r.stringArray("retry_schedule") {
            schedule = list.compactMap { parseDuration($0) }
            if schedule.count != list.count || schedule.isEmpty {
                log.add("retry_schedule", "expected a list of durations such as [\"5s\", \"5m\", \"2h\"]")
            }
        }
        let keep = r.duration("keep_delivered") ?? 30 * 86400
        let endpoints = decoder.endpoints(r, job: nil)
        r.finish(known: ["webhooks", "retry_schedule", "keep_delivered"])
        guard log.problems.isEmpty else { throw JobFileError(log.problems) }
        return WebhookSettings(endpoints: endpoints, retrySchedule: schedule, keepDelivered: keep, file: path)
    }
}

/// Decodes `[[webhooks]]` tables, for the global file and for job files.
struct WebhookDecoding {
    let directory: String
    let log: ProblemLog

    func endpoints(_ r: TOMLReader, job: String?) -> [WebhookEndpoint] {
        var out: [WebhookEndpoint] = []
        var names: Set<String> = []
        for t in r.tables("webhooks") ?? [] {
            guard let e = endpoint(t, job: job) else { continue }
            if !names.insert(e.name).inserted { log.add(t.keyPath("name"), "another endpoint is named \"\(e.name)\"") }
            out.append(e)
        }
        return out
    }

    func endpoint(_ r: TOMLReader, job: String?) -> WebhookEndpoint? {
        let name = r.string("name", required: true)
        if let name, !JobFileDecoder.isValidName(name) {
            log.add(r.keyPath("name"), "endpoint names match [a-z0-9][a-z0-9_-]*")
        }
        var format = WebhookEndpoint.Format.standard
        if let f = r.string("format") {
            if let v = WebhookEndpoint.Format(rawValue: f) { format = v } else {
                log.add(r.keyPath("format"), "expected \"standard\" or \"slack\", got \"\(f)\"")
            }
        }
        // The URL: in plain text, or (a Slack URL must be) from a secret source.
        let plainURL = r.string("url")
        let urlSecret = secretSource(r, prefix: "url")
        var url: WebhookEndpoint.URLSource?
        switch (plainURL, urlSecret) {
        case (let u?, nil):
            if format == .slack {
                log.add(r.keyPath("url"), "a Slack webhook URL is a secret: give url_file, url_env or url_credential instead")
            } else if let c = URLComponents(string: u), ["http", "https"].contains(c.scheme?.lowercased() ?? ""), c.host?.isEmpty == false {
                url = .plain(u)
            } else {
                log.add(r.keyPath("url"), "expected an http:// or https:// URL")
            }
        case (nil, let s?): url = .secret(s)
        case (_?, _?): log.add(r.keyPath("url"), "give the URL once: url, url_file, url_env or url_credential")
        case (nil, nil): log.add(r.keyPath("url"), "required key is missing (or url_file, url_env, url_credential)")
        }
        if r.value("secret") != nil {
            // Not echoed: the point is that it must not be in this file.
            log.add(r.keyPath("secret"), "a secret in the file in plain text is refused: use secret_file, secret_env or secret_credential")
        }
        let secret = secretSource(r, prefix: "secret")
        if format == .standard, secret == nil, r.value("secret") == nil {
            log.add(r.keyPath("secret_file"), "a standard endpoint signs its deliveries: give secret_file, secret_env or secret_credential")
        }
        if format == .slack, secret != nil {
            log.add(r.keyPath("format"), "Slack deliveries are not signed; remove the secret or use format = \"standard\"")
        }
        var events: Set<String>?
        if let list = r.stringArray("events"), !list.contains("*") {
            for e in list where !WebhookEndpoint.eventTypes.contains(e) {
                log.add(r.keyPath("events"), "unknown event \"\(e)\" (events: \(WebhookEndpoint.eventTypes.joined(separator: ", ")), or \"*\")")
            }
            events = Set(list)
        }
        var jobs: Set<String>?
        if job == nil, let list = r.stringArray("jobs") { jobs = Set(list) }
        let timeout = r.duration("timeout") ?? 15
        if timeout > 120 { log.add(r.keyPath("timeout"), "at most 120s per attempt") }
        r.finish(known: ["name", "url", "url_file", "url_env", "url_credential", "format", "events", "secret_file", "secret_env", "secret_credential", "timeout"] + (job == nil ? ["jobs"] : []))
        guard let name, let url else { return nil }
        return WebhookEndpoint(
            name: job.map { "\($0)/\(name)" } ?? name, job: job, url: url, format: format, events: events, jobs: jobs,
            secret: secret, timeout: timeout)
    }

    /// `<prefix>_file`, `<prefix>_env` or `<prefix>_credential`: at most one. A value that looks
    /// like the secret itself (a `whsec_` key, a URL) is refused without being repeated, since it
    /// would otherwise show up wherever the source is named (errors, listings).
    func secretSource(_ r: TOMLReader, prefix: String) -> SecretSource? {
        var found: [SecretSource] = []
        func looksSecret(_ key: String, _ value: String) -> Bool {
            guard value.hasPrefix("whsec_") || value.contains("://") else { return false }
            log.add(r.keyPath(key), "this looks like the secret itself; give where to read it (a file, a variable's name, a credential's name)")
            return true
        }
        if let f = r.string("\(prefix)_file"), !looksSecret("\(prefix)_file", f) {
            found.append(.file(absolutePath(f.hasPrefix("/") ? f : directory + "/" + f)))
        }
        if let e = r.string("\(prefix)_env"), !looksSecret("\(prefix)_env", e) {
            if !Self.isVariableName(e) { log.add(r.keyPath("\(prefix)_env"), "expected an environment variable's name ([A-Za-z_][A-Za-z0-9_]*)") }
            found.append(.environment(e))
        }
        if let c = r.string("\(prefix)_credential"), !looksSecret("\(prefix)_credential", c) {
            // A credential is a file name inside $CREDENTIALS_DIRECTORY, never a path out of it.
            if c.isEmpty || c.contains("/") || c == "." || c == ".." {
                log.add(r.keyPath("\(prefix)_credential"), "expected a credential's name (as in LoadCredential=NAME:…), not a path")
            }
            found.append(.credential(c))
        }
        if found.count > 1 { log.add(r.keyPath("\(prefix)_file"), "give one of \(prefix)_file, \(prefix)_env, \(prefix)_credential") }
        return found.first
    }

    static func isVariableName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }
}
