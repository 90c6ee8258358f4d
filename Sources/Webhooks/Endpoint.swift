import Foundation
import Support

/// Where a secret (a signing secret, a Slack URL) is read from when it is needed: never from the
/// configuration file itself, so it stays out of files people share, review and paste.
package enum SecretSource: Sendable, Equatable, CustomStringConvertible {
    /// A file (absolute; relative paths were resolved against the configuration file's directory).
    case file(String)
    /// An environment variable of the daemon.
    case environment(String)
    /// A systemd credential (`LoadCredential=NAME:…`): `$CREDENTIALS_DIRECTORY/NAME`.
    case credential(String)

    /// Where the secret comes from, for messages (never the secret).
    package var description: String {
        switch self {
        case .file(let p): "file \(p)"
        case .environment(let n): "environment variable \(n)"
        case .credential(let n): "systemd credential \(n)"
        }
    }

    /// The secret's text, without surrounding white space; errors say where it was looked for.
    package func read(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let text: String
        switch self {
        case .file(let path):
            do { text = String(decoding: try Files.read(path), as: UTF8.self) } catch {
                throw SecretError("cannot read the secret from \(description): \(error)")
            }
        case .environment(let name):
            guard let v = environment[name] else { throw SecretError("the environment variable \(name) is not set") }
            text = v
        case .credential(let name):
            guard let dir = environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty else {
                throw SecretError("the systemd credential \(name) is not available: $CREDENTIALS_DIRECTORY is not set (LoadCredential=\(name):… in the unit)")
            }
            do { text = String(decoding: try Files.read(dir + "/" + name), as: UTF8.self) } catch {
                throw SecretError("cannot read the systemd credential \(name) in $CREDENTIALS_DIRECTORY: \(error)")
            }
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw SecretError("the \(description) is empty") }
        return trimmed
    }
}

package struct SecretError: Error, CustomStringConvertible, Sendable {
    package var description: String
    package init(_ d: String) { description = d }
}

/// One webhook endpoint: where events go, which ones, in which format, signed with which secret.
package struct WebhookEndpoint: Sendable, Equatable {
    package enum Format: String, Sendable, Equatable {
        /// Standard Webhooks: the event's JSON, signed.
        case standard
        /// A Slack incoming webhook: `text` and `blocks`, unsigned (the URL is the secret).
        case slack
    }

    package enum URLSource: Sendable, Equatable {
        case plain(String)
        case secret(SecretSource)
    }

    /// `ops` for a global endpoint, `churn/ops` for an endpoint of job `churn`.
    package var name: String
    /// The job whose file declares it, nil for a global endpoint.
    package var job: String?
    package var url: URLSource
    package var format: Format
    /// The event types it wants; nil for all.
    package var events: Set<String>?
    /// For global endpoints: the jobs whose events it wants; nil for all.
    package var jobs: Set<String>?
    /// Where the signing secret is read (at each attempt, so a rotated file takes effect at once);
    /// during a rotation it holds two secrets separated by white space, and both sign. Nil for Slack.
    package var secret: SecretSource?
    /// Seconds per attempt, connection included.
    package var timeout: Double

    package init(
        name: String, job: String?, url: URLSource, format: Format, events: Set<String>?, jobs: Set<String>?,
        secret: SecretSource?, timeout: Double
    ) {
        self.name = name
        self.job = job
        self.url = url
        self.format = format
        self.events = events
        self.jobs = jobs
        self.secret = secret
        self.timeout = timeout
    }

    /// Every event updater sends (and `test`, sent only by `updater webhooks test`).
    package static let eventTypes = [
        "drift.detected", "run.started", "run.succeeded", "run.failed", "gate.passed", "gate.failed", "model.promoted",
        "model.rolled_back", "model.forced", "job.invalid", "deploy.hook_failed", "performance.estimated_drop",
    ]

    /// Whether this endpoint wants an event of `type` about `job`.
    package func wants(type: String, job eventJob: String?) -> Bool {
        if let events, !events.contains(type) { return false }
        if let job { return eventJob == job }
        if let jobs { return eventJob.map(jobs.contains) ?? true }
        return true
    }

    /// The URL's scheme, host and port, for messages and listings: the path and query of a URL can
    /// hold a token (Slack's do), and a URL read from a secret source is not shown at all.
    package var shownURL: String {
        switch url {
        case .secret(let s): return "(secret, from the \(s))"
        case .plain(let u): return Self.origin(u)
        }
    }

    /// Checks a URL read from a secret source (never repeating it): http or https with a host.
    package static func checkedURL(_ url: String, from source: SecretSource) throws -> String {
        guard let c = URLComponents(string: url), ["http", "https"].contains(c.scheme?.lowercased() ?? ""), c.host?.isEmpty == false else {
            throw SecretError("the URL read from the \(source) is not an http:// or https:// URL")
        }
        return url
    }

    package static func origin(_ url: String) -> String {
        guard let c = URLComponents(string: url), let scheme = c.scheme, let host = c.host else { return "(not a URL)" }
        return "\(scheme)://\(host)\(c.port.map { ":\($0)" } ?? "")/…"
    }
}

/// The global webhook settings (`webhooks.toml`): endpoints for every job, and the retry schedule.
package struct WebhookSettings: Sendable, Equatable {
    package var endpoints: [WebhookEndpoint]
    /// Waits between attempts: after the first failed attempt wait `retrySchedule[0]`, and so on;
    /// after the last one the delivery is dead.
    package var retrySchedule: [Double]
    /// How long delivered events are kept (dead and pending ones stay until dealt with).
    package var keepDelivered: Double
    package var file: String?

    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 28 hours (Svix's schedule).
    package static let defaultRetrySchedule: [Double] = [5, 300, 1800, 7200, 18000, 36000, 36000]

    package init(
        endpoints: [WebhookEndpoint] = [], retrySchedule: [Double] = Self.defaultRetrySchedule, keepDelivered: Double = 30 * 86400,
        file: String? = nil
    ) {
        self.endpoints = endpoints
        self.retrySchedule = retrySchedule
        self.keepDelivered = keepDelivered
        self.file = file
    }
}
