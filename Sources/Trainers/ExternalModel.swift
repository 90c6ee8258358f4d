import Foundation
import Support
import Training

/// What updater knows about a model an external trainer made: written as `updater-model.json`
/// into the model's directory, so the directory is a complete artifact (its digest covers it).
package struct ExternalModelInfo: Codable, Sendable {
    package static let fileName = "updater-model.json"

    package var contractVersion: Int
    package var command: [String]
    /// A binary model's label encoding (every binary model has one; contract 1 models only this).
    package var labels: LabelEncoding?
    /// What a contract-2 model predicts (nil in files written before: binary, from `labels`).
    package var predicts: Target?
    package var features: [String]
    package var categorical: [String]

    package init(contractVersion: Int, command: [String], target: Target, features: [String], categorical: [String]) {
        self.contractVersion = contractVersion
        self.command = command
        self.predicts = target
        if target.task == .binary, target.classes.count == 2 {
            labels = LabelEncoding(column: target.column, negative: target.classes[0], positive: target.classes[1])
        }
        self.features = features
        self.categorical = categorical
    }

    enum CodingKeys: String, CodingKey {
        case contractVersion = "contract_version", command, labels, features, categorical, predicts = "target"
    }

    /// What the model predicts.
    package var target: Target {
        if let predicts { return predicts }
        let l = labels ?? LabelEncoding(column: "", negative: "", positive: "")
        return Target(column: l.column, task: .binary, classes: [l.negative, l.positive])
    }

    package static func read(directory: String) throws -> ExternalModelInfo {
        try decodeJSON(ExternalModelInfo.self, String(decoding: try Files.read(directory + "/" + fileName), as: UTF8.self))
    }

    package func write(directory: String) throws {
        try Files.writeAtomically(Array(try json(self).utf8), to: directory + "/" + Self.fileName)
    }
}
