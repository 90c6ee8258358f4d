import Foundation
import Testing

import Registry
@testable import Webhooks

@Suite("Sending one event")
struct SenderTests {
    @Test("a secret source holding two secrets (a rotation) signs with both; each verifies on its own")
    func rotationThroughSender() throws {
        let dir = NSTemporaryDirectory() + "updater-sender-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let new = "whsec_" + Data(repeating: 9, count: 32).base64EncodedString()
        try Data("\(new)\n\(old)\n".utf8).write(to: URL(fileURLWithPath: dir + "/secret"))
        let receiver = try Receiver()
        let endpoint = WebhookEndpoint(
            name: "ops", job: nil, url: .plain(receiver.url), format: .standard, events: nil, jobs: nil,
            secret: .file(dir + "/secret"), timeout: 5)
        let event = WebhookEventRecord(type: "test", job: nil, data: ["n": 1])
        let attempt = try WebhookSender().send(event, to: endpoint)
        #expect(attempt.delivered && attempt.status == 200)
        let got = try #require(receiver.wait(for: 1).first)
        let signatures = (got.headers["webhook-signature"] ?? "").split(separator: " ").map(String.init)
        #expect(signatures.count == 2)
        for secret in [old, new] {
            let one = StandardWebhooks.signature(id: got.webhookID, timestamp: got.timestamp, body: got.body, keys: [try StandardWebhooks.key(secret)])
            #expect(signatures.contains(one))
        }
        #expect(got.body == Array(event.payload.utf8), "the stored payload is sent byte for byte")
    }

    @Test("a missing secret fails the attempt with where it was looked for, and sends nothing")
    func missingSecret() throws {
        let receiver = try Receiver()
        let endpoint = WebhookEndpoint(
            name: "ops", job: nil, url: .plain(receiver.url), format: .standard, events: nil, jobs: nil,
            secret: .environment("UPDATER_TEST_NO_SUCH_SECRET"), timeout: 5)
        let attempt = try WebhookSender(environment: [:]).send(WebhookEventRecord(type: "test", job: nil, data: [:]), to: endpoint)
        #expect(!attempt.delivered && attempt.status == nil)
        #expect(attempt.error == "the environment variable UPDATER_TEST_NO_SUCH_SECRET is not set")
        try expectOnlyRequestAfter(receiver)
    }

    @Test("a malformed secret or secret URL fails the attempt without being repeated")
    func neverWhat() throws {
        let dir = NSTemporaryDirectory() + "updater-sender-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("whsec_!!SECRETVALUE!!".utf8).write(to: URL(fileURLWithPath: dir + "/secret"))
        try Data("hooks.slack.com/services/T0/B0/URLTOKEN".utf8).write(to: URL(fileURLWithPath: dir + "/url"))
        let receiver = try Receiver()
        let badSecret = WebhookEndpoint(
            name: "ops", job: nil, url: .plain(receiver.url), format: .standard, events: nil, jobs: nil,
            secret: .file(dir + "/secret"), timeout: 5)
        let badURL = WebhookEndpoint(
            name: "chat", job: nil, url: .secret(.file(dir + "/url")), format: .slack, events: nil, jobs: nil, secret: nil, timeout: 5)
        let sender = try WebhookSender()
        let event = WebhookEventRecord(type: "test", job: nil, data: [:])
        let a = sender.send(event, to: badSecret)
        #expect(a.error == "a webhook secret must be \"whsec_\" followed by base64")
        let b = sender.send(event, to: badURL)
        #expect(b.error == "the URL read from the file \(dir)/url is not an http:// or https:// URL", "\(b)")
        #expect(![a.error, b.error].compactMap { $0 }.joined().contains("SECRETVALUE"))
        #expect(![a.error, b.error].compactMap { $0 }.joined().contains("URLTOKEN"))
        try expectOnlyRequestAfter(receiver)
    }
}

/// Sends one good request to `receiver` and waits for it: once it has arrived, the receiver holds
/// it alone if nothing was sent before.
private func expectOnlyRequestAfter(_ receiver: Receiver) throws {
    let good = WebhookEndpoint(
        name: "probe", job: nil, url: .plain(receiver.url), format: .slack, events: nil, jobs: nil, secret: nil, timeout: 5)
    #expect(try WebhookSender().send(WebhookEventRecord(type: "test", job: nil, data: [:]), to: good).delivered)
    #expect(receiver.wait(for: 1).count == 1)
    #expect(receiver.requests.count == 1, "a request was sent before the probe")
}
