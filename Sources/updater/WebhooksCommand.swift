import ArgumentParser
import Cycle
import Service
import Foundation
import Support
import JobFiles
import Registry
import Webhooks

struct WebhooksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "List webhook endpoints, send a test event, inspect and resend deliveries.",
        discussion: """
            Endpoints are configured in webhooks.toml beside the jobs directory (--webhooks FILE) for every job, and in a job file's [[webhooks]] for that job (named JOB/NAME). See docs/webhooks.md.

            Example:
              updater webhooks list
              updater webhooks test ops
              updater webhooks deliveries --failed
              updater webhooks redeliver 42
            """,
        subcommands: [List.self, Test.self, Deliveries.self, Redeliver.self, Enable.self])

    /// Every endpoint configured (the global file's, then each valid job file's), or the problems.
    static func endpoints(_ common: CommonOptions) throws -> [WebhookEndpoint] {
        let settings: WebhookSettings
        do { settings = try common.webhooksFile.load() } catch { throw fail("\(error)") }
        let jobs = (try? JobSet.load(directory: common.jobsDirectory).jobs) ?? []
        return settings.endpoints + jobs.flatMap(\.webhooks)
    }

    static func endpoint(_ name: String, _ common: CommonOptions) throws -> WebhookEndpoint {
        let all = try endpoints(common)
        guard let e = all.first(where: { $0.name == name }) else {
            throw fail("no webhook endpoint \"\(name)\" (endpoints: \(all.isEmpty ? "none configured" : all.map(\.name).joined(separator: ", ")))")
        }
        return e
    }

    /// An endpoint as `list` and `status` show it: never its secret or a secret URL.
    struct EndpointStatus: Encodable {
        var name: String
        var job: String?
        var format: String
        var url: String
        var events: [String]
        var disabled: WebhookEndpointStateRecord?
        var pending = 0
        var delivered = 0
        var dead = 0

        static func all(_ common: CommonOptions, registry: Registry?) throws -> [EndpointStatus] {
            let counts = (try? registry?.deliveryCounts()) ?? [:]
            let disabled = (try? registry?.disabledEndpoints()) ?? [:]
            let configured = try endpoints(common)
            func status(_ name: String, job: String?, format: String, url: String, events: [String]) -> EndpointStatus {
                let c = counts[name] ?? [:]
                return EndpointStatus(
                    name: name, job: job, format: format, url: url, events: events, disabled: disabled[name] ?? nil,
                    pending: c[.pending] ?? 0, delivered: c[.delivered] ?? 0, dead: c[.dead] ?? 0)
            }
            // Endpoints with recorded deliveries that are no longer configured: their pending ones
            // wait until they are configured again.
            let gone = Set(counts.keys).subtracting(configured.map(\.name)).sorted()
            return configured.map { e in
                status(e.name, job: e.job, format: e.format.rawValue, url: e.shownURL, events: e.events.map { $0.sorted() } ?? ["*"])
            } + gone.map { status($0, job: nil, format: "-", url: "(no longer configured)", events: []) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the endpoints: format, events, whether enabled, deliveries by state.",
            discussion: """
                Example:
                  updater webhooks list
                  updater webhooks list --json
                """)
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag

        func run() throws {
            let all = try EndpointStatus.all(common, registry: try? common.state.openExistingRegistry())
            if output.json { return printJSON(all) }
            if all.isEmpty {
                print("no webhook endpoints (\(common.webhooksFile.path ?? "no webhooks file") and the job files' [[webhooks]])")
                return
            }
            print(table(
                ["ENDPOINT", "FORMAT", "EVENTS", "STATE", "PENDING", "DELIVERED", "DEAD", "URL"],
                all.map { s in
                    [
                        s.name, s.format, truncate(s.events.joined(separator: ","), 40),
                        s.disabled.map { "DISABLED: \($0.reason)" } ?? "enabled", "\(s.pending)", "\(s.delivered)", "\(s.dead)", s.url,
                    ]
                }))
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Send a `test` event to an endpoint now and print the answer.",
            discussion: """
                Signed and formatted like every delivery; not recorded in the outbox and not retried. Exits 1 unless the answer is 2xx. Secrets are read as the daemon reads them: from files, from this shell's environment, or from systemd credentials in --credentials DIR.

                Example:
                  updater webhooks test ops
                  sudo -u updater updater webhooks test ops --credentials /etc/updater/credentials
                  updater webhooks test churn/slack --json
                """)
        @Argument(help: "The endpoint (NAME, or JOB/NAME for a job's own).") var endpoint: String
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Option(name: .long, help: "Where secret_credential and url_credential files are ($CREDENTIALS_DIRECTORY of the daemon's unit; the files its LoadCredential= names).")
        var credentials: String?

        struct Result: Encodable {
            var endpoint: String
            var eventID: String
            var delivered: Bool
            var status: Int?
            var error: String?
            var seconds: Double
            var body: String
            enum CodingKeys: String, CodingKey {
                case endpoint, eventID = "event_id", delivered, status, error, seconds, body
            }
        }

        func run() throws {
            let e = try WebhooksCommand.endpoint(endpoint, common)
            let event = WebhookEventRecord(
                type: "test", job: e.job,
                data: ["endpoint": .string(e.name), "message": "a test event sent by `updater webhooks test`"])
            let sender: WebhookSender
            var environment = ProcessInfo.processInfo.environment
            if let credentials { environment["CREDENTIALS_DIRECTORY"] = credentials }
            do { sender = try WebhookSender(environment: environment) } catch { throw fail("\(error)") }
            let a = sender.send(event, to: e)
            let r = Result(endpoint: e.name, eventID: event.id, delivered: a.delivered, status: a.status, error: a.error, seconds: a.seconds, body: a.body)
            if output.json {
                printJSON(r)
            } else {
                let answer = a.status.map { "HTTP \($0)" } ?? "no answer"
                print("\(e.name): \(a.delivered ? "delivered" : "FAILED") \(event.id): \(answer) in \(String(format: "%.3f", a.seconds)) s"
                    + (a.delivered ? "" : ": \(a.error ?? "")"))
                if !a.body.isEmpty { print(a.body) }
            }
            if !a.delivered { throw ExitCode.failure }
        }
    }

    struct Deliveries: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deliveries",
            abstract: "List deliveries, newest first: state, attempts, the last answer or error, the next attempt.",
            discussion: """
                A delivery is pending (its first attempt, or waiting for a retry), delivered (a 2xx answer) or dead (its last attempt failed, or the endpoint answered 410 Gone).

                Example:
                  updater webhooks deliveries
                  updater webhooks deliveries --failed --endpoint ops --json
                """)
        @OptionGroup var common: CommonOptions
        @OptionGroup var output: JSONFlag
        @Flag(name: .long, help: "Only failed ones: dead, or waiting for a retry after a failed attempt.") var failed = false
        @Option(name: .long, help: "Only this endpoint's.") var endpoint: String?
        @Option(name: .long, help: "At most this many.") var limit = 50

        struct Entry: Encodable {
            var delivery: WebhookDeliveryRecord
            var type: String
            var job: String?
            func encode(to encoder: Encoder) throws {
                try delivery.encode(to: encoder)
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(type, forKey: .type)
                try c.encode(job, forKey: .job)
            }
            enum Keys: String, CodingKey { case type, job }
        }

        func run() throws {
            guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
            let registry: Registry
            do { registry = try common.state.openExistingRegistry() } catch { throw fail("\(error)") }
            let all = try registry.deliveries(failed: failed, endpoint: endpoint, limit: limit)
            if output.json { return printJSON(all.map { Entry(delivery: $0.delivery, type: $0.event.type, job: $0.event.job) }) }
            if all.isEmpty {
                print(failed ? "no failed deliveries" : "no deliveries")
                return
            }
            print(table(
                ["ID", "EVENT", "TYPE", "JOB", "ENDPOINT", "STATE", "ATTEMPTS", "LAST", "NEXT / DELIVERED"],
                all.map { d in
                    let r = d.delivery
                    return [
                        "\(r.id ?? 0)", r.eventID, d.event.type, d.event.job ?? "-", r.endpoint, r.state.rawValue, "\(r.attempts)",
                        truncate(r.lastError ?? r.lastStatus.map { "HTTP \($0)" } ?? "-", 50),
                        r.state == .delivered ? show(r.deliveredAt) : show(r.nextAttemptAt),
                    ]
                }))
        }
    }

    struct Redeliver: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "redeliver",
            abstract: "Send a delivery again (same event id), with a fresh retry schedule.",
            discussion: """
                The running daemon sends it within a second (or the next `updater run` does).

                Example:
                  updater webhooks redeliver 42
                """)
        @Argument(help: "The delivery's id (updater webhooks deliveries).") var id: Int64
        @OptionGroup var common: CommonOptions

        func run() throws {
            let registry: Registry
            do { registry = try common.state.openExistingRegistry() } catch { throw fail("\(error)") }
            let d: WebhookDelivery
            do { d = try registry.redeliver(id) } catch { throw fail("\(error)") }
            print("delivery \(id) (\(d.event.type) \(d.event.id) to \(d.delivery.endpoint)) is pending again")
            if let off = try registry.disabledEndpoints()[d.delivery.endpoint] {
                print("note: \(d.delivery.endpoint) is disabled (\(off.reason)); `updater webhooks enable \(d.delivery.endpoint)` lets it be sent")
            }
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enable",
            abstract: "Enable an endpoint disabled by a 410 Gone answer; its waiting deliveries are sent.",
            discussion: """
                Example:
                  updater webhooks enable ops
                """)
        @Argument(help: "The endpoint.") var endpoint: String
        @OptionGroup var common: CommonOptions

        func run() throws {
            let registry: Registry
            do { registry = try common.state.openExistingRegistry() } catch { throw fail("\(error)") }
            print(try registry.enableEndpoint(endpoint) ? "\(endpoint): enabled" : "\(endpoint) was not disabled")
        }
    }
}
