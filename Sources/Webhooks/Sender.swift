import Crypto
import Support
import Foundation
import Registry

/// Sends one event to one endpoint: the Standard Webhooks request (the event's stored payload,
/// signed with a fresh timestamp and the same id on every attempt) or a Slack message. Secrets are
/// read at each attempt and appear in no result, error or log line.
package final class WebhookSender {
    let client: HTTPClient
    let environment: [String: String]

    package init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        client = HTTPClient()
        self.environment = environment
    }

    /// The outcome of one attempt.
    package struct Attempt: Sendable, Equatable {
        package var at: Date
        package var status: Int?
        /// Why it failed, without any secret; nil on success.
        package var error: String?
        package var retryAfter: TimeInterval?
        /// The start of the answer's body.
        package var body: String
        package var seconds: Double
        package var delivered: Bool { error == nil }
        /// 410 Gone: the receiver wants no more deliveries.
        package var gone: Bool { status == 410 }
    }

    package func send(_ event: WebhookEventRecord, to endpoint: WebhookEndpoint, now: Date = Date()) -> Attempt {
        let url: String
        var headers = ["Content-Type: application/json"]
        let body: [UInt8]
        do {
            switch endpoint.url {
            case .plain(let u): url = u
            case .secret(let source): url = try WebhookEndpoint.checkedURL(try source.read(environment: environment), from: source)
            }
            switch endpoint.format {
            case .standard:
                body = Array(event.payload.utf8)
                guard let source = endpoint.secret else { throw SecretError("no signing secret configured") }
                let keys = try source.read(environment: environment).split(whereSeparator: \.isWhitespace).map {
                    try StandardWebhooks.key(String($0))
                }
                let timestamp = Int(now.timeIntervalSince1970)
                headers += [
                    "webhook-id: \(event.id)", "webhook-timestamp: \(timestamp)",
                    "webhook-signature: \(StandardWebhooks.signature(id: event.id, timestamp: timestamp, body: body, keys: keys))",
                ]
            case .slack:
                body = Array(SlackMessage(event).json.utf8)
            }
        } catch {
            return Attempt(at: now, status: nil, error: "\(error)", retryAfter: nil, body: "", seconds: 0)
        }
        let r = client.post(url, headers: headers, body: body, connectTimeout: min(endpoint.timeout, 10), timeout: endpoint.timeout)
        var error: String?
        if let status = r.status {
            if !r.isSuccess { error = "HTTP \(status)" + (r.body.isEmpty ? "" : ": " + Self.scrub(String(r.body.prefix(200)), url: url)) }
        } else {
            error = Self.scrub(r.error ?? "no response", url: url)
        }
        return Attempt(at: now, status: r.status, error: error, retryAfter: r.retryAfter, body: r.body, seconds: r.seconds)
    }

    /// A message with the URL (which may be a secret) replaced by its origin.
    static func scrub(_ message: String, url: String) -> String {
        var m = message.replacingOccurrences(of: url, with: WebhookEndpoint.origin(url))
        if let c = URLComponents(string: url), !c.path.isEmpty, c.path != "/" {
            m = m.replacingOccurrences(of: c.path, with: "/…")
        }
        return m
    }
}

/// An event as a Slack incoming-webhook message: a readable `text` (also the notification) and
/// `blocks` (the same line, and the job, run and event type as context).
package struct SlackMessage {
    package var text: String
    package var context: String

    package init(_ event: WebhookEventRecord) {
        let d = event.data
        let job = d["job"]?.string ?? event.job ?? "updater"
        func v(_ key: String) -> String { d[key]?.int.map { "v\($0)" } ?? "none" }
        let run = d["run"]?.int.map { "run \($0)" }
        switch event.type {
        case "drift.detected":
            let columns = (d["top_columns"]?.array ?? []).compactMap { $0["column"]?.string }
            text = "\(job): \(d["severity"]?.string ?? "") drift detected"
                + (columns.isEmpty ? "" : " in \(columns.joined(separator: ", "))") + " (production \(v("production_version")))"
        case "run.started": text = "\(job): \(run ?? "run") started (\(d["trigger"]?.string ?? ""))"
        case "run.succeeded":
            text = "\(job): \(run ?? "run") \(d["state"]?.string == "rejected" ? "ended: candidate rejected" : "succeeded")"
                + (d["reason"]?.string.map { ": \($0)" } ?? "")
        case "run.failed": text = "\(job): \(run ?? "run") \(d["state"]?.string ?? "failed"): \(d["error"]?.string ?? "")"
        case "gate.passed": text = "\(job): \(v("version")) passed the gate"
        case "gate.failed":
            let rules = (d["failed_rules"]?.array ?? []).map { r in
                "\(r["metric"]?.string ?? "")\(r["slice"]?.string.map { "[\($0)]" } ?? ""): \(r["reason"]?.string ?? "")"
            }
            text = "\(job): \(v("version")) failed the gate: \(rules.joined(separator: "; "))"
        case "model.promoted": text = "\(job): \(v("to_version")) promoted to production (was \(v("from_version")))"
        case "model.rolled_back":
            text = "\(job): rolled back from \(v("from_version")) to \(v("to_version")) by \(d["actor"]?.string ?? "?"): \(d["reason"]?.string ?? "")"
        case "model.forced":
            text = "\(job): \(v("to_version")) forced into production by \(d["actor"]?.string ?? "?"): \(d["reason"]?.string ?? "")"
        case "job.invalid": text = "\(job): the job file stopped validating: \(d["error"]?.string ?? "")"
        case "deploy.hook_failed":
            text = "\(job): the deploy command for \(v("version")) failed (attempt \(d["attempts"].flatMap { $0.number.map { String(Int($0)) } } ?? "?")): \(d["error"]?.string ?? "")"
        case "performance.estimated_drop":
            text = "\(job): production \(v("production_version"))'s performance estimated to have fallen: \(d["summary"]?.string ?? "")"
        default: text = "\(job): \(event.type)"
        }
        context = ([event.type] + [run].compactMap { $0 } + [WebhookEventRecord.timestamp(event.createdAt)]).joined(separator: " · ")
    }

    package var json: String {
        let blocks: JSONValue = [
            ["type": "section", "text": ["type": "mrkdwn", "text": .string(Self.escaped(text))]],
            ["type": "context", "elements": [["type": "mrkdwn", "text": .string(Self.escaped(context))]]],
        ]
        return JSONValue.object(["text": .string(Self.escaped(text)), "blocks": blocks]).text
    }

    /// Slack's mrkdwn escapes: &, < and >.
    static func escaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
