import ClasConfig
import ClasNN
import ClasTensor

/// The feature transforms of attention-based feature distillation (Ji et al., https://arxiv.org/abs/2102.02973;
/// PaddleClas's `ppcls/arch/distill/afd_attention.py`), the later models of an ``AttentionModel``. Each reads
/// intermediate outputs of the backbone (NHWC maps named by `keys`) and adds outputs of its own, which
/// ``AFDLoss`` compares. A list output `value` is stored element by element as `value[0]`, `value[1]`, ….
public protocol FeatureTransform: Module {
    /// The backbone outputs it reads.
    var inputKeys: [String] { get }
    /// The names of the outputs it adds.
    var outputNames: [String] { get }
    /// Its outputs from the backbone's named outputs.
    func transform(_ features: [String: Tensor]) -> [String: Tensor]
}

/// Linear → BatchNorm1D (→ ReLU), initialised as Paddle's layers (Xavier-uniform weight, zero bias).
public final class LinearBNReLU: Module {
    public let linear: Linear
    public let bn: BatchNorm

    public init(_ inFeatures: Int, _ outFeatures: Int) {
        linear = Linear(inFeatures, outFeatures)
        Init.uniform(linear.weight, bound: (6 / Float(inFeatures + outFeatures)).squareRoot())
        bn = BatchNorm(outFeatures)
        super.init()
    }

    public func callAsFunction(_ x: Tensor, relu: Bool) -> Tensor {
        let y = bn(linear(x))
        return relu ? y.relu() : y
    }
}

/// A feature map's shape as PaddleClas writes it: [channels, height, width].
public struct FeatureShape: Hashable, Sendable {
    public var channels: Int, height: Int, width: Int
    public init(_ chw: [Int]) { (channels, height, width) = (chw[0], chw[1], chw[2]) }

    /// The distinct shapes in first-seen order (PaddleClas's `unique_shape`) and, per input shape, its index there.
    public static func distinct(_ shapes: [FeatureShape]) -> (shapes: [FeatureShape], index: [Int]) {
        var unique: [FeatureShape] = []
        let index = shapes.map { s in
            if let i = unique.firstIndex(of: s) { return i }
            unique.append(s)
            return unique.count - 1
        }
        return (unique, index)
    }
}

extension Tensor {
    /// Per-sample spatial attention of an NHWC map: the mean over channels of x², [N, H, W].
    func spatialEnergy() -> Tensor { squared().mean(axes: [3]) }

    /// Adaptive average pooling of [N, H, W] to [N, outH, outW] (PaddleClas's `AdaptiveAvgPool2D`: output cell i
    /// averages input rows ⌊i·H/outH⌋ ..< ⌈(i+1)·H/outH⌉), as two products with constant pooling matrices.
    func adaptiveAvgPooled(_ outH: Int, _ outW: Int) -> Tensor {
        let (n, h, w) = (shape[0], shape[1], shape[2])
        if (h, w) == (outH, outW) { return self }
        /// [inSize, outSize]: column i averages the input cells of output cell i.
        func pooling(_ inSize: Int, _ outSize: Int) -> Tensor {
            var m = [Float](repeating: 0, count: inSize * outSize)
            for i in 0..<outSize {
                let start = i * inSize / outSize, end = ((i + 1) * inSize + outSize - 1) / outSize
                for j in start..<end { m[j * outSize + i] = 1 / Float(end - start) }
            }
            return Tensor(shape: [inSize, outSize], values: m)
        }
        let alongW = Tensor.matmul(reshaped([n * h, w]), pooling(w, outW)).reshaped([n, h, outW])
        let t = alongW.permuted([0, 2, 1]).reshaped([n * outW, h])
        return Tensor.matmul(t, pooling(h, outH)).reshaped([n, outW, outH]).permuted([0, 2, 1])
    }
}

/// PaddleClas's `LinearTransformTeacher`: `query` [N, t, qk_dim], the teacher's channel means through one
/// Linear+BN per feature, and `value[i]` [N, H·W], its L2-normalised spatial energy.
public final class LinearTransformTeacher: Module, FeatureTransform {
    public let queryLayer: [LinearBNReLU]
    public let inputKeys: [String]

    public init(qkDim: Int, teacherShapes: [FeatureShape], keys: [String]) {
        precondition(keys.count == teacherShapes.count, "LinearTransformTeacher: one shape per key")
        queryLayer = teacherShapes.map { LinearBNReLU($0.channels, qkDim) }
        inputKeys = keys
        super.init()
    }

    public override var namedChildren: [(String, Module)] {
        queryLayer.enumerated().map { ("query_layer.\($0.offset)", $0.element) }
    }

    public var outputNames: [String] { ["query"] + inputKeys.indices.map { "value[\($0)]" } }

    public func transform(_ features: [String: Tensor]) -> [String: Tensor] {
        let maps = inputKeys.map { features[$0]! }
        let n = maps[0].shape[0]
        let queries = zip(maps, queryLayer).map { map, layer in
            layer(map.mean(axes: [1, 2]), relu: false).reshaped([n, 1, -1])
        }
        var out = ["query": Tensor.concat(queries, axis: 1)]
        for (i, map) in maps.enumerated() {
            out["value[\(i)]"] = map.spatialEnergy().reshaped([n, -1]).l2Normalized()
        }
        return out
    }
}

/// PaddleClas's `LinearTransformStudent`: `bilinear_key` [N, s, t, qk_dim] (each student feature's channel mean
/// through Linear+BN+ReLU, then one shared Linear+BN to a key per teacher feature) and `value[j]` [N, s, H·W], the
/// student's spatial energies pooled to the j-th distinct teacher shape, L2-normalised.
public final class LinearTransformStudent: Module, FeatureTransform {
    public let keyLayer: [LinearBNReLU]
    public let bilinear: LinearBNReLU
    public let inputKeys: [String]
    /// The distinct teacher shapes, in first-seen order (PaddleClas's `unique_shape`).
    public let teacherTargets: [FeatureShape]
    public let qkDim: Int, teacherCount: Int

    public init(qkDim: Int, teacherShapes: [FeatureShape], studentShapes: [FeatureShape], keys: [String]) {
        precondition(keys.count == studentShapes.count, "LinearTransformStudent: one shape per key")
        keyLayer = studentShapes.map { LinearBNReLU($0.channels, qkDim) }
        bilinear = LinearBNReLU(qkDim, qkDim * teacherShapes.count)
        inputKeys = keys
        teacherTargets = FeatureShape.distinct(teacherShapes).shapes
        (self.qkDim, teacherCount) = (qkDim, teacherShapes.count)
        super.init()
    }

    public override var namedChildren: [(String, Module)] {
        keyLayer.enumerated().map { ("key_layer.\($0.offset)", $0.element as Module) } + [("bilinear", bilinear)]
    }

    public var outputNames: [String] { ["bilinear_key"] + teacherTargets.indices.map { "value[\($0)]" } }

    public func transform(_ features: [String: Tensor]) -> [String: Tensor] {
        let maps = inputKeys.map { features[$0]! }
        let (n, s) = (maps[0].shape[0], maps.count)
        let keys = zip(maps, keyLayer).map { map, layer in layer(map.mean(axes: [1, 2]), relu: true).reshaped([n, 1, qkDim]) }
        let key = Tensor.concat(keys, axis: 1).reshaped([n * s, qkDim])
        var out = ["bilinear_key": bilinear(key, relu: false).reshaped([n, s, teacherCount, qkDim])]
        let energies = maps.map { $0.spatialEnergy() }
        for (j, target) in teacherTargets.enumerated() {
            let pooled = energies.map {
                $0.adaptiveAvgPooled(target.height, target.width).reshaped([n, 1, target.height * target.width])
            }
            out["value[\(j)]"] = Tensor.concat(pooled, axis: 1).l2Normalized()
        }
        return out
    }
}

/// The options of the two transforms (PaddleClas's keyword arguments).
struct LinearTransformOptions: ConfigOptions {
    var qkDim: Int
    var keys: [String]
    var teacherShapes: [FeatureShape]
    var studentShapes: [FeatureShape]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case qkDim = "qk_dim", keys, teacherShapes = "t_shapes", studentShapes = "s_shapes"
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        qkDim = try c.decode(Int.self, forKey: .qkDim)
        try decoder.configCheck(qkDim > 0, CodingKeys.qkDim, "must be positive, got \(qkDim)")
        keys = try c.decode([String].self, forKey: .keys)
        func shapes(_ key: CodingKeys) throws -> [FeatureShape]? {
            guard let raw = try c.decodeIfPresent([[Int]].self, forKey: key) else { return nil }
            try decoder.configCheck(raw.allSatisfy { $0.count == 3 && $0.allSatisfy { $0 > 0 } }, key,
                                    "expects [channels, height, width] lists of positive sizes, got \(raw)")
            return raw.map(FeatureShape.init)
        }
        teacherShapes = try shapes(.teacherShapes) ?? []
        try decoder.configCheck(!teacherShapes.isEmpty, CodingKeys.teacherShapes, "is required (one shape per teacher feature)")
        studentShapes = try shapes(.studentShapes)
        let described = studentShapes.map { ("s_shapes", $0.count) } ?? ("t_shapes", teacherShapes.count)
        try decoder.configCheck(keys.count == described.1, CodingKeys.keys,
                                "needs one key per \(described.0) entry (\(described.1)), got \(keys.count)")
    }

    /// Builds the transform `spec` names (LinearTransformTeacher or LinearTransformStudent).
    func make(_ spec: ComponentSpec) throws -> FeatureTransform {
        if spec.name == "LinearTransformTeacher" {
            guard studentShapes == nil else {
                throw ConfigError("\(spec.path): LinearTransformTeacher takes no s_shapes", at: spec.nameLocation)
            }
            return LinearTransformTeacher(qkDim: qkDim, teacherShapes: teacherShapes, keys: keys)
        }
        guard let studentShapes else {
            throw ConfigError("\(spec.path): LinearTransformStudent needs s_shapes (one per key)", at: spec.nameLocation)
        }
        return LinearTransformStudent(qkDim: qkDim, teacherShapes: teacherShapes, studentShapes: studentShapes, keys: keys)
    }
}
