import Dispatch
import Foundation
import Tabular

/// A multilayer perceptron: 1 to 3 hidden ReLU layers, then a sigmoid output (binary), a softmax
/// over the classes (multiclass) or an identity output (regression), trained by minibatch Adam with
/// early stopping on a held-out validation split.
///
/// How it relates to scikit-learn's `MLPClassifier` / `MLPRegressor(solver="adam", activation="relu")`
/// (the defaults here are theirs unless said otherwise):
/// - the loss per minibatch of `n` rows is `(Σ_i s_i · loss_i + l2/2 · ‖W‖²) / n`: log-loss for
///   classification, `(y − ŷ)² / 2` for regression, `s_i` the row's class weight (1 without class
///   weights, which is scikit-learn's loss exactly; scikit-learn's MLP has no `class_weight`), the
///   biases not penalised: `l2` is scikit-learn's `alpha` (default 1e-4);
/// - Adam as scikit-learn's (`learning_rate_init` 1e-3, β₁ 0.9, β₂ 0.999, ε 1e-8, bias-corrected step
///   `lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)`), minibatches of `min(batchSize, rows)` (default 200) over the
///   rows shuffled every epoch;
/// - Glorot uniform initialisation as scikit-learn's for ReLU: weights and biases of a layer uniform
///   in `±√(6 / (fan_in + fan_out))`;
/// - early stopping as `early_stopping=True` with `validation_fraction` 0.1 (`ceil(fraction · rows)`
///   rows held out, stratified by class for classification) and `tol` 1e-4, with two differences:
///   it watches the validation *loss* (not the accuracy / R² score), and it stops once `patience`
///   epochs in a row have not lowered the best loss by `tol` (scikit-learn's `n_iter_no_change = 10`
///   stops after 11). As scikit-learn's, the weights returned are those of the best validation epoch.
///   With `validationFraction = 0` it is `early_stopping=False`: the rule watches the training loss
///   (the epoch's mean minibatch loss, penalty included), the last weights are returned, and
///   ``Outcome/bestValidationLoss`` reports the best training loss;
/// - added: inverted dropout on the hidden activations during training (scikit-learn has none);
/// - the regression target is not rescaled (as scikit-learn's): standardise a target of large scale
///   before training, or the identity output will need very many epochs to reach it;
/// - `maxEpochs` is `max_iter` (default 200).
///
/// The random numbers (validation split, initialisation, shuffling, dropout masks) come from `seed`
/// through generators of this file, so a seed gives the same weights bit for bit on every run and
/// on any number of cores: each minibatch is split into row blocks by a rule that depends only on
/// its row count, each block sums its gradient into its own buffer, and the blocks are added in block
/// order. Results from scikit-learn differ (different random numbers), as stochastic training does.
package enum MLPTrainer {
    package struct Options: Sendable {
        /// The width of each hidden (ReLU) layer: 1 to 3 layers, each at least 1 unit wide.
        package var hiddenLayers: [Int]
        /// The probability of dropping each hidden activation in training (inverted dropout: the kept
        /// ones are scaled by `1 / (1 − dropout)`, so prediction uses the weights as they are); 0 ≤ p < 1.
        package var dropout: Double
        /// The L2 penalty on the weights (not the biases), scikit-learn's `alpha`.
        package var l2: Double
        /// Adam's step size, scikit-learn's `learning_rate_init`.
        package var learningRate: Double
        /// Rows per minibatch (the last one of an epoch may be smaller).
        package var batchSize: Int
        /// The most epochs (passes over the training rows).
        package var maxEpochs: Int
        /// The fraction of the rows held out (seeded, stratified for classification) to watch for early
        /// stopping; 0 ≤ f < 1, where 0 watches the training loss instead.
        package var validationFraction: Double
        /// Stop once this many epochs in a row have not improved the best loss by `tol`.
        package var patience: Int
        package var tol: Double
        /// Seeds the validation split, the initialisation, the shuffling and the dropout masks.
        package var seed: UInt64
        /// How much each class counts (classification only).
        package var classWeights: ClassWeights
        /// Asked before every epoch; a reason (a time limit, a cancellation) stops the training, which
        /// then throws ``TrainingError`` with that reason.
        package var shouldStop: @Sendable () -> String?

        package init(
            hiddenLayers: [Int] = [32], dropout: Double = 0.0, l2: Double = 1e-4, learningRate: Double = 1e-3,
            batchSize: Int = 200, maxEpochs: Int = 200, validationFraction: Double = 0.1, patience: Int = 10,
            tol: Double = 1e-4, seed: UInt64 = 0, classWeights: ClassWeights = .none,
            shouldStop: @escaping @Sendable () -> String? = { nil }
        ) {
            self.hiddenLayers = hiddenLayers
            self.dropout = dropout
            self.l2 = l2
            self.learningRate = learningRate
            self.batchSize = batchSize
            self.maxEpochs = maxEpochs
            self.validationFraction = validationFraction
            self.patience = patience
            self.tol = tol
            self.seed = seed
            self.classWeights = classWeights
            self.shouldStop = shouldStop
        }
    }

    package struct Outcome: Sendable {
        /// The hidden layers, then the output layer (1 output for binary and regression, one per class
        /// for multiclass); score them with `predict(_:inputs:task:)` over the layers.
        package var layers: [DenseLayer]
        /// The epochs run.
        package var epochs: Int
        /// The lowest validation loss seen (mean class-weighted loss per validation row, no penalty),
        /// the loss of the returned weights; the best training loss when `validationFraction` is 0.
        package var bestValidationLoss: Double
        /// Whether the patience rule stopped the training before `maxEpochs`.
        package var stoppedEarly: Bool
    }

    /// Classification (binary: one sigmoid output, multiclass: softmax over classes; log-loss) or
    /// regression (identity output, squared error / 2), per `target.task`, from a Glorot initialisation.
    package static func fit(_ table: DataTable, preprocessor: Preprocessor, target: Target, options: Options) throws -> Outcome {
        try train(from: nil, table, preprocessor: preprocessor, target: target, options: options)
    }

    /// Continues training from `layers` (an incremental update: warm start), same options: the layer
    /// shapes are kept (so `options.hiddenLayers` must match them), Adam starts afresh (as
    /// scikit-learn's `warm_start`), and the validation split is drawn from `table`.
    package static func update(
        _ layers: [DenseLayer], on table: DataTable, preprocessor: Preprocessor, target: Target, options: Options
    ) throws -> Outcome {
        try train(from: layers, table, preprocessor: preprocessor, target: target, options: options)
    }

    /// Minibatches whose work (rows × parameters) is below this run their row blocks on one thread;
    /// larger ones spread their (up to 8) blocks over the cores. The blocks, and so the weights, are
    /// the same either way.
    ///
    /// Measured on the 2-core build machine (`swiftc -O`, binary target, 10 inputs, 4000 rows, 20
    /// epochs; per minibatch, one thread vs. both): a training step costs ~1.05 ns per row × parameter
    /// on one thread, and handing the 8 blocks to both cores costs ~20 µs, so they cross near 40 000:
    /// 200 rows × [16] hidden (38 600) 40 vs 41 µs; × [20] (48 200) 50 vs 43 µs; × [32], the default
    /// (77 000) 80 vs 62 µs (1.3×); × [128, 64] (1.9 M) 1050 vs 625 µs (1.7×, Adam's step itself is
    /// serial). Small networks and small minibatches (50 rows × [32]: 20 vs 28 µs) stay on one thread.
    static let minimumParallelWork = 40_000

    static func train(
        from start: [DenseLayer]?, _ table: DataTable, preprocessor: Preprocessor, target: Target, options: Options,
        minimumParallelWork: Int = MLPTrainer.minimumParallelWork
    ) throws -> Outcome {
        try validate(options)
        let n = table.rowCount
        guard n > 0 else { throw TrainingError("no training rows") }
        let d = preprocessor.width
        guard d > 0 else { throw TrainingError("the preprocessing gives no model inputs") }

        // Targets (a value per row: the class index for multiclass, 0/1 for binary) and row weights.
        let outputs: Int
        let mode: MLPOutput
        let y: [Double]
        let s: [Double]
        var classIndex: [Int32] = []
        switch target.task {
        case .regression:
            guard options.classWeights == .none else {
                throw TrainingError("class weights apply to classification; the target \"\(target.column)\" is a regression target")
            }
            outputs = 1
            mode = .identity
            y = try target.encodeValues(table)
            s = [Double](repeating: 1, count: n)
        case .binary, .multiclass:
            guard target.task == .multiclass || target.classes.count == 2 else {
                throw TrainingError("the binary target \"\(target.column)\" has \(target.classes.count) classes; it needs two")
            }
            guard target.classes.count >= 2 else {
                throw TrainingError("the target \"\(target.column)\" has \(target.classes.count) class\(target.classes.count == 1 ? "" : "es"); a classifier needs at least two")
            }
            classIndex = try target.encodeClasses(table)
            s = try options.classWeights.rowWeights(classIndex, classes: target.classes)
            y = classIndex.map { Double($0) }
            if target.task == .binary {
                outputs = 1
                mode = .sigmoid
            } else {
                outputs = target.classes.count
                mode = .softmax
            }
        }
        let x = try preprocessor.transform(table)

        // The network's shape, from the options or from the parent's layers.
        let sizes = [d] + options.hiddenLayers + [outputs]
        if let start {
            guard !start.isEmpty else { throw TrainingError("the model to update has no layers") }
            let shape = start.map(\.outputs).dropLast()
            guard start.count == sizes.count - 1, let first = start.first, let last = start.last else {
                throw TrainingError(
                    "the model to update has \(start.count - 1) hidden layer\(start.count == 2 ? "" : "s"); hiddenLayers \(options.hiddenLayers) needs \(options.hiddenLayers.count)")
            }
            guard Array(shape) == options.hiddenLayers else {
                throw TrainingError(
                    "hiddenLayers \(options.hiddenLayers) do not match the hidden layers \(Array(shape)) of the model to update; an update keeps the layer shapes")
            }
            guard first.inputs == d else {
                throw TrainingError("the model to update reads \(first.inputs) inputs; the preprocessing gives \(d)")
            }
            guard last.outputs == outputs else {
                throw TrainingError("the model to update has \(last.outputs) outputs; the \(target.task.rawValue) target needs \(outputs)")
            }
            for (a, b) in zip(start, start.dropFirst()) where a.outputs != b.inputs {
                throw TrainingError("the model to update has a layer of \(a.outputs) outputs followed by one of \(b.inputs) inputs")
            }
        }
        let net = MLPShape(sizes: sizes)

        // The validation split.
        var splitter = SplitMix64(seed: mixSeed(options.seed, 1))
        let validationCount = options.validationFraction > 0 ? Int((options.validationFraction * Double(n)).rounded(.up)) : 0
        guard validationCount < n else {
            throw TrainingError(
                "\(n) row\(n == 1 ? "" : "s") cannot be split into training and validation rows (validationFraction \(options.validationFraction)); give more rows or validationFraction 0")
        }
        var permutation = Array(0..<n)
        splitter.shuffle(&permutation)
        var validationRows: [Int] = []
        var trainingRows: [Int] = []
        if validationCount == 0 {
            trainingRows = permutation
        } else if target.task.isClassification {
            // Stratified: each class gives its share of the validation rows, the rounding remainders
            // going to the largest fractional shares (ties to the lower class), as scikit-learn's.
            let k = target.classes.count
            var byClass = [[Int]](repeating: [], count: k)
            for r in permutation { byClass[Int(classIndex[r])].append(r) }
            var quota = byClass.map { validationCount * $0.count / n }
            let remainders = byClass.map { validationCount * $0.count % n }
            let order = (0..<k).sorted { remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1 }
            for c in order.prefix(validationCount - quota.reduce(0, +)) { quota[c] += 1 }
            for c in 0..<k {
                validationRows += byClass[c][..<quota[c]]
                trainingRows += byClass[c][quota[c]...]
            }
        } else {
            validationRows = Array(permutation[..<validationCount])
            trainingRows = Array(permutation[validationCount...])
        }

        // Parameters: per layer its weights (outputs × inputs, row-major as DenseLayer) then its biases.
        var params = [Double](repeating: 0, count: net.parameterCount)
        if let start {
            for (l, layer) in start.enumerated() {
                for j in 0..<layer.weights.count { params[net.weightOffset[l] + j] = layer.weights[j] }
                for j in 0..<layer.outputs { params[net.biasOffset[l] + j] = layer.bias[j] }
            }
        } else {
            var initialiser = SplitMix64(seed: mixSeed(options.seed, 2))
            for l in 0..<net.layerCount {
                let bound = (6 / Double(sizes[l] + sizes[l + 1])).squareRoot()
                for j in net.weightOffset[l]..<(net.biasOffset[l] + sizes[l + 1]) {
                    params[j] = -bound + 2 * bound * initialiser.nextUnit()
                }
            }
        }
        guard params.allSatisfy(\.isFinite) else { throw TrainingError("the model to update has weights that are not finite") }

        // Preallocated state: Adam's moments, the best weights, and per row block its gradient, its
        // loss and its workspace (every layer's activations, later its deltas, and one scratch row).
        let parameterCount = net.parameterCount
        let batchSize = min(options.batchSize, trainingRows.count)
        let blockCapacity = MLPShape.blocks(forRows: batchSize) == 1 ? batchSize : max(16, (batchSize + 7) / 8)
        let maxBlocks = MLPShape.blocks(forRows: batchSize)
        let workPerBlock = net.workspaceSize(rows: blockCapacity)
        var m = [Double](repeating: 0, count: parameterCount)
        var v = [Double](repeating: 0, count: parameterCount)
        var best = params
        var blockGradients = [Double](repeating: 0, count: maxBlocks * parameterCount)
        var blockLosses = [Double](repeating: 0, count: maxBlocks)
        var workspace = [Double](repeating: 0, count: maxBlocks * workPerBlock)
        let parallel = ProcessInfo.processInfo.activeProcessorCount > 1

        var shuffler = SplitMix64(seed: mixSeed(options.seed, 3))
        let dropoutSeed = mixSeed(options.seed, 4)
        let beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
        var beta1Power = 1.0, beta2Power = 1.0
        var step: UInt64 = 0
        var bestLoss = Double.infinity
        var withoutImprovement = 0
        var epochs = 0
        var stoppedEarly = false

        /// Runs `count` rows of `rows` (from `offset`) through the network in blocks: forward only
        /// (`train` false) or forward and backward with dropout. Returns Σ s_i · loss_i.
        func pass(_ rows: [Int], offset: Int, count: Int, train: Bool) -> Double {
            let blocks = MLPShape.blocks(forRows: count)
            x.withUnsafeBufferPointer { xs in
                y.withUnsafeBufferPointer { ys in
                    s.withUnsafeBufferPointer { ss in
                        rows.withUnsafeBufferPointer { rs in
                            params.withUnsafeBufferPointer { ps in
                                blockGradients.withUnsafeMutableBufferPointer { gs in
                                    blockLosses.withUnsafeMutableBufferPointer { ls in
                                        workspace.withUnsafeMutableBufferPointer { ws in
                                            let shared = MLPBlocks(
                                                x: xs.baseAddress!, y: ys.baseAddress!, s: ss.baseAddress!,
                                                rows: rs.baseAddress! + offset, count: count, blocks: blocks,
                                                params: ps.baseAddress!, gradients: gs.baseAddress!, losses: ls.baseAddress!,
                                                workspace: ws.baseAddress!, workPerBlock: workPerBlock, net: net, mode: mode,
                                                train: train, scale: 1 / Double(count), dropout: train ? options.dropout : 0,
                                                dropoutSeed: mixSeed(dropoutSeed, step))
                                            // A forward pass is about a third of a training step's work.
                                            if parallel, blocks > 1, count * parameterCount / (train ? 1 : 3) >= minimumParallelWork {
                                                DispatchQueue.concurrentPerform(iterations: blocks) { b in shared.run(block: b) }
                                            } else {
                                                for b in 0..<blocks { shared.run(block: b) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            var total = 0.0
            for b in 0..<blocks { total += blockLosses[b] }
            return total
        }

        for epoch in 1...options.maxEpochs {
            if let reason = options.shouldStop() {
                throw TrainingError("training stopped after \(epoch - 1) epoch\(epoch == 2 ? "" : "s"): \(reason)")
            }
            shuffler.shuffle(&trainingRows)
            var epochLoss = 0.0
            var offset = 0
            while offset < trainingRows.count {
                let count = min(batchSize, trainingRows.count - offset)
                step += 1
                let dataLoss = pass(trainingRows, offset: offset, count: count, train: true)
                let blocks = MLPShape.blocks(forRows: count)
                let scale = 1 / Double(count)
                beta1Power *= beta1
                beta2Power *= beta2
                let stepSize = options.learningRate * (1 - beta2Power).squareRoot() / (1 - beta1Power)
                var penalty = 0.0
                // Sum the block gradients in block order, add the penalty's, and take the Adam step.
                params.withUnsafeMutableBufferPointer { ps in
                    blockGradients.withUnsafeBufferPointer { gs in
                        m.withUnsafeMutableBufferPointer { ms in
                            v.withUnsafeMutableBufferPointer { vs in
                                for l in 0..<net.layerCount {
                                    let weightEnd = net.biasOffset[l]
                                    let end = weightEnd + sizes[l + 1]
                                    for j in net.weightOffset[l]..<end {
                                        var g = gs[j]
                                        for b in 1..<blocks { g += gs[b * parameterCount + j] }
                                        let p = ps[j]
                                        if j < weightEnd {
                                            g += options.l2 * scale * p
                                            penalty += p * p
                                        }
                                        let mj = beta1 * ms[j] + (1 - beta1) * g
                                        let vj = beta2 * vs[j] + (1 - beta2) * (g * g)
                                        ms[j] = mj
                                        vs[j] = vj
                                        ps[j] = p - stepSize * mj / (vj.squareRoot() + epsilon)
                                    }
                                }
                            }
                        }
                    }
                }
                epochLoss += dataLoss + 0.5 * options.l2 * penalty  // the batch's mean loss × its rows
                offset += count
            }
            epochs = epoch
            let current: Double
            if validationRows.isEmpty {
                current = epochLoss / Double(trainingRows.count)
            } else {
                var total = 0.0
                var offset = 0
                while offset < validationRows.count {
                    let count = min(batchSize, validationRows.count - offset)
                    total += pass(validationRows, offset: offset, count: count, train: false)
                    offset += count
                }
                current = total / Double(validationRows.count)
            }
            guard current.isFinite else {
                throw TrainingError("training diverged in epoch \(epoch) (the loss is not finite); lower learningRate")
            }
            if current > bestLoss - options.tol { withoutImprovement += 1 } else { withoutImprovement = 0 }
            if current < bestLoss {
                bestLoss = current
                if !validationRows.isEmpty {
                    best.withUnsafeMutableBufferPointer { bs in
                        for j in 0..<parameterCount { bs[j] = params[j] }
                    }
                }
            }
            if withoutImprovement >= options.patience {
                stoppedEarly = epoch < options.maxEpochs
                break
            }
        }

        let final = validationRows.isEmpty ? params : best
        let layers = (0..<net.layerCount).map { l in
            DenseLayer(
                inputs: sizes[l], outputs: sizes[l + 1],
                weights: Array(final[net.weightOffset[l]..<net.biasOffset[l]]),
                bias: Array(final[net.biasOffset[l]..<(net.biasOffset[l] + sizes[l + 1])]))
        }
        return Outcome(layers: layers, epochs: epochs, bestValidationLoss: bestLoss, stoppedEarly: stoppedEarly)
    }

    /// Refuses options out of range, naming the option.
    static func validate(_ o: Options) throws {
        guard (1...3).contains(o.hiddenLayers.count) else {
            throw TrainingError("hiddenLayers must list 1 to 3 hidden layers (got \(o.hiddenLayers.count))")
        }
        if let bad = o.hiddenLayers.first(where: { $0 < 1 }) {
            throw TrainingError("hiddenLayers must be widths ≥ 1 (got \(bad))")
        }
        guard o.dropout >= 0, o.dropout < 1 else { throw TrainingError("dropout must be ≥ 0 and < 1 (got \(o.dropout))") }
        guard o.l2 >= 0, o.l2.isFinite else { throw TrainingError("l2 must be a number ≥ 0 (got \(o.l2))") }
        guard o.learningRate > 0, o.learningRate.isFinite else {
            throw TrainingError("learningRate must be a number > 0 (got \(o.learningRate))")
        }
        guard o.batchSize >= 1 else { throw TrainingError("batchSize must be ≥ 1 (got \(o.batchSize))") }
        guard o.maxEpochs >= 1 else { throw TrainingError("maxEpochs must be ≥ 1 (got \(o.maxEpochs))") }
        guard o.validationFraction >= 0, o.validationFraction < 1 else {
            throw TrainingError("validationFraction must be ≥ 0 and < 1 (got \(o.validationFraction))")
        }
        guard o.patience >= 1 else { throw TrainingError("patience must be ≥ 1 (got \(o.patience))") }
        guard o.tol >= 0, o.tol.isFinite else { throw TrainingError("tol must be a number ≥ 0 (got \(o.tol))") }
    }
}

/// The output link and its loss.
enum MLPOutput { case identity, sigmoid, softmax }

/// A network's layer sizes and where each layer lives in the flat parameter and workspace arrays.
struct MLPShape: Sendable {
    /// Inputs, the hidden widths, outputs.
    let sizes: [Int]
    let weightOffset: [Int]
    let biasOffset: [Int]
    let parameterCount: Int
    var layerCount: Int { sizes.count - 1 }
    var widest: Int { sizes.max()! }

    init(sizes: [Int]) {
        self.sizes = sizes
        var weights: [Int] = [], biases: [Int] = []
        var offset = 0
        for l in 0..<(sizes.count - 1) {
            weights.append(offset)
            offset += sizes[l] * sizes[l + 1]
            biases.append(offset)
            offset += sizes[l + 1]
        }
        weightOffset = weights
        biasOffset = biases
        parameterCount = offset
    }

    /// The row blocks of a minibatch (or validation chunk) of `rows` rows: one per 16 rows, at most 8.
    /// It depends on nothing else (not the cores), which fixes the order of the gradient sums.
    static func blocks(forRows rows: Int) -> Int { max(1, min(8, (rows + 15) / 16)) }

    /// Each layer's outputs for `rows` rows, then one scratch row of the widest layer.
    func workspaceSize(rows: Int) -> Int { sizes.dropFirst().reduce(0) { $0 + rows * $1 } + widest }
}

/// One minibatch's shared inputs and per-block outputs. Each worker reads the shared buffers and
/// writes only its own block's gradient, loss and workspace, and the caller reads them after all have
/// finished, which is what makes the `@unchecked Sendable` safe.
struct MLPBlocks: @unchecked Sendable {
    let x: UnsafePointer<Double>
    let y: UnsafePointer<Double>
    let s: UnsafePointer<Double>
    /// The batch's row indexes.
    let rows: UnsafePointer<Int>
    let count: Int, blocks: Int
    let params: UnsafePointer<Double>
    let gradients: UnsafeMutablePointer<Double>
    let losses: UnsafeMutablePointer<Double>
    let workspace: UnsafeMutablePointer<Double>
    let workPerBlock: Int
    let net: MLPShape
    let mode: MLPOutput
    /// Backward pass and dropout, or forward only.
    let train: Bool
    /// 1 / rows in the batch: the deltas' factor.
    let scale: Double
    let dropout: Double
    let dropoutSeed: UInt64

    func run(block b: Int) {
        let lower = count * b / blocks, upper = count * (b + 1) / blocks
        let m = upper - lower
        let sizes = net.sizes
        let layers = net.layerCount
        let d = sizes[0]
        let work = workspace + b * workPerBlock
        // Layer l's outputs for the block's rows (m × sizes[l + 1]), layer after layer; the same storage
        // later holds its deltas. Then one scratch row.
        @inline(__always) func activations(_ l: Int) -> UnsafeMutablePointer<Double> {
            var offset = 0
            for i in 0..<l { offset += m * sizes[i + 1] }
            return work + offset
        }
        let scratch = activations(layers)
        @inline(__always) func input(_ r: Int) -> UnsafePointer<Double> { x + rows[lower + r] * d }

        // Forward.
        var rng = SplitMix64(seed: mixSeed(dropoutSeed, UInt64(b)))
        let keep = 1 / (1 - dropout)
        for l in 0..<layers {
            let inputs = sizes[l], outputs = sizes[l + 1]
            let w = params + net.weightOffset[l], bias = params + net.biasOffset[l]
            let out = activations(l)
            let previous = UnsafePointer(activations(max(l - 1, 0)))
            let hidden = l < layers - 1
            for r in 0..<m {
                let a = l > 0 ? previous + r * inputs : input(r)
                let o = out + r * outputs
                for k in 0..<outputs { o[k] = bias[k] + dotProduct(w + k * inputs, a, inputs) }
                if hidden {
                    if train && dropout > 0 {
                        for k in 0..<outputs { o[k] = rng.nextUnit() < dropout ? 0 : max(o[k], 0) * keep }
                    } else {
                        for k in 0..<outputs { o[k] = max(o[k], 0) }
                    }
                }
            }
        }

        // Loss, and the output deltas in place of the outputs.
        let k = sizes[layers]
        let out = activations(layers - 1)
        var loss = 0.0
        for r in 0..<m {
            let i = rows[lower + r]
            let o = out + r * k
            let weight = s[i]
            switch mode {
            case .identity:
                let diff = o[0] - y[i]
                loss += weight * 0.5 * diff * diff
                o[0] = weight * scale * diff
            case .sigmoid:
                let z = o[0]
                // log(1 + e^z) − y·z and σ(z) from one exponential, without overflow.
                let e = exp(-abs(z))
                loss += weight * (max(z, 0) + log1p(e) - y[i] * z)
                let p = z >= 0 ? 1 / (1 + e) : e / (1 + e)
                o[0] = weight * scale * (p - y[i])
            case .softmax:
                let label = Int(y[i])
                let zLabel = o[label]
                let (top, logSum) = softmaxInPlace(o, k)
                loss += weight * (top + logSum - zLabel)
                o[label] -= 1
                for c in 0..<k { o[c] *= weight * scale }
            }
        }
        losses[b] = loss
        guard train else { return }

        // Backward: each layer's gradient from its deltas and inputs, then the deltas of the layer
        // below in place of its activations (a ReLU passes where its activation is > 0; with dropout
        // the kept ones were scaled by `keep`, the dropped ones are 0).
        let g = gradients + b * net.parameterCount
        for j in 0..<net.parameterCount { g[j] = 0 }
        for l in stride(from: layers - 1, through: 0, by: -1) {
            let inputs = sizes[l], outputs = sizes[l + 1]
            let delta = activations(l)
            let gw = g + net.weightOffset[l], gb = g + net.biasOffset[l]
            let below = activations(max(l - 1, 0))
            for r in 0..<m {
                let a = l > 0 ? UnsafePointer(below + r * inputs) : input(r)
                let dr = delta + r * outputs
                for c in 0..<outputs {
                    let dc = dr[c]
                    if dc == 0 { continue }
                    gb[c] += dc
                    let gc = gw + c * inputs
                    for j in 0..<inputs { gc[j] += dc * a[j] }
                }
            }
            guard l > 0 else { continue }
            let w = params + net.weightOffset[l]
            for r in 0..<m {
                let dr = delta + r * outputs
                for j in 0..<inputs { scratch[j] = 0 }
                for c in 0..<outputs {
                    let dc = dr[c]
                    if dc == 0 { continue }
                    let wc = w + c * inputs
                    for j in 0..<inputs { scratch[j] += dc * wc[j] }
                }
                let a = below + r * inputs
                for j in 0..<inputs { a[j] = a[j] > 0 ? scratch[j] * keep : 0 }
            }
        }
    }
}

/// `Σ a[j] · b[j]` with four running sums (a fixed order, so deterministic, and faster than one).
@inline(__always)
func dotProduct(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int) -> Double {
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    var j = 0
    while j + 4 <= n {
        s0 += a[j] * b[j]
        s1 += a[j + 1] * b[j + 1]
        s2 += a[j + 2] * b[j + 2]
        s3 += a[j + 3] * b[j + 3]
        j += 4
    }
    while j < n {
        s0 += a[j] * b[j]
        j += 1
    }
    return (s0 + s1) + (s2 + s3)
}

extension SplitMix64 {
    /// Uniform in 0..<bound, without modulo bias.
    mutating func next(below bound: Int) -> Int {
        let b = UInt64(bound)
        let limit = UInt64.max - UInt64.max % b
        while true {
            let r = next()
            if r < limit { return Int(r % b) }
        }
    }

    /// Fisher–Yates.
    mutating func shuffle(_ a: inout [Int]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, next(below: i + 1)) }
    }
}

/// A seed for stream `stream` of `seed`, so that each use of the seed draws independent numbers.
func mixSeed(_ seed: UInt64, _ stream: UInt64) -> UInt64 {
    var g = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
    return g.next()
}

/// Applies `layers` in turn to `inputs` (`rows × layers[0].inputs`, row-major, from
/// ``Preprocessor/transform(_:)``): ReLU after every layer but the last, then the last through the
/// single-layer `predict(_:inputs:task:)` (the task's link), so a single layer predicts exactly as
/// that function does. Large inputs are scored in row blocks on every core.
package func predict(_ layers: [DenseLayer], inputs: [Double], task: Task) -> Prediction {
    precondition(!layers.isEmpty, "at least one layer")
    for (a, b) in zip(layers, layers.dropFirst()) { precondition(a.outputs == b.inputs, "each layer reads the outputs of the one before") }
    var current = inputs
    for layer in layers.dropLast() { current = reluLayer(layer, current) }
    return predict(layers[layers.count - 1], inputs: current, task: task)
}

/// `max(0, layer(inputs))`, row-major `rows × layer.outputs`.
private func reluLayer(_ layer: DenseLayer, _ inputs: [Double]) -> [Double] {
    precondition(layer.inputs > 0 && inputs.count % layer.inputs == 0, "rows × layer.inputs inputs")
    let rows = inputs.count / layer.inputs
    var out = [Double](repeating: 0, count: rows * layer.outputs)
    let blocks = min(
        max(1, ProcessInfo.processInfo.activeProcessorCount), max(1, rows * layer.outputs * layer.inputs / 1_000_000))
    inputs.withUnsafeBufferPointer { xs in
        layer.weights.withUnsafeBufferPointer { ws in
            layer.bias.withUnsafeBufferPointer { bs in
                out.withUnsafeMutableBufferPointer { os in
                    let shared = ReluBlocks(
                        x: xs.baseAddress!, w: ws.baseAddress!, b: bs.baseAddress!, out: os.baseAddress!,
                        rows: rows, d: layer.inputs, k: layer.outputs, blocks: blocks)
                    if blocks == 1 {
                        shared.run(block: 0)
                    } else {
                        DispatchQueue.concurrentPerform(iterations: blocks) { b in shared.run(block: b) }
                    }
                }
            }
        }
    }
    return out
}

/// One hidden layer's shared inputs; each worker writes only its own rows of `out`, which the caller
/// reads after all have finished (hence `@unchecked Sendable`).
private struct ReluBlocks: @unchecked Sendable {
    let x: UnsafePointer<Double>
    let w: UnsafePointer<Double>
    let b: UnsafePointer<Double>
    let out: UnsafeMutablePointer<Double>
    let rows: Int, d: Int, k: Int, blocks: Int

    func run(block: Int) {
        let lower = rows * block / blocks, upper = rows * (block + 1) / blocks
        for r in lower..<upper {
            let row = x + r * d
            let o = out + r * k
            for c in 0..<k { o[c] = max(0, b[c] + dotProduct(w + c * d, row, d)) }
        }
    }
}
