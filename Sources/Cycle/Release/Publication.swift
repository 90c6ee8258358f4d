import Drift
import Foundation
import JobFiles
import ModelExport
import Registry
import Support
import Training

/// What publishing a version writes: the model in each of the job's formats (`deploy.format`), and
/// beside each file its metadata (`FILE.json`: the job, the version, the file's SHA-256, the
/// features and their kinds, the classes, the decision threshold, the training window's
/// fingerprint), so a server can check what it loaded. Deterministic: the same version and formats
/// always give the same bytes.
package struct Publication: Sendable {
    package struct File: Sendable {
        package var format: DeployFormat
        package var path: String
        package var sha256: String
        /// The bytes to write; nil for an external trainer's directory (published as a link).
        var bytes: [UInt8]?
        var metadata: [UInt8]

        package var metadataPath: String { Self.metadataPath(of: path) }
        package static func metadataPath(of path: String) -> String { path + ".json" }
    }

    package var version: VersionRecord
    package var files: [File]

    /// The files of `version` for `deploy`: its artifact verified first; ONNX made from it.
    package static func make(_ version: VersionRecord, deploy: DeploySettings) throws -> Publication {
        var files: [File] = []
        if Files.isDirectory(version.artifactPath) {
            try Publisher.verifyDirectory(version.artifactPath, digest: version.artifactSHA256, version: version.version)
            guard deploy.formats == [.updater] else {
                throw FileError(version.artifactPath, "v\(version.version) was made by an external trainer: it is published in its own format only (deploy.format = \"updater\")")
            }
            let meta = try metadata(version, model: nil, format: .updater, path: deploy.path, sha256: version.artifactSHA256)
            return Publication(version: version, files: [File(format: .updater, path: deploy.path, sha256: version.artifactSHA256, bytes: nil, metadata: meta)])
        }
        let artifact = try Publisher.verifiedArtifact(version.artifactPath, sha256: version.artifactSHA256, version: version.version)
        let model = try ModelArtifact.decode(artifact)
        for (format, path) in deploy.files {
            let bytes: [UInt8]
            switch format {
            case .updater:
                bytes = artifact
            case .onnx:
                bytes = try ONNXExport.encode(artifact: artifact, version: version.version)
            }
            let sha = Files.sha256(bytes)
            files.append(File(format: format, path: path, sha256: sha, bytes: bytes,
                              metadata: try metadata(version, model: model, format: format, path: path, sha256: sha)))
        }
        return Publication(version: version, files: files)
    }

    /// The metadata file's content (docs/jobs.md, `[deploy]`).
    static func metadata(_ v: VersionRecord, model: Model?, format: DeployFormat, path: String, sha256: String) throws -> [UInt8] {
        struct Feature: Encodable { var name: String; var kind: String }
        struct Metadata: Encodable {
            var job: String
            var version: Int
            var format: String
            var path: String
            var sha256: String
            var artifactSHA256: String
            var model: String
            var task: String?
            var label: String?
            var classes: [String]?
            var decisionThreshold: Double?
            var features: [Feature]
            var trainingRows: Int
            var trainingWindowFingerprint: String
            enum CodingKeys: String, CodingKey {
                case job, version, format, path, sha256, model, task, label, classes, features
                case artifactSHA256 = "artifact_sha256", decisionThreshold = "decision_threshold", trainingRows = "training_rows"
                case trainingWindowFingerprint = "training_window_fingerprint"
            }
        }
        let features: [Feature]
        if let model {
            features = model.preprocessor.numeric.map { Feature(name: $0.name, kind: "numeric") }
                + model.preprocessor.categorical.map { Feature(name: $0.name, kind: "categorical") }
        } else {
            features = ((try? decodeJSON(ReferenceProfile.self, v.reference))?.columns ?? []).map { Feature(name: $0.name, kind: $0.kind.rawValue) }
        }
        let m = Metadata(
            job: v.job, version: v.version, format: format.rawValue, path: path, sha256: sha256, artifactSHA256: v.artifactSHA256,
            model: model?.kind.rawValue ?? "external", task: model?.target.task.rawValue, label: model?.target.column,
            classes: model.flatMap { $0.target.task == .regression ? nil : $0.target.classes },
            decisionThreshold: model?.target.task == .binary ? (v.decisionThreshold ?? 0.5) : nil, features: features,
            trainingRows: v.trainingRows, trainingWindowFingerprint: v.dataFingerprint)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(m)) + [10]
    }

    /// What the `model.*` events say was published: the first file's path, format and SHA-256, and
    /// every file.
    package var eventFields: [String: JSONValue] {
        guard let first = files.first else { return [:] }
        return [
            "deploy_path": .string(first.path), "format": .string(first.format.rawValue), "sha256": .string(first.sha256),
            "files": .array(files.map { ["path": .string($0.path), "format": .string($0.format.rawValue), "sha256": .string($0.sha256)] }),
        ]
    }

    /// Whether every file (and its metadata) already holds this publication.
    package var isServed: Bool {
        files.allSatisfy { f in
            let served = f.bytes == nil ? Publisher.isServing(version, at: f.path) : (try? Files.sha256(of: f.path)) == f.sha256
            return served && (try? Files.read(f.metadataPath)) == f.metadata
        }
    }

    /// Whether `deploy`'s files already hold `version`, judged from what each metadata file says
    /// (its version, artifact and format) and the file's own checksum: the cycle's check before
    /// every run, which so builds no publication (no model decoded, no ONNX made) when nothing
    /// changed. A file that fails it is published again, after the exact check (``isServed``).
    package static func looksServed(_ version: VersionRecord, deploy: DeploySettings) -> Bool {
        struct Said: Decodable {
            var version: Int
            var format: String
            var sha256: String
            var artifactSHA256: String
            enum CodingKeys: String, CodingKey { case version, format, sha256, artifactSHA256 = "artifact_sha256" }
        }
        return deploy.files.allSatisfy { format, path in
            guard let bytes = try? Files.read(File.metadataPath(of: path)), let said = try? JSONDecoder().decode(Said.self, from: Data(bytes)),
                said.version == version.version, said.artifactSHA256 == version.artifactSHA256, said.format == format.rawValue
            else { return false }
            return Files.isDirectory(version.artifactPath) ? Publisher.isServing(version, at: path) : (try? Files.sha256(of: path)) == said.sha256
        }
    }
}

extension JobRecord {
    /// Where and how the job publishes, as the registry last recorded its job file (for a rollback
    /// or promotion from the command line, which does not read the job file). The deploy command
    /// is the job file's alone.
    package var deployment: DeploySettings {
        DeploySettings(path: deployPath, formats: deployFormats.split(separator: ",").compactMap { DeployFormat(rawValue: String($0)) })
    }
}
