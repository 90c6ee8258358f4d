import Foundation
import Support
import TOMLKit
import Webhooks

extension WebhookSettings {
    /// Reads the global file; throws every problem, each naming the file, line and key.
    package static func load(_ path: String) throws(JobFileError) -> WebhookSettings {
        let (text, _) = try JobFileDecoder.readText(path)
        return try decode(text, file: path)
    }

    /// Decodes the global file's `text`; `file` names it in messages and anchors relative paths.
    package static func decode(_ text: String, file path: String) throws(JobFileError) -> WebhookSettings {
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
