import ClasProto
import ClasTensor
import Foundation

/// How a SwiftClas tensor's dimensions are ordered in ONNX: ONNX dimension i is SwiftClas dimension `perm[i]`.
/// Images are NHWC in SwiftClas and NCHW in the exported graph (``nchw``); everything else keeps its order.
struct Layout: Equatable, Hashable, CustomStringConvertible {
    let perm: [Int]

    static func identity(_ rank: Int) -> Layout { Layout(perm: Array(0..<rank)) }
    /// NHWC tensors stored as NCHW; also OHWI weights stored as OIHW.
    static let nchw = Layout(perm: [0, 3, 1, 2])

    var rank: Int { perm.count }
    var isIdentity: Bool { perm == Array(perm.indices) }
    /// `inverse[d]` is the ONNX position of SwiftClas dimension d.
    var inverse: [Int] {
        var inv = [Int](repeating: 0, count: perm.count)
        for (i, p) in perm.enumerated() { inv[p] = i }
        return inv
    }
    /// The ONNX shape of a tensor of SwiftClas shape `shape`.
    func onnxShape(_ shape: [Int]) -> [Int] { perm.map { shape[$0] } }
    /// The ONNX axis of a SwiftClas axis.
    func onnxAxis(_ axis: Int) -> Int { inverse[axis] }
    /// The ONNX `Transpose` permutation taking a tensor stored in this layout to `other`.
    func transpose(to other: Layout) -> [Int] {
        let inv = inverse
        return other.perm.map { inv[$0] }
    }
    /// The layout for SwiftClas rank `rank` preferred for images: NCHW for rank 4, identity otherwise.
    static func preferred(rank: Int) -> Layout { rank == 4 ? .nchw : .identity(rank) }

    var description: String { perm.map(String.init).joined() }
}

/// Accumulates the nodes and initializers of an ONNX graph, with unique names.
final class OnnxGraphBuilder {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var usedNames = Set<String>()
    private var scalarCache: [String: String] = [:]
    private var opCounts: [String: Int] = [:]

    /// `base`, or `base_1`, `base_2`, … if taken.
    func uniqueName(_ base: String) -> String {
        var name = base, k = 0
        while usedNames.contains(name) {
            k += 1
            name = "\(base)_\(k)"
        }
        usedNames.insert(name)
        return name
    }

    /// Reserves a name given from outside (the graph input).
    func reserve(_ name: String) { usedNames.insert(name) }

    /// Adds a node; returns the name of its (single) output.
    @discardableResult
    func add(_ opType: String, _ inputs: [String], _ attributes: [Onnx_AttributeProto] = [], output: String? = nil)
        -> String
    {
        let count = opCounts[opType, default: 0]
        opCounts[opType] = count + 1
        var node = Onnx_NodeProto()
        node.opType = opType
        node.name = "\(opType)_\(count)"
        node.input = inputs
        let out = output ?? uniqueName("\(opType.lowercased())_\(count)")
        node.output = [out]
        node.attribute = attributes
        nodes.append(node)
        return out
    }

    /// Renames a value everywhere (node outputs and inputs).
    func rename(_ old: String, to new: String) {
        for k in nodes.indices {
            nodes[k].output = nodes[k].output.map { $0 == old ? new : $0 }
            nodes[k].input = nodes[k].input.map { $0 == old ? new : $0 }
        }
    }

    /// True when a node produces `name`.
    func isNodeOutput(_ name: String) -> Bool { nodes.contains { $0.output.contains(name) } }

    /// A float32 initializer holding `t`'s elements with ONNX dimensions `dims`.
    func floats(_ t: Tensor, dims: [Int], name: String) -> String {
        precondition(Tensor.count(of: dims) == t.count, "initializer \(name): \(t.count) values for \(dims)")
        let data = Data(bytes: t.data, count: t.count * MemoryLayout<Float>.size)
        return addInitializer(.float, dims: dims, raw: data, name: name)
    }

    /// A float32 initializer from an array.
    func floats(_ values: [Float], dims: [Int], name: String) -> String {
        let data = values.withUnsafeBufferPointer { Data(buffer: $0) }
        return addInitializer(.float, dims: dims, raw: data, name: name)
    }

    /// An int8 initializer.
    func int8s(_ values: [Int8], dims: [Int], name: String) -> String {
        let data = values.withUnsafeBufferPointer { Data(buffer: $0) }
        return addInitializer(.int8, dims: dims, raw: data, name: name)
    }

    /// A uint8 initializer.
    func uint8s(_ values: [UInt8], dims: [Int], name: String) -> String {
        let data = values.withUnsafeBufferPointer { Data(buffer: $0) }
        return addInitializer(.uint8, dims: dims, raw: data, name: name)
    }

    /// A 1-D int64 initializer (shapes, axes, slice bounds).
    func int64s(_ values: [Int], name: String) -> String {
        let data = values.map(Int64.init).withUnsafeBufferPointer { Data(buffer: $0) }
        return addInitializer(.int64, dims: [values.count], raw: data, name: name)
    }

    /// A rank-0 float initializer, shared between nodes using the same value.
    func scalar(_ value: Float) -> String {
        let key = "f\(value.bitPattern)"
        if let name = scalarCache[key] { return name }
        let name = floats([value], dims: [], name: uniqueName("const_\(Self.label(value))"))
        scalarCache[key] = name
        return name
    }

    private static func label(_ v: Float) -> String {
        String(format: "%g", Double(v)).replacingOccurrences(of: "-", with: "m").replacingOccurrences(of: ".", with: "p")
    }

    private func addInitializer(_ type: Onnx_TensorProto.DataType, dims: [Int], raw: Data, name: String) -> String {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(type.rawValue)
        t.dims = dims.map(Int64.init)
        t.rawData = raw
        initializers.append(t)
        return name
    }

    // MARK: attributes

    static func attr(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    static func attr(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map(Int64.init)
        return a
    }

    static func attr(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = value
        return a
    }

    /// A float tensor's value info; dimensions given as nil are the symbolic batch `N`.
    static func valueInfo(_ name: String, dims: [Int?]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = Int64(d) } else { dim.dimParam = "N" }
            return dim
        }
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensorType.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }
}
