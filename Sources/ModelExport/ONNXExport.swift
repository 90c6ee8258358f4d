import Foundation
import SwiftProtobuf
import Training

/// A built-in model as an ONNX graph that any serving stack loads (onnxruntime, Triton, the JVM's
/// and .NET's runtimes), with updater's preprocessing inside it, so the server passes the raw
/// columns and gets what `updater predict` writes (docs/artifact.md, "ONNX").
///
/// Inputs: one per feature column, named after it, shape `[N, 1]`: `double` for a numeric column
/// (NaN for a missing value), `string` for a categorical one (`""` for a missing value).
/// Outputs: `probabilities` (`double [N, K]`, the classes in `updater predict`'s order) and `label`
/// (`string [N]`) for a classifier; `prediction` (`double [N]`) for regression.
///
/// The graph repeats ``Preprocessor/transform(_:)`` and ``predict(_:inputs:task:)`` operation for
/// operation, in doubles: standardisation with the missing value as the mean (`IsNaN`, `Where`), the
/// missing indicators, one-hot over the training categories (`ai.onnx.ml` `OneHotEncoder`) with
/// the bucket for unseen and missing categories as 1 − their sum, then each dense layer (`MatMul`,
/// `Add`, `Relu` between layers) and the task's link (`Sigmoid` giving `[1 − p, p]`, `Softmax`, or
/// none). A binary label is the positive class when its probability reaches the decision threshold.
package enum ONNXExport {
    /// The `ai.onnx` operator set (13: `Softmax` over one axis, `ReduceSum` axes as an input).
    package static let opset: Int64 = 13
    /// The `ai.onnx.ml` operator set (`OneHotEncoder`).
    package static let mlOpset: Int64 = 1
    /// The IR version that goes with opset 13.
    package static let irVersion: Int64 = 7

    /// The model's ONNX file. `threshold` is a binary model's decision threshold (nil: 0.5);
    /// `metadata` goes into the model's `metadata_props`.
    package static func encode(_ model: Model, threshold: Double? = nil, metadata: [(String, String)] = []) throws -> [UInt8] {
        try proto(model, threshold: threshold, metadata: metadata).serializedBytes() as [UInt8]
    }

    /// The ONNX file of an updater model file: its model with its decision threshold, and its
    /// metadata as `updater.KEY` properties (with `updater.version` when given). `updater export`
    /// and publishing in the `onnx` format both write this, so the same version gives the same bytes.
    package static func encode(artifact: [UInt8], version: Int? = nil) throws -> [UInt8] {
        let model = try ModelArtifact.decode(artifact)
        var metadata = (try? ModelArtifact.metadata(artifact)) ?? [:]
        if let version { metadata["version"] = String(version) }
        return try encode(
            model, threshold: metadata["decision_threshold"].flatMap(Double.init),
            metadata: metadata.sorted { $0.key < $1.key }.map { ("updater.\($0.key)", $0.value) })
    }

    /// The output names, which no feature column may take.
    package static let outputNames: Set<String> = ["probabilities", "label", "prediction"]

    static func proto(_ model: Model, threshold: Double?, metadata: [(String, String)]) throws -> Onnx_ModelProto {
        for name in model.features where outputNames.contains(name) || name.hasPrefix("updater/") {
            throw TrainingError("cannot export to ONNX: the feature column \"\(name)\" has the name of one of the graph's outputs (probabilities, label, prediction)")
        }
        var g = GraphBuilder()
        var parts: [String] = []
        var indicators: [String] = []
        let p = model.preprocessor
        for f in p.numeric {
            g.input(f.name, type: .double)
            let missing = g.node("IsNaN", [f.name])
            let scaled = g.node("Div", [g.node("Sub", [f.name, g.constant(double: [f.mean])]), g.constant(double: [f.scale])])
            parts.append(g.node("Where", [missing, g.constant(double: [0]), scaled]))
            if f.missingIndicator { indicators.append(g.node("Cast", [missing], attributes: [.int("to", DataType.double.rawValue)])) }
        }
        parts += indicators
        for f in p.categorical {
            g.input(f.name, type: .string)
            let ones = g.node("ConstantOfShape", [g.node("Shape", [f.name])], attributes: [.tensor("value", GraphBuilder.tensor(double: [1], dims: [1]))])
            guard !f.levels.isEmpty else {
                parts.append(ones)
                continue
            }
            let hot = g.node("OneHotEncoder", [f.name], domain: "ai.onnx.ml", attributes: [.strings("cats_strings", f.levels), .int("zeros", 1)])
            let flat = g.node("Reshape", [hot, g.constant(int64: [-1, Int64(f.levels.count)])])
            let columns = g.node("Cast", [flat], attributes: [.int("to", DataType.double.rawValue)])
            let seen = g.node("ReduceSum", [columns, g.constant(int64: [1])], attributes: [.int("keepdims", 1)])
            parts += [columns, g.node("Sub", [ones, seen])]
        }
        var h = parts.count == 1 ? parts[0] : g.node("Concat", parts, attributes: [.int("axis", 1)])
        for (i, layer) in model.layers.enumerated() {
            // The layer's weights are outputs × inputs, row-major; MatMul takes inputs × outputs.
            var transposed = [Double](repeating: 0, count: layer.weights.count)
            for o in 0..<layer.outputs {
                for j in 0..<layer.inputs { transposed[j * layer.outputs + o] = layer.weights[o * layer.inputs + j] }
            }
            let w = g.constant(double: transposed, dims: [Int64(layer.inputs), Int64(layer.outputs)], name: "layer\(i)_weights")
            let b = g.constant(double: layer.bias, dims: [Int64(layer.outputs)], name: "layer\(i)_bias")
            h = g.node("Add", [g.node("MatMul", [h, w]), b])
            if i < model.layers.count - 1 { h = g.node("Relu", [h]) }
        }
        let target = model.target
        switch target.task {
        case .regression:
            g.node("Reshape", [h, g.constant(int64: [-1])], output: "prediction")
            g.output("prediction", type: .double, dims: ["N"])
        case .binary, .multiclass:
            let classes = g.constant(strings: target.classes, name: "classes")
            let sigmoidBinary = target.task == .binary && model.layers.last?.outputs == 1
            if sigmoidBinary {
                let positive = g.node("Sigmoid", [h])
                g.node("Concat", [g.node("Sub", [g.constant(double: [1]), positive]), positive], attributes: [.int("axis", 1)], output: "probabilities")
            } else {
                g.node("Softmax", [h], attributes: [.int("axis", 1)], output: "probabilities")
            }
            if target.task == .binary {
                let positive = g.node("Gather", ["probabilities", g.constant(int64: [1], dims: [])], attributes: [.int("axis", 1)])
                let chosen = g.node("GreaterOrEqual", [positive, g.constant(double: [threshold ?? 0.5], dims: [])])
                let index = g.node("Cast", [chosen], attributes: [.int("to", DataType.int64.rawValue)])
                g.node("Gather", [classes, index], attributes: [.int("axis", 0)], output: "label")
            } else {
                let index = g.node("ArgMax", ["probabilities"], attributes: [.int("axis", 1), .int("keepdims", 0)])
                g.node("Gather", [classes, index], attributes: [.int("axis", 0)], output: "label")
            }
            g.output("probabilities", type: .double, dims: ["N", "\(target.classes.count)"])
            g.output("label", type: .string, dims: ["N"])
        }
        var m = Onnx_ModelProto()
        m.irVersion = irVersion
        m.producerName = "updater"
        m.modelVersion = 1
        m.docString = "A \(model.kind.rawValue) model for \(target.task.rawValue) \(target.column), with updater's preprocessing inside (docs/artifact.md)"
        m.opsetImport = [opsetID("", opset), opsetID("ai.onnx.ml", mlOpset)]
        var graph = Onnx_GraphProto()
        graph.name = "updater"
        graph.node = g.nodes
        graph.initializer = g.initializers
        graph.input = g.inputs
        graph.output = g.outputs
        m.graph = graph
        m.metadataProps = metadata.map { k, v in
            var e = Onnx_StringStringEntryProto()
            e.key = k
            e.value = v
            return e
        }
        return m
    }

    static func opsetID(_ domain: String, _ version: Int64) -> Onnx_OperatorSetIdProto {
        var o = Onnx_OperatorSetIdProto()
        o.domain = domain
        o.version = version
        return o
    }
}

/// ONNX's element types (`TensorProto.DataType`) that the graph uses.
enum DataType: Int64 {
    case int64 = 7, string = 8, double = 11
}

/// Nodes, constants, inputs and outputs, with names that cannot collide with the feature columns'
/// (every intermediate value is `updater/…`).
struct GraphBuilder {
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []
    var inputs: [Onnx_ValueInfoProto] = []
    var outputs: [Onnx_ValueInfoProto] = []
    var count = 0

    enum Attribute {
        case int(String, Int64)
        case strings(String, [String])
        case tensor(String, Onnx_TensorProto)

        var proto: Onnx_AttributeProto {
            var a = Onnx_AttributeProto()
            switch self {
            case .int(let name, let value):
                a.name = name
                a.type = .int
                a.i = value
            case .strings(let name, let values):
                a.name = name
                a.type = .strings
                a.strings = values.map { Data($0.utf8) }
            case .tensor(let name, let value):
                a.name = name
                a.type = .tensor
                a.t = value
            }
            return a
        }
    }

    mutating func fresh(_ base: String) -> String {
        count += 1
        return "updater/\(base)_\(count)"
    }

    /// Adds a node; returns its output's name (`output`, or a fresh one).
    @discardableResult
    mutating func node(_ op: String, _ ins: [String], domain: String = "", attributes: [Attribute] = [], output: String? = nil) -> String {
        let out = output ?? fresh(op)
        var n = Onnx_NodeProto()
        n.opType = op
        n.domain = domain
        n.name = fresh(op + "_node")
        n.input = ins
        n.output = [out]
        n.attribute = attributes.map(\.proto)
        nodes.append(n)
        return out
    }

    static func tensor(double values: [Double], dims: [Int64]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.dataType = Int32(DataType.double.rawValue)
        t.dims = dims
        t.doubleData = values
        return t
    }

    /// A constant (an initializer); a single value is a one-element tensor unless `dims` says otherwise.
    mutating func constant(double values: [Double], dims: [Int64]? = nil, name: String? = nil) -> String {
        var t = Self.tensor(double: values, dims: dims ?? [Int64(values.count)])
        t.name = name.map { "updater/\($0)" } ?? fresh("const")
        initializers.append(t)
        return t.name
    }

    mutating func constant(int64 values: [Int64], dims: [Int64]? = nil) -> String {
        var t = Onnx_TensorProto()
        t.dataType = Int32(DataType.int64.rawValue)
        t.dims = dims ?? [Int64(values.count)]
        t.int64Data = values
        t.name = fresh("const")
        initializers.append(t)
        return t.name
    }

    mutating func constant(strings values: [String], name: String) -> String {
        var t = Onnx_TensorProto()
        t.dataType = Int32(DataType.string.rawValue)
        t.dims = [Int64(values.count)]
        t.stringData = values.map { Data($0.utf8) }
        t.name = "updater/\(name)"
        initializers.append(t)
        return t.name
    }

    static func valueInfo(_ name: String, type: DataType, dims: [String]) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(type.rawValue)
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let n = Int64(d) { dim.dimValue = n } else { dim.dimParam = d }
            return dim
        }
        tensor.shape = shape
        v.type.tensorType = tensor
        return v
    }

    mutating func input(_ name: String, type: DataType) {
        inputs.append(Self.valueInfo(name, type: type, dims: ["N", "1"]))
    }

    mutating func output(_ name: String, type: DataType, dims: [String]) {
        outputs.append(Self.valueInfo(name, type: type, dims: dims))
    }
}
