import Drift
import Evaluation
import Foundation
import Registry
import Training

/// The model in production for a job, loaded from its verified artifact.
struct ProductionModel {
    var record: VersionRecord
    var model: LogisticModel
    var reference: ReferenceProfile
    var metrics: BinaryMetrics

    static func load(job: String, registry: Registry) throws -> ProductionModel? {
        guard let number = try registry.job(job)?.productionVersion else { return nil }
        guard let record = try registry.version(job, number) else {
            throw RegistryError("production version v\(number) of \(job) has no record")
        }
        let bytes = try Publisher.verifiedArtifact(record.artifactPath, sha256: record.artifactSHA256, version: number)
        let model = try ModelArtifact.decode(bytes)
        let reference = try JSONDecoder().decode(ReferenceProfile.self, from: Data(record.reference.utf8))
        let metrics = try JSONDecoder().decode(BinaryMetrics.self, from: Data(record.metrics.utf8))
        return ProductionModel(record: record, model: model, reference: reference, metrics: metrics)
    }
}

func json<T: Encodable>(_ value: T) -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    return String(decoding: (try? e.encode(value)) ?? Data("null".utf8), as: UTF8.self)
}
