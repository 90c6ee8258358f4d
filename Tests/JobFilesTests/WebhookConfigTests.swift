import Foundation
import Testing

@testable import JobFiles
import Webhooks

extension JobDir {
    /// The problems of `text` as a global webhooks file, or [] when it loads.
    func webhookProblems(_ text: String) throws -> [String] {
        do {
            _ = try WebhookSettings.load(try write(text, as: "webhooks.toml"))
            return []
        } catch let e as JobFileError { return e.problems.map(\.description) }
    }
}

@Suite("Webhook endpoints in webhooks.toml and job files")
struct WebhookConfigTests {
    @Test("a global file: endpoints with their sources, events, jobs, timeout and the retry schedule")
    func global() throws {
        let dir = try JobDir()
        let file = try dir.write(
            """
            retry_schedule = ["1s", "1m"]
            keep_delivered = "7d"

            [[webhooks]]
            name = "ops"
            url = "https://hooks.example.com/updater?token=t"
            secret_file = "ops.secret"
            events = ["model.promoted", "model.rolled_back"]
            jobs = ["churn"]
            timeout = "5s"

            [[webhooks]]
            name = "chat"
            format = "slack"
            url_credential = "slack-url"
            """, as: "webhooks.toml")
        let s = try WebhookSettings.load(file)
        #expect(s.retrySchedule == [1, 60] && s.keepDelivered == 7 * 86400)
        #expect(s.endpoints.count == 2)
        let ops = s.endpoints[0]
        #expect(ops.name == "ops" && ops.job == nil && ops.format == .standard && ops.timeout == 5)
        #expect(ops.secret == .file(dir.path + "/ops.secret"))
        #expect(ops.events == ["model.promoted", "model.rolled_back"] && ops.jobs == ["churn"])
        #expect(ops.wants(type: "model.promoted", job: "churn") && !ops.wants(type: "model.promoted", job: "fraud"))
        #expect(!ops.wants(type: "run.started", job: "churn"))
        #expect(ops.shownURL == "https://hooks.example.com/…", "a URL's path and query are never shown")
        let chat = s.endpoints[1]
        #expect(chat.format == .slack && chat.url == .secret(.credential("slack-url")) && chat.events == nil && chat.timeout == 15)
        #expect(chat.shownURL == "(secret, from the systemd credential slack-url)")
        #expect(WebhookSettings().retrySchedule == [5, 300, 1800, 7200, 18000, 36000, 36000])
        #expect(WebhookSettings().keepDelivered == 30 * 86400)
    }

    @Test("a job's [[webhooks]] are named JOB/NAME and want only that job's events")
    func perJob() throws {
        let dir = try JobDir()
        let file = try dir.write(
            """
            [data]
            incoming = "incoming"
            label = "y"

            [deploy]
            path = "model.bin"

            [[webhooks]]
            name = "team"
            url = "http://127.0.0.1:9/hook"
            secret_env = "TEAM_SECRET"
            """, as: "churn.toml")
        let job = try JobFileDecoder.load(file)
        #expect(job.webhooks.map(\.name) == ["churn/team"])
        #expect(job.webhooks[0].wants(type: "run.started", job: "churn") && !job.webhooks[0].wants(type: "run.started", job: "fraud"))
        #expect(job.webhooks[0].secret == .environment("TEAM_SECRET"))
    }

    @Test("a secret in plain text is refused without being echoed; so is a Slack URL in plain text")
    func plainSecrets() throws {
        let dir = try JobDir()
        let problems = try dir.webhookProblems(
            """
            [[webhooks]]
            name = "ops"
            url = "https://hooks.example.com/x"
            secret = "whsec_TOPSECRETVALUE"

            [[webhooks]]
            name = "chat"
            format = "slack"
            url = "https://hooks.slack.com/services/T0/B0/SLACKTOKEN"
            """)
        #expect(problems.contains { $0.hasSuffix("webhooks.toml:4: webhooks[0].secret: a secret in the file in plain text is refused: use secret_file, secret_env or secret_credential") }, "\(problems)")
        #expect(problems.contains { $0.contains("webhooks[1].url: a Slack webhook URL is a secret: give url_file, url_env or url_credential instead") }, "\(problems)")
        #expect(!problems.joined().contains("TOPSECRETVALUE") && !problems.joined().contains("SLACKTOKEN"))
    }

    @Test("a secret or URL pasted where its source's name belongs is refused without being echoed")
    func pastedSecrets() throws {
        let dir = try JobDir()
        let problems = try dir.webhookProblems(
            """
            [[webhooks]]
            name = "ops"
            url = "https://example.com/x"
            secret_env = "whsec_PASTEDSECRET"

            [[webhooks]]
            name = "chat"
            format = "slack"
            url_file = "https://hooks.slack.com/services/T0/B0/PASTEDTOKEN"

            [[webhooks]]
            name = "var"
            url = "https://example.com/x"
            secret_env = "MY SECRET"
            """)
        #expect(problems.contains { $0.contains("webhooks[0].secret_env: this looks like the secret itself") }, "\(problems)")
        #expect(problems.contains { $0.contains("webhooks[1].url_file: this looks like the secret itself") }, "\(problems)")
        #expect(problems.contains { $0.contains("webhooks[2].secret_env: expected an environment variable's name") }, "\(problems)")
        #expect(!problems.joined().contains("PASTEDSECRET") && !problems.joined().contains("PASTEDTOKEN"))
    }

    @Test("bad endpoints: each problem names its key")
    func badEndpoints() throws {
        let dir = try JobDir()
        let problems = try dir.webhookProblems(
            """
            retry_schedule = ["soon"]

            [[webhooks]]
            name = "Ops!"
            url = "ftp://example.com/x"
            secret_file = "a"
            secret_env = "B"
            events = ["model.promoted", "model.exploded"]

            [[webhooks]]
            name = "nosecret"
            url = "https://example.com/x"

            [[webhooks]]
            name = "cred"
            url = "https://example.com/x"
            secret_credential = "../../etc/shadow"

            [[webhooks]]
            name = "cred"
            url_env = "URL"
            secret_env = "S"
            colour = "red"
            """)
        let expected = [
            "retry_schedule: expected a list of durations",
            "webhooks[0].name: endpoint names match [a-z0-9][a-z0-9_-]*",
            "webhooks[0].url: expected an http:// or https:// URL",
            "webhooks[0].secret_file: give one of secret_file, secret_env, secret_credential",
            "webhooks[0].events: unknown event \"model.exploded\"",
            "webhooks[1].secret_file: a standard endpoint signs its deliveries",
            "webhooks[2].secret_credential: expected a credential's name (as in LoadCredential=NAME:…), not a path",
            "webhooks[3].name: another endpoint is named \"cred\"",
            "webhooks[3].colour: unknown key",
        ]
        for e in expected { #expect(problems.contains { $0.contains(e) }, "missing \(e) in \(problems)") }
    }

    @Test("secrets are read from a file, the environment or $CREDENTIALS_DIRECTORY; errors say where, never what")
    func reading() throws {
        let dir = try JobDir()
        try dir.write("  whsec_abc\n", as: "s")
        try dir.write("cred-value\n", as: "slack")
        #expect(try SecretSource.file(dir.path + "/s").read() == "whsec_abc")
        #expect(try SecretSource.environment("X").read(environment: ["X": "v"]) == "v")
        #expect(try SecretSource.credential("slack").read(environment: ["CREDENTIALS_DIRECTORY": dir.path]) == "cred-value")
        #expect(throws: SecretError.self) { try SecretSource.environment("MISSING").read(environment: [:]) }
        do {
            _ = try SecretSource.credential("slack").read(environment: [:])
            Issue.record("no $CREDENTIALS_DIRECTORY should fail")
        } catch {
            #expect("\(error)".contains("$CREDENTIALS_DIRECTORY is not set"))
        }
        try dir.write("\n", as: "empty")
        #expect(throws: SecretError.self) { try SecretSource.file(dir.path + "/empty").read() }
    }
}
