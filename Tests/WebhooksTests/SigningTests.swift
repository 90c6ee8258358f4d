import Foundation
import Testing

@testable import Webhooks

@Suite("Standard Webhooks signatures")
struct SigningTests {
    @Test("the test vector of facts.md (checked with the standardwebhooks package, hmac and openssl)")
    func testVector() throws {
        let key = try StandardWebhooks.key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let signature = StandardWebhooks.signature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8), keys: [key])
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test("during a rotation both secrets sign, space-separated")
    func rotation() throws {
        let old = try StandardWebhooks.key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let new = try StandardWebhooks.key("whsec_" + Data(repeating: 7, count: 32).base64EncodedString())
        let both = StandardWebhooks.signature(id: "msg_1", timestamp: 1, body: Array("{}".utf8), keys: [new, old])
        let parts = both.split(separator: " ")
        #expect(parts.count == 2 && parts.allSatisfy { $0.hasPrefix("v1,") } && parts[0] != parts[1])
    }

    @Test("a malformed secret is refused without echoing it")
    func badSecrets() {
        #expect(throws: SigningError("a webhook secret must be \"whsec_\" followed by base64")) { try StandardWebhooks.key("hunter2-plain") }
        #expect(throws: SigningError("a webhook secret must hold at least 24 bytes (it holds 3)")) { try StandardWebhooks.key("whsec_YWJj") }
    }
}
