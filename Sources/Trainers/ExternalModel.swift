import Foundation
import Support
import Training

/// What updater knows about a model an external trainer made: written as `updater-model.json`
/// into the model's directory, so the directory is a complete artifact (its digest covers it).
package struct ExternalModelInfo: Codable, Sendable {
    package static let fileName = "updater-model.json"

    package var contractVersion: Int
    package var command: [String]
    package var labels: LabelEncoding
    package var features: [String]
    package var categorical: [String]

    package init(contractVersion: Int, command: [String], labels: LabelEncoding, features: [String], categorical: [String]) {
        self.contractVersion = contractVersion
        self.command = command
        self.labels = labels
        self.features = features
        self.categorical = categorical
    }

    enum CodingKeys: String, CodingKey {
        case contractVersion = "contract_version", command, labels, features, categorical
    }

    /// What the model predicts (contract v1: two classes).
    package var target: Target { Target(column: labels.column, task: .binary, classes: [labels.negative, labels.positive]) }

    package static func read(directory: String) throws -> ExternalModelInfo {
        try decodeJSON(ExternalModelInfo.self, String(decoding: try Files.read(directory + "/" + fileName), as: UTF8.self))
    }

    package func write(directory: String) throws {
        try Files.writeAtomically(Array(try json(self).utf8), to: directory + "/" + Self.fileName)
    }
}
