import Drift
import Evaluation
import Foundation
import Registry
import Training

/// The model in production for a job, loaded from its verified artifact.
struct ProductionModel {
    var record: VersionRecord
    var model: LogisticModel
    /// The drift reference; nil when it cannot be read (stored by an older updater, say): the drift
    /// check then reports a schema change, so the next retrain is full and stores a new one.
    var reference: ReferenceProfile?
    var referenceProblem: String?
    var metrics: BinaryMetrics

    static func load(job: String, registry: Registry) throws -> ProductionModel? {
        guard let number = try registry.job(job)?.productionVersion else { return nil }
        guard let record = try registry.version(job, number) else {
            throw RegistryError("production version v\(number) of \(job) has no record")
        }
        let bytes = try Publisher.verifiedArtifact(record.artifactPath, sha256: record.artifactSHA256, version: number)
        let model = try ModelArtifact.decode(bytes)
        var reference: ReferenceProfile? = nil
        var problem: String? = nil
        do {
            reference = try decodeJSON(ReferenceProfile.self, record.reference)
        } catch {
            problem = "the drift reference stored with v\(number) cannot be read (\(error)); a full retrain stores a new one"
        }
        let metrics = try decodeJSON(BinaryMetrics.self, record.metrics)
        return ProductionModel(record: record, model: model, reference: reference, referenceProblem: problem, metrics: metrics)
    }
}

/// JSON for the registry: sorted keys, and infinities and NaN (an overflowing sum, say) written as
/// strings rather than failing.
func json<T: Encodable>(_ value: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try e.encode(value), as: UTF8.self)
}

func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    let d = JSONDecoder()
    d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try d.decode(type, from: Data(text.utf8))
}
