import Drift
import Evaluation
import Foundation
import Trainers
import Support
import JobFiles
import Registry
import Training

/// The model in production for a job, loaded from its verified artifact.
struct ProductionModel {
    var record: VersionRecord
    /// The built-in model; nil for an external trainer's model (see `external`).
    var model: Model?
    /// An external trainer's model: scored by running its trainer in score mode.
    var external: ExternalModelInfo?
    /// The drift reference; nil when it cannot be read (stored by an older updater, say): the drift
    /// check then reports a schema change, so the next retrain is full and stores a new one.
    var reference: ReferenceProfile?
    var referenceProblem: String?
    /// Its metrics on the evaluation rows it was judged on.
    var metrics: MetricSummary

    static func load(job: String, registry: Registry) throws -> ProductionModel? {
        guard let number = try registry.job(job)?.productionVersion else { return nil }
        guard let record = try registry.version(job, number) else {
            throw RegistryError("production version v\(number) of \(job) has no record")
        }
        var model: Model? = nil
        var external: ExternalModelInfo? = nil
        if Files.isDirectory(record.artifactPath) {
            try Publisher.verifyDirectory(record.artifactPath, digest: record.artifactSHA256, version: number)
            external = try ExternalModelInfo.read(directory: record.artifactPath)
        } else {
            let bytes = try Publisher.verifiedArtifact(record.artifactPath, sha256: record.artifactSHA256, version: number)
            model = try ModelArtifact.decode(bytes)
        }
        var reference: ReferenceProfile? = nil
        var problem: String? = nil
        do {
            reference = try decodeJSON(ReferenceProfile.self, record.reference)
        } catch {
            problem = "the drift reference stored with v\(number) cannot be read (\(error)); a full retrain stores a new one"
        }
        let metrics = try decodeJSON(MetricSummary.self, record.metrics)
        return ProductionModel(
            record: record, model: model, external: external, reference: reference, referenceProblem: problem, metrics: metrics)
    }

    /// The binary label encoding of the model in production.
    var labels: LabelEncoding {
        get throws {
            if let external {
                guard let labels = external.labels else { throw CycleError("v\(record.version) is a \(external.target.task.rawValue) model, not a binary classifier") }
                return labels
            }
            guard let labels = model?.binaryLabels else {
                throw CycleError("v\(record.version) is a \(model?.target.task.rawValue ?? "?") model, not a binary classifier")
            }
            return labels
        }
    }

    /// What the model in production predicts.
    var target: Target {
        get throws {
            if let model { return model.target }
            guard let external else { throw CycleError("v\(record.version) has no model") }
            return external.target
        }
    }

    /// The decision threshold the model in production is judged and served with.
    func threshold(_ job: JobConfig) -> Double { record.decisionThreshold ?? job.gate.threshold }

    /// The columns the model reads.
    var features: [String] { model?.features ?? external!.features }
}
