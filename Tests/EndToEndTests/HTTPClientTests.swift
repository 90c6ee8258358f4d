import Foundation
import Testing

@testable import Webhooks

@Suite("HTTP through libcurl")
struct HTTPClientTests {
    @Test("a POST arrives with its headers and exact body; the status and body come back; the connection is reused")
    func post() throws {
        let receiver = try Receiver { _, n in .init(status: n == 0 ? 200 : 204, body: n == 0 ? "fine" : "") }
        let client = HTTPClient()
        let body = Array(#"{"a": 1}"#.utf8)
        let r = client.post(receiver.url, headers: ["Content-Type: application/json", "webhook-id: msg_1"], body: body)
        #expect(r.status == 200 && r.isSuccess && r.error == nil)
        #expect(r.body == "fine")
        let second = client.post(receiver.url, headers: [], body: body)
        #expect(second.status == 204 && second.isSuccess)
        let got = receiver.wait(for: 2)
        #expect(got.first?.method == "POST" && got.first?.path == "/hook")
        #expect(got.first?.body == body)
        #expect(got.first?.headers["webhook-id"] == "msg_1")
        #expect(got.first?.headers["content-type"] == "application/json")
        #expect(got.first?.headers["expect"] == nil, "no 100-continue round trip")
        #expect(receiver.connections == 1, "both requests on one kept-alive connection")
    }

    @Test("non-2xx statuses are not success; Retry-After is read as seconds or an HTTP date")
    func statuses() throws {
        let receiver = try Receiver { _, n in
            [Receiver.Response(status: 500), .init(status: 429, headers: ["Retry-After": "7"]), .init(status: 410), .init(status: 302, headers: ["Location": "http://127.0.0.1:1/elsewhere"])][n]
        }
        let client = HTTPClient()
        #expect(client.post(receiver.url, headers: [], body: []).status == 500)
        let limited = client.post(receiver.url, headers: [], body: [])
        #expect(limited.status == 429 && limited.retryAfter == 7 && !limited.isSuccess)
        #expect(client.post(receiver.url, headers: [], body: []).status == 410)
        // A redirect is not followed: its status is the answer.
        #expect(client.post(receiver.url, headers: [], body: []).status == 302)
        #expect(receiver.requests.count == 4)
        #expect(HTTPClient.retryAfter("Tue, 14 Nov 2023 22:14:20 GMT", now: Date(timeIntervalSince1970: 1_699_999_990)) == 70)
        #expect(HTTPClient.retryAfter("soon") == nil)
    }

    @Test("a refused connection and a receiver that does not answer in time are transport errors")
    func failures() throws {
        let client = HTTPClient()
        let refused = client.post("http://127.0.0.1:9/hook", headers: [], body: [])
        #expect(refused.status == nil && refused.error?.isEmpty == false, "\(refused)")
        let slow = try Receiver { _, _ in .init(delay: 3) }
        let hung = client.post(slow.url, headers: [], body: [], timeout: 0.5)
        #expect(hung.status == nil && (hung.error ?? "").lowercased().contains("timed out"), "\(hung)")
    }

    @Test("only http and https")
    func protocols() throws {
        let r = HTTPClient().post("file:///etc/passwd", headers: [], body: [])
        #expect(r.status == nil && r.error != nil)
    }
}
