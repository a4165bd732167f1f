import ClasNN
import ClasTensor

/// MobileOne S0–S4 (Vasu et al., https://arxiv.org/abs/2206.04040) with timm's structure and names (`byobnet.py`:
/// `stem`, `stages.i.j.{conv_kxk.b.conv, conv_kxk.b.bn, conv_scale, identity, attn.fc1, attn.fc2}`, `head.fc`), so
/// timm weights load directly, train-time or fused.
///
/// Each stage repeats a depthwise 3×3 block and a pointwise 1×1 block. At training time a block sums k conv+BN
/// branches, a 1×1 conv+BN "scale" branch (k×k blocks only) and a BN "identity" branch (when shapes allow);
/// ``reparameterize()`` fuses every block into one convolution with bias.
public final class MobileOne: Module, Reparameterizable, LayeredModel {
    /// One row of the variant table.
    public struct Variant: Sendable, Equatable {
        /// `s0` … `s4`.
        public let name: String
        /// Width factors of the four stages (over 64, 128, 256, 512 channels).
        public let widthFactors: [Double]
        /// Stem width.
        public let stemChannels: Int
        /// Conv branches per block (over-parameterisation; S0 uses 4).
        public let convBranches: Int
        /// Blocks per stage that carry squeeze-excitation (the last ones; S4 only).
        public let seBlocks: [Int]
    }

    /// timm's `mobileone_s0` … `mobileone_s4` configurations.
    public static let variants: [Variant] = [
        Variant(name: "s0", widthFactors: [0.75, 1.0, 1.0, 2.0], stemChannels: 48, convBranches: 4, seBlocks: [0, 0, 0, 0]),
        Variant(name: "s1", widthFactors: [1.5, 1.5, 2.0, 2.5], stemChannels: 64, convBranches: 1, seBlocks: [0, 0, 0, 0]),
        Variant(name: "s2", widthFactors: [1.5, 2.0, 2.5, 4.0], stemChannels: 64, convBranches: 1, seBlocks: [0, 0, 0, 0]),
        Variant(name: "s3", widthFactors: [2.0, 2.5, 3.0, 4.0], stemChannels: 64, convBranches: 1, seBlocks: [0, 0, 0, 0]),
        Variant(name: "s4", widthFactors: [3.0, 3.5, 3.5, 4.0], stemChannels: 64, convBranches: 1, seBlocks: [0, 0, 5, 1]),
    ]

    /// Blocks (depthwise + pointwise pairs) per stage and base widths, shared by all variants.
    static let depths = [2, 8, 10, 1]
    static let baseChannels = [64, 128, 256, 512]

    /// The variant named `s0` … `s4`.
    public static func variant(_ name: String) throws -> Variant {
        guard let v = variants.first(where: { $0.name == name.lowercased() }) else {
            throw ModelError.invalidOption("no MobileOne variant '\(name)' (s0 … s4)")
        }
        return v
    }

    public let stem: MobileOneBlock
    public let stages: Sequential
    public let head: ClassifierHead

    /// - Parameters:
    ///   - variant: a row of ``variants``.
    ///   - classCount: classifier outputs.
    ///   - dropRate: dropout before the classifier (timm: 0).
    ///   - dropPathRate: stochastic depth on blocks with an identity branch, rising linearly over all blocks.
    ///   - inChannels: input image channels.
    public init(variant: Variant, classCount: Int = 1000, dropRate: Float = 0, dropPathRate: Float = 0,
                inChannels: Int = 3) {
        stem = MobileOneBlock(inChannels, variant.stemChannels, kernel: 3, stride: 2, groups: 1, convBranches: 1)
        // Each stage: `depth` pairs of (depthwise k3 at the previous width, pointwise k1 to the stage width); the first
        // depthwise block of every stage has stride 2 (timm `_mobileone_bcfg`, `ByoBlockCfg.s = 2`).
        let blockCount = 2 * MobileOne.depths.reduce(0, +)
        var blockIndex = 0
        var channels = variant.stemChannels
        var prev = min(64, Int(Double(MobileOne.baseChannels[0]) * variant.widthFactors[0]))
        var built: [Sequential] = []
        for s in 0..<4 {
            let depth = MobileOne.depths[s]
            let out = makeDivisible(Double(MobileOne.baseChannels[s]) * variant.widthFactors[s])
            var blocks: [Module] = []
            for i in 0..<depth {
                let se = i >= depth - variant.seBlocks[s]
                for (width, kernel) in [(prev, 3), (out, 1)] {
                    let c = makeDivisible(Double(width))
                    let dp = blockCount > 1 ? dropPathRate * Float(blockIndex) / Float(blockCount - 1) : 0
                    blocks.append(MobileOneBlock(
                        channels, c, kernel: kernel, stride: blocks.isEmpty ? 2 : 1, groups: kernel == 3 ? channels : 1,
                        convBranches: variant.convBranches, se: se, dropPath: dp))
                    channels = c
                    blockIndex += 1
                }
                prev = out
            }
            built.append(Sequential(blocks))
        }
        stages = Sequential(built)
        head = ClassifierHead(channels, classCount, dropRate: dropRate)
        Init.normal(head.fc.weight, std: 0.01)
        super.init()
    }

    /// Features before pooling: [N, H/32, W/32, C].
    public func forwardFeatures(_ x: Tensor) -> Tensor { stages(stem(x)) }

    public override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    /// stem, stages.0 … stages.3, head (global pool, dropout, fc).
    public var layers: [ModelLayer] {
        [ModelLayer("stem", stem)] + stages.layers.enumerated().map { ModelLayer("stages.\($0.offset)", $0.element) }
            + [ModelLayer("head", head)]
    }

    /// Fuses every block's branches into one convolution (timm's `reparameterize_model`).
    public func reparameterize() {
        for (_, m) in namedModules() { (m as? MobileOneBlock)?.reparameterize() }
    }

    public var reparameterizedParameterCount: Int {
        let blocks = namedModules().compactMap { $0.1 as? MobileOneBlock }
        return blocks.reduce(head.parameterCount) { $0 + $1.reparameterizedParameterCount }
    }
}

/// timm's `ClassifierHead` (average pool, dropout, `fc`).
public final class ClassifierHead: Module {
    public let drop: Dropout
    public let fc: Linear

    public init(_ inFeatures: Int, _ classCount: Int, dropRate: Float = 0) {
        drop = Dropout(dropRate)
        fc = Linear(inFeatures, classCount)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { fc(drop(Tensor.globalAvgPool(x, keepDims: false))) }
}

/// Convolution then batch norm without activation (timm's `ConvNormAct(apply_act=False)`: `conv`, `bn`).
public final class ConvNorm: Module {
    public let conv: Conv2d
    public let bn: BatchNorm

    /// `strides` (vertical, horizontal), when given, replaces `stride`.
    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, strides: (Int, Int)? = nil,
                groups: Int = 1, activation: Activation = .none) {
        conv = Conv2d(inChannels, outChannels, kernelSize: kernel, stride: stride, strides: strides, groups: groups)
        bn = BatchNorm(outChannels, activation: activation)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { bn(conv(x)) }
}

/// Squeeze-and-excitation as timm's `SEModule` (`fc1`, ReLU, `fc2`, sigmoid), reduced width
/// `make_divisible(channels / 16, 8, round_limit: 0)`.
public final class SEModule: Module {
    public let fc1: Conv2d
    public let fc2: Conv2d

    public init(channels: Int, ratio: Double = 1.0 / 16) {
        let reduced = makeDivisible(Double(channels) * ratio, roundLimit: 0)
        fc1 = Conv2d(channels, reduced, kernelSize: 1, bias: true)
        fc2 = Conv2d(reduced, channels, kernelSize: 1, bias: true)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        x * fc2(fc1(Tensor.globalAvgPool(x)).relu()).sigmoid()
    }
}

/// timm's `MobileOneBlock`: Σ conv_kxk branches + conv_scale (1×1) + identity (BN), then SE and ReLU; or, after
/// ``reparameterize()``, one `reparam_conv` with bias.
public final class MobileOneBlock: Module, Reparameterizable {
    public private(set) var reparamConv: Conv2d?
    public private(set) var identity: BatchNorm?
    public private(set) var convKxk: [ConvNorm]
    public private(set) var convScale: ConvNorm?
    public private(set) var dropPath: DropPath?
    public let attn: SEModule?
    public let kernel: Int
    public let stride: Int
    public let groups: Int

    /// - Parameters:
    ///   - kernel: k of the main branches (3 for depthwise blocks and the stem, 1 for pointwise blocks).
    ///   - groups: `inChannels` for depthwise, 1 otherwise.
    ///   - convBranches: number of k×k conv+BN branches.
    ///   - se: squeeze-excitation after the sum.
    ///   - dropPath: stochastic depth of the conv branches (only when the identity branch exists, as timm).
    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int, groups: Int, convBranches: Int,
                se: Bool = false, dropPath: Float = 0) {
        (self.kernel, self.stride, self.groups) = (kernel, stride, groups)
        let hasIdentity = inChannels == outChannels && stride == 1
        identity = hasIdentity ? BatchNorm(outChannels) : nil
        convKxk = (0..<convBranches).map { _ in
            ConvNorm(inChannels, outChannels, kernel: kernel, stride: stride, groups: groups)
        }
        convScale = kernel > 1 ? ConvNorm(inChannels, outChannels, kernel: 1, stride: stride, groups: groups) : nil
        self.dropPath = hasIdentity && dropPath > 0 ? DropPath(dropPath) : nil
        attn = se ? SEModule(channels: outChannels) : nil
        super.init()
    }

    public var isFused: Bool { reparamConv != nil }

    public var reparameterizedParameterCount: Int {
        if reparamConv != nil { return parameterCount }
        let w = convKxk.first?.conv.weight.count ?? 0
        return w + (convKxk.first?.conv.outChannels ?? 0) + (attn?.parameterCount ?? 0)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var out: Tensor
        if let reparamConv {
            out = reparamConv(x)
        } else {
            var sum: Tensor? = convScale?(x)
            for branch in convKxk { sum = sum.map { $0 + branch(x) } ?? branch(x) }
            guard let s = sum else { preconditionFailure("MobileOneBlock without branches") }
            out = dropPath?(s) ?? s
            if let identity { out = out + identity(x) }
        }
        if let attn { out = attn(out) }
        return out.relu()
    }

    /// Replaces the branches by one k×k convolution with bias: each BN folded into its conv, the 1×1 kernel padded
    /// to the centre of k×k, the identity as a centred one-hot kernel (per group). Idempotent.
    public func reparameterize() {
        guard reparamConv == nil, let first = convKxk.first else { return }
        let conv = first.conv
        let (cout, k, inPerGroup) = (conv.outChannels, kernel, conv.weight.shape[3])
        var weight = [Float](repeating: 0, count: cout * k * k * inPerGroup)
        var bias = [Float](repeating: 0, count: cout)
        /// Adds scale[o]·kernel (kernel side `side`, centred) and the BN shift.
        func add(kernel src: (Int, Int, Int, Int) -> Float, side: Int, bn: BatchNorm) {
            let (scale, shift) = bn.foldedScaleShift()
            let offset = (k - side) / 2
            for o in 0..<cout {
                for i in 0..<side {
                    for j in 0..<side {
                        for c in 0..<inPerGroup {
                            weight[((o * k + i + offset) * k + j + offset) * inPerGroup + c] += src(o, i, j, c) * scale[o]
                        }
                    }
                }
                bias[o] += shift[o]
            }
        }
        for branch in convKxk {
            let w = branch.conv.weight
            add(kernel: { o, i, j, c in w.data[((o * k + i) * k + j) * inPerGroup + c] }, side: k, bn: branch.bn)
        }
        if let convScale {
            let w = convScale.conv.weight
            add(kernel: { o, _, _, c in w.data[o * inPerGroup + c] }, side: 1, bn: convScale.bn)
        }
        if let identity {
            add(kernel: { o, _, _, c in c == o % inPerGroup ? 1 : 0 }, side: 1, bn: identity)
        }
        // Build the fused conv without consuming the initialisation stream.
        let saved = Randomness.initialization
        let fused = Conv2d(conv.inChannels, cout, kernelSize: k, stride: stride, groups: groups, bias: true)
        Randomness.initialization = saved
        fused.weight.copy(from: Tensor(shape: fused.weight.shape, values: weight))
        fused.bias?.copy(from: Tensor(shape: [cout], values: bias))
        fused.train(isTraining)
        reparamConv = fused
        convKxk = []
        convScale = nil
        identity = nil
        dropPath = nil
    }
}

extension MobileOne {
    /// The `Arch` options of a MobileOne (timm keys; PaddleClas-style spellings accepted as aliases).
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `class_num` | 1000 | classifier outputs |
    /// | `dropout_prob` / `drop_rate` | 0 | dropout before the classifier |
    /// | `drop_connect_rate` / `drop_path_rate` | 0 | stochastic depth on identity blocks, linear over blocks |
    /// | `input_image_channel` / `in_chans` | 3 | input channels |
    public struct Options: Decodable, Sendable, Equatable {
        public var classNum = 1000
        public var dropRate: Float = 0
        public var dropPathRate: Float = 0
        public var inChannels = 3

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case classNum = "class_num", dropoutProb = "dropout_prob", dropRate = "drop_rate"
            case dropConnectRate = "drop_connect_rate", dropPathRate = "drop_path_rate"
            case inputImageChannel = "input_image_channel", inChans = "in_chans"
        }
        public static var knownKeys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] { paddleIgnoredArchKeys }

        public init(classNum: Int = 1000, dropRate: Float = 0, dropPathRate: Float = 0, inChannels: Int = 3) {
            (self.classNum, self.dropRate, self.dropPathRate, self.inChannels) = (classNum, dropRate, dropPathRate, inChannels)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            classNum = try c.decodePositive(.classNum, default: 1000)
            dropRate = try c.decodeRate(.dropoutProb, or: .dropRate) ?? 0
            dropPathRate = try c.decodeRate(.dropConnectRate, or: .dropPathRate) ?? 0
            inChannels = try c.decodePositive(.inputImageChannel, or: .inChans, default: 3)
        }
    }

    /// Builds `variant` (`s0` … `s4`) with `options`.
    public static func make(_ variant: Variant, options: Options) -> MobileOne {
        MobileOne(variant: variant, classCount: options.classNum, dropRate: options.dropRate,
                  dropPathRate: options.dropPathRate, inChannels: options.inChannels)
    }
}

extension MobileOne.Options: ArchOptions {}

extension MobileOne {
    /// S0–S4 (timm `mobileone_s0` …; not in PaddleClas, named in its style), with Apple's weights through timm.
    public static func register(into models: inout ModelRegistry) {
        for v in variants {
            let card = ModelCard(
                name: "MobileOne_\(v.name.uppercased())", aliases: ["mobileone_\(v.name)"], family: "MobileOne",
                summary: "MobileOne-\(v.name.uppercased()) (re-parameterizable)", interpolation: "bilinear",
                classifier: ["head.fc."], featureChannels: makeDivisible(Double(baseChannels[3]) * v.widthFactors[3]),
                stages: depths.indices.map { "stages.\($0)" }, reparameterizes: true,
                weights: "timm/mobileone_\(v.name).apple_in1k")
            models.register(card, options: Options.self) { make(v, options: $0) }
        }
    }
}
