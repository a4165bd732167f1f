import ClasProto
import ClasTensor
import Foundation
import SwiftProtobuf

/// An ONNX file SwiftClas cannot run, with the reason (the operator, node or tensor at fault).
public struct OnnxImportError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An ONNX model read and checked for running by ``OnnxInterpreter``: the operators `tools export` writes
/// (``OnnxProgram/supportedOperators``, default domain, opsets 13…17), one float image input `[N, C, H, W]`, one
/// output. The file is untrusted: everything is validated here (operator set and domains, that every node reads only
/// values defined before it, tensor sizes against their data, attribute types) or by the interpreter's shape checks,
/// and anything else is an ``OnnxImportError`` naming the node and operator, never a crash.
public struct OnnxProgram {
    /// A constant: float data as a tensor, integer data (int64 shapes and axes, int8/uint8 weights) as integers.
    public enum Constant {
        case float(Tensor)
        case integers(shape: [Int], values: [Int])
    }

    /// An attribute value.
    public enum Attribute {
        case int(Int), ints([Int]), float(Float), floats([Float]), string(String), tensor(Constant)
    }

    /// One operator application: input value ids (nil for an omitted optional input) and its output value id.
    public struct Node {
        public let op: String
        public let name: String
        public let inputs: [Int?]
        public let output: Int
        public let attributes: [String: Attribute]

        /// `ONNX node 'Conv_3' (Conv)`, for messages.
        public var label: String { "ONNX node '\(name)' (\(op))" }
    }

    /// The operators this importer runs: what SwiftClas's exporter writes (OnnxOpTable.swift), plus `Constant`.
    public static let supportedOperators: Set<String> = [
        "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid",
        "Tanh", "Erf", "Exp", "Log", "Sqrt", "Abs", "Max", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten",
        "Reshape", "Transpose", "Concat", "Slice", "ReduceSum", "Softmax", "LogSoftmax", "Identity", "Unsqueeze",
        "Constant", "LayerNormalization",
    ]
    /// The default-domain opsets whose semantics the importer implements (axes as inputs since 13; 17 is written).
    public static let opsets: ClosedRange<Int64> = 13...17
    /// Refuse files with more nodes or constant elements than this (a corrupt file cannot make us allocate wildly).
    static let maxNodes = 100_000
    static let maxElements = 1 << 30

    /// Number of values (ids 0..<valueCount).
    public let valueCount: Int
    /// Constants (initializers and `Constant` nodes) by value id.
    public let constants: [Int: Constant]
    /// The nodes, in execution order.
    public let nodes: [Node]
    /// The image input's value id, name and declared shape `[N, C, H, W]` (nil for a symbolic dimension).
    public let input: Int
    public let inputName: String
    public let inputShape: [Int?]
    /// The output's value id and name.
    public let output: Int
    public let outputName: String
    /// The default-domain opset the file imports.
    public let opset: Int64

    /// Reads and checks a serialised ONNX model.
    public init(data: Data) throws {
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: data) } catch {
            throw OnnxImportError("not an ONNX model (the protobuf does not parse: \(error))")
        }
        try self.init(model: model)
    }

    /// Reads and checks an ONNX file.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw OnnxImportError("\(path): cannot read the file")
        }
        do { try self.init(data: data) } catch let e as OnnxImportError { throw OnnxImportError("\(path): \(e.message)") }
    }

    /// Checks a parsed model.
    public init(model: Onnx_ModelProto) throws {
        var opset: Int64?
        for o in model.opsetImport {
            if o.domain == "" || o.domain == "ai.onnx" { opset = o.version; continue }
            throw OnnxImportError("the model imports operator domain '\(o.domain)', which SwiftClas does not run "
                                  + "(it runs the default ONNX domain only)")
        }
        guard let opset else { throw OnnxImportError("the model imports no default-domain opset") }
        guard OnnxProgram.opsets.contains(opset) else {
            throw OnnxImportError("the model uses opset \(opset); SwiftClas runs opsets \(OnnxProgram.opsets.lowerBound)"
                                  + "…\(OnnxProgram.opsets.upperBound) (SwiftClas's exporter writes 17)")
        }
        self.opset = opset
        let graph = model.graph
        guard graph.node.count <= OnnxProgram.maxNodes else {
            throw OnnxImportError("the graph has \(graph.node.count) nodes (more than \(OnnxProgram.maxNodes))")
        }
        var ids: [String: Int] = [:]
        var constants: [Int: Constant] = [:]
        func define(_ name: String, _ what: String) throws -> Int {
            guard !name.isEmpty else { throw OnnxImportError("\(what) has an empty name") }
            guard ids[name] == nil else { throw OnnxImportError("value '\(name)' is defined twice (\(what))") }
            ids[name] = ids.count
            return ids.count - 1
        }
        for t in graph.initializer {
            constants[try define(t.name, "initializer")] = try OnnxProgram.constant(t)
        }
        let inputs = graph.input.filter { ids[$0.name] == nil }
        guard inputs.count == 1, let image = inputs.first else {
            throw OnnxImportError("the graph has \(inputs.count) inputs besides its initializers; SwiftClas runs image "
                                  + "classifiers with one input [N, C, H, W]")
        }
        let type = image.type.tensorType
        guard type.elemType == Int32(Onnx_TensorProto.DataType.float.rawValue) else {
            throw OnnxImportError("input '\(image.name)' is not float32 (element type \(type.elemType))")
        }
        let dims = type.shape.dim.map { d -> Int? in
            if case .dimValue(let v)? = d.value, v > 0, v <= 1 << 20 { return Int(v) }
            return nil
        }
        guard dims.count == 4, let c = dims[1], let h = dims[2], let w = dims[3], c <= 4, h * w <= 1 << 22,
              (dims[0] ?? 1) <= 1024 else {
            throw OnnxImportError("input '\(image.name)' has shape \(dims.map { $0.map(String.init) ?? "?" }); "
                                  + "expected [N, C, H, W] with fixed C ≤ 4, H × W ≤ 2^22 and N ≤ 1024")
        }
        input = try define(image.name, "input")
        inputName = image.name
        inputShape = dims

        var nodes: [Node] = []
        for (k, n) in graph.node.enumerated() {
            let name = n.name.isEmpty ? "#\(k)" : n.name
            let label = "ONNX node '\(name)' (\(n.opType))"
            guard n.domain == "" || n.domain == "ai.onnx" else {
                throw OnnxImportError("\(label) is in domain '\(n.domain)', which SwiftClas does not run")
            }
            guard OnnxProgram.supportedOperators.contains(n.opType) else {
                throw OnnxImportError("\(label): operator '\(n.opType)' is not supported by SwiftClas's ONNX importer "
                                      + "(it runs the operators tools export writes: "
                                      + "\(OnnxProgram.supportedOperators.sorted().joined(separator: ", ")))")
            }
            let ins = try n.input.map { name -> Int? in
                if name.isEmpty { return nil }
                guard let id = ids[name] else {
                    throw OnnxImportError("\(label) reads '\(name)', which no earlier node, initializer or input defines")
                }
                return id
            }
            guard n.output.count == 1 else {
                throw OnnxImportError("\(label) has \(n.output.count) outputs; the operators SwiftClas runs have one")
            }
            var attributes: [String: Attribute] = [:]
            for a in n.attribute { attributes[a.name] = try OnnxProgram.attribute(a, label) }
            let out = try define(n.output[0], label)
            if n.opType == "Constant" {
                guard case .tensor(let c)? = attributes["value"] else {
                    throw OnnxImportError("\(label): only a 'value' tensor attribute is supported")
                }
                constants[out] = c
                continue
            }
            nodes.append(Node(op: n.opType, name: name, inputs: ins, output: out, attributes: attributes))
        }
        guard graph.output.count == 1, let out = ids[graph.output[0].name] else {
            throw OnnxImportError("the graph must have exactly one output defined by its nodes, it has "
                                  + "\(graph.output.map(\.name))")
        }
        output = out
        outputName = graph.output[0].name
        valueCount = ids.count
        self.constants = constants
        self.nodes = nodes
    }

    // MARK: tensors and attributes

    /// A tensor proto as a constant: float32 (raw or `float_data`), int64/int32/int8/uint8 (raw or typed data).
    static func constant(_ t: Onnx_TensorProto) throws -> Constant {
        let what = "tensor '\(t.name)'"
        guard t.dataLocation != .external, t.externalData.isEmpty else {
            throw OnnxImportError("\(what) is stored in an external file; SwiftClas reads self-contained models only")
        }
        guard t.dims.allSatisfy({ $0 >= 0 }) else { throw OnnxImportError("\(what) has negative dimensions \(t.dims)") }
        var count = 1
        for d in t.dims {
            let (p, overflow) = count.multipliedReportingOverflow(by: Int(clamping: d))
            guard !overflow, p <= maxElements else { throw OnnxImportError("\(what) is too large (\(t.dims))") }
            count = p
        }
        let shape = t.dims.map { Int($0) }
        let raw = t.hasRawData ? t.rawData : nil
        func check(_ n: Int, _ unit: String) throws {
            guard n == count else { throw OnnxImportError("\(what) has \(n) \(unit) for shape \(shape)") }
        }
        /// The raw bytes as `count` little-endian values.
        func littleEndian<T: FixedWidthInteger>(_ raw: Data, _ type: T.Type, _ unit: String) throws -> [T] {
            let size = MemoryLayout<T>.size
            guard raw.count == size * count else {
                throw OnnxImportError("\(what) has \(raw.count) bytes for \(count) \(unit) values (shape \(shape))")
            }
            return raw.withUnsafeBytes { b in
                (0..<count).map { T(littleEndian: b.loadUnaligned(fromByteOffset: size * $0, as: T.self)) }
            }
        }
        switch Onnx_TensorProto.DataType(rawValue: Int(t.dataType)) {
        case .float?:
            if let raw {
                let bits = try littleEndian(raw, UInt32.self, "float32")
                return .float(Tensor(shape: shape, values: bits.map(Float.init(bitPattern:))))
            }
            try check(t.floatData.count, "float32 values")
            return .float(Tensor(shape: shape, values: t.floatData))
        case .int64?:
            if let raw {
                return .integers(shape: shape, values: try littleEndian(raw, Int64.self, "int64").map { Int(truncatingIfNeeded: $0) })
            }
            try check(t.int64Data.count, "int64 values")
            return .integers(shape: shape, values: t.int64Data.map { Int(truncatingIfNeeded: $0) })
        case .int32?:
            if let raw {
                return .integers(shape: shape, values: try littleEndian(raw, Int32.self, "int32").map(Int.init))
            }
            try check(t.int32Data.count, "int32 values")
            return .integers(shape: shape, values: t.int32Data.map(Int.init))
        case .int8?, .uint8?:
            let signed = t.dataType == Int32(Onnx_TensorProto.DataType.int8.rawValue)
            if let raw {
                try check(raw.count, "bytes")
                return .integers(shape: shape, values: raw.map { signed ? Int(Int8(bitPattern: $0)) : Int($0) })
            }
            try check(t.int32Data.count, "values")
            return .integers(shape: shape, values: t.int32Data.map(Int.init))
        default:
            throw OnnxImportError("\(what) has element type \(t.dataType), which SwiftClas does not read "
                                  + "(float32, int64, int32, int8, uint8)")
        }
    }

    static func attribute(_ a: Onnx_AttributeProto, _ label: String) throws -> Attribute {
        switch a.type {
        case .int: return .int(Int(truncatingIfNeeded: a.i))
        case .ints: return .ints(a.ints.map { Int(truncatingIfNeeded: $0) })
        case .float: return .float(a.f)
        case .floats: return .floats(a.floats)
        case .string: return .string(String(decoding: a.s, as: UTF8.self))
        case .tensor: return .tensor(try constant(a.t))
        default:
            throw OnnxImportError("\(label): attribute '\(a.name)' has type \(a.type), which SwiftClas does not read")
        }
    }
}
