import Dispatch
import Tabular

/// Turns table columns into the model's numeric design matrix; stored inside the artifact so
/// that prediction needs nothing else.
///
/// - numeric: standardised with the training mean and population standard deviation (a constant
///   column keeps scale 1); a missing value becomes the mean (0 after scaling), and columns that had
///   missing values in training get an extra 0/1 "missing" indicator;
/// - categorical: one-hot over the training categories (sorted), plus one bucket for categories
///   never seen in training and for missing values.
package struct Preprocessor: Sendable, Codable, Equatable {
    package struct Numeric: Sendable, Codable, Equatable {
        package var name: String
        package var mean: Double
        package var scale: Double
        package var missingIndicator: Bool

        enum CodingKeys: String, CodingKey {
            case name, mean, scale, missingIndicator = "missing_indicator"
        }
    }

    package struct Categorical: Sendable, Codable, Equatable {
        package var name: String
        package var levels: [String]
    }

    package var numeric: [Numeric]
    package var categorical: [Categorical]

    /// Fits on the training rows; `features` are the columns to use, each present in `table`.
    package static func fit(_ table: DataTable, features: [String]) throws -> Preprocessor {
        var numeric: [Numeric] = []
        var categorical: [Categorical] = []
        for name in features {
            guard let column = table.column(name) else { throw TrainingError("feature column \"\(name)\" is missing") }
            switch column {
            case .numeric(let values):
                // Two passes (sum, then squared deviations): exact enough and vectorisable.
                var n = 0, sum = 0.0
                for x in values where !x.isNaN {
                    n += 1
                    sum += x
                }
                let mean = n > 0 ? sum / Double(n) : 0
                var squares = 0.0
                for x in values where !x.isNaN { squares += (x - mean) * (x - mean) }
                let std = n > 0 ? (squares / Double(n)).squareRoot() : 0
                numeric.append(Numeric(
                    name: name, mean: mean, scale: std > 1e-12 ? std : 1, missingIndicator: n < values.count))
            case .categorical(let codes, let levels):
                var seen = [Bool](repeating: false, count: levels.count)
                for c in codes where c >= 0 { seen[Int(c)] = true }
                categorical.append(Categorical(name: name, levels: levels.indices.filter { seen[$0] }.map { levels[$0] }.sorted()))
            }
        }
        return Preprocessor(numeric: numeric, categorical: categorical)
    }

    /// The number of model inputs.
    package var width: Int {
        numeric.count + numeric.filter(\.missingIndicator).count + categorical.reduce(0) { $0 + $1.levels.count + 1 }
    }

    /// The names of the model inputs, in order.
    package var inputNames: [String] {
        numeric.map(\.name) + numeric.filter(\.missingIndicator).map { "\($0.name)=<missing>" }
            + categorical.flatMap { c in c.levels.map { "\(c.name)=\($0)" } + ["\(c.name)=<other>"] }
    }

    /// The design matrix of `table`, row-major (`rowCount × width`).
    package func transform(_ table: DataTable) throws -> [Double] {
        let width = self.width
        let n = table.rowCount
        let numbers: [[Double]] = try numeric.map { f in
            guard case .numeric(let values)? = table.column(f.name) else {
                throw TrainingError("numeric feature \"\(f.name)\" is missing or not numeric")
            }
            return values
        }
        let indicated = zip(numeric, numbers).filter { $0.0.missingIndicator }.map(\.1)
        // Per categorical feature: its codes, each code's input (the unseen bucket for a level the
        // preprocessor does not know), and the input of a missing value.
        let categories: [(codes: [Int32], map: [Int], other: Int)] = try categorical.map { f in
            guard case .categorical(let codes, let levels)? = table.column(f.name) else {
                throw TrainingError("categorical feature \"\(f.name)\" is missing or not categorical")
            }
            let index = Dictionary(f.levels.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            let other = f.levels.count
            return (codes, levels.map { index[$0] ?? other }, other)
        }
        let features = numeric
        let widths = categorical.map { $0.levels.count + 1 }
        // Row-major, filled a block of rows at a time (the block stays in cache while each feature
        // writes its column of it), blocks in parallel.
        return [Double](unsafeUninitializedCapacity: n * width) { buffer, count in
            count = n * width
            guard n > 0, width > 0 else { return }
            let base = DisjointWrites(buffer.baseAddress!)
            let blockRows = 2048
            DispatchQueue.concurrentPerform(iterations: (n + blockRows - 1) / blockRows) { b in
                let lower = b * blockRows, upper = min(n, lower + blockRows)
                let x = base.pointer + lower * width
                x.initialize(repeating: 0, count: (upper - lower) * width)
                var offset = 0
                for (f, values) in zip(features, numbers) {
                    for r in lower..<upper where !values[r].isNaN {
                        x[(r - lower) * width + offset] = (values[r] - f.mean) / f.scale
                    }
                    offset += 1
                }
                for values in indicated {
                    for r in lower..<upper where values[r].isNaN { x[(r - lower) * width + offset] = 1 }
                    offset += 1
                }
                for (k, c) in categories.enumerated() {
                    for r in lower..<upper {
                        let code = c.codes[r]
                        x[(r - lower) * width + offset + (code < 0 ? c.other : c.map[Int(code)])] = 1
                    }
                    offset += widths[k]
                }
            }
        }
    }
}
