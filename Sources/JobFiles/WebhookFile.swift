import Foundation
import Support
import Webhooks

/// Where the global webhook settings come from: `--webhooks FILE` (which must exist), else
/// `webhooks.toml` beside the jobs directory when it exists, else none (only the jobs' own endpoints).
package enum WebhookFile: Sendable, Equatable {
    case none
    case optional(String)
    case required(String)

    /// `--webhooks FILE`, else `webhooks.toml` in the jobs directory's parent (`/etc/updater/webhooks.toml`
    /// beside `/etc/updater/jobs`).
    package static func resolve(option: String?, jobsDirectory: String) -> WebhookFile {
        if let option, !option.isEmpty { return .required(option) }
        return .optional(absolutePath(jobsDirectory + "/../webhooks.toml"))
    }

    package var path: String? {
        switch self {
        case .none: nil
        case .optional(let p), .required(let p): p
        }
    }

    /// The settings; none configured when an optional file is absent.
    package func load() throws(JobFileError) -> WebhookSettings {
        switch self {
        case .none: return WebhookSettings()
        case .optional(let p) where !FileManager.default.fileExists(atPath: p): return WebhookSettings()
        case .optional(let p), .required(let p): return try WebhookSettings.load(p)
        }
    }
}
