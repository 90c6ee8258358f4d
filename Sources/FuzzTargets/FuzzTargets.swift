import Foundation
import JobFiles
import Tabular
import Training
import Webhooks

/// What the fuzzers feed arbitrary bytes to: the readers of everything updater takes from outside
/// (CSV batches, job files, the webhooks file, model files). Each must answer with a value or a
/// thrown error, never a crash or a hang; `make fuzz` runs them under libFuzzer and AddressSanitizer,
/// and `FuzzCorpusTests` replays the committed corpus (`Fuzz/corpus/TARGET/`) through them.
package enum FuzzTargets {
    /// The targets by name, as `make fuzz` and the corpus directories name them.
    package static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "csv": csv, "jobfile": jobFile, "webhooks": webhooksFile, "artifact": artifact,
    ]

    /// A batch as a job with a categorical column, a numeric one and a label reads it, and as
    /// `updater drift --reference` reads a file whose kinds it infers.
    package static func csv(_ bytes: [UInt8]) {
        let typed = CSVOptions(required: ["y"]) { name in name == "c" || name == "y" ? .categorical : .numeric }
        if let table = try? CSVReader.parse(bytes, file: "fuzz.csv", options: typed) {
            for name in table.names { _ = table.column(name) }
            _ = table.rows(Array(0..<min(table.rowCount, 3)))
        }
        var inferred = CSVOptions(required: []) { _ in .numeric }
        inferred.textFallback = true
        _ = try? CSVReader.parse(bytes, file: "fuzz.csv", options: inferred)
    }

    /// A job file, decoded and validated (paths resolved against a directory that does not exist).
    package static func jobFile(_ bytes: [UInt8]) {
        guard let text = try? JobFileDecoder.text(bytes, file: "/nonexistent/updater-fuzz/job.toml") else { return }
        _ = try? JobFileDecoder.decode(text, file: "/nonexistent/updater-fuzz/job.toml", directory: "/nonexistent/updater-fuzz")
    }

    /// The global webhooks file.
    package static func webhooksFile(_ bytes: [UInt8]) {
        guard let text = try? JobFileDecoder.text(bytes, file: "/nonexistent/updater-fuzz/webhooks.toml") else { return }
        _ = try? WebhookSettings.decode(text, file: "/nonexistent/updater-fuzz/webhooks.toml")
    }

    /// A model file, and, when it decodes, scoring two rows with it.
    package static func artifact(_ bytes: [UInt8]) {
        guard let model = try? ModelArtifact.decode(bytes), model.features.count < 1000 else { return }
        var text = model.features.joined(separator: ",") + "\n"
        for row in 0..<2 { text += model.features.map { _ in row == 0 ? "1.5" : "" }.joined(separator: ",") + "\n" }
        let kinds = Dictionary(
            model.preprocessor.numeric.map { ($0.name, ColumnKind.numeric) } + model.preprocessor.categorical.map { ($0.name, .categorical) },
            uniquingKeysWith: { a, _ in a })
        guard let table = try? CSVReader.parse(Array(text.utf8), file: "rows.csv", options: CSVOptions(required: []) { kinds[$0] }) else {
            return
        }
        _ = try? model.predict(table)
    }
}
