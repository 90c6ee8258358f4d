import Foundation
import Training

/// What updater knows about a model an external trainer made: written as `updater-model.json`
/// into the model's directory, so the directory is a complete artifact (its digest covers it).
struct ExternalModelInfo: Codable, Sendable {
    static let fileName = "updater-model.json"

    var contractVersion: Int
    var command: [String]
    var labels: LabelEncoding
    var features: [String]
    var categorical: [String]

    enum CodingKeys: String, CodingKey {
        case contractVersion = "contract_version", command, labels, features, categorical
    }

    /// What the model predicts (contract v1: two classes).
    var target: Target { Target(column: labels.column, task: .binary, classes: [labels.negative, labels.positive]) }

    static func read(directory: String) throws -> ExternalModelInfo {
        try decodeJSON(ExternalModelInfo.self, String(decoding: try Files.read(directory + "/" + fileName), as: UTF8.self))
    }

    func write(directory: String) throws {
        try Files.writeAtomically(Array(try json(self).utf8), to: directory + "/" + Self.fileName)
    }
}
