import ClasNN
import ClasTensor

/// PP-LCNetV2 (PaddleClas) with timm's structure and names (`lcnetv2_*`: `stem.0.{conv,bn}`, `stem.1.*`,
/// `stages.i.j.{dw_conv, dw_conv_list.k, se.fc1, se.fc2, pw_conv}`, `conv_head`, `classifier`), so timm's port of
/// PaddleClas's weights loads directly.
///
/// Depthwise-separable blocks with ReLU; the last two stages train their 5×5 depthwise convolution as parallel
/// 5×5, 3×3 (and, unstrided, 1×1) conv+BN branches that ``reparameterize()`` folds into one 5×5 convolution with
/// bias. The third stage splits its pointwise conv in two and uses squeeze-excitation; the fourth has shortcuts.
/// (PaddleClas's training-time model also holds the unused fused convolution, so its parameter count is larger.)
public final class PPLCNetV2: Module, LayeredModel, Reparameterizable {
    /// One row of the variant table.
    public struct Variant: Sendable, Equatable {
        public let name: String
        public let scale: Double
        public let depths: [Int]
    }

    /// timm's and PaddleClas's small, base and large.
    public static let variants = [Variant(name: "small", scale: 0.75, depths: [2, 2, 4, 2]),
                                  Variant(name: "base", scale: 1.0, depths: [2, 2, 6, 2]),
                                  Variant(name: "large", scale: 1.25, depths: [2, 2, 8, 2])]

    /// Per stage: base channels (doubled at the output), depthwise kernel, split pointwise, re-parameterizable,
    /// squeeze-excitation, shortcut.
    static let stageConfig: [(channels: Int, kernel: Int, splitPw: Bool, rep: Bool, se: Bool, shortcut: Bool)] = [
        (64, 3, false, false, false, false), (128, 3, false, false, false, false),
        (256, 5, true, true, true, false), (512, 5, false, true, false, true),
    ]

    public let stem: Sequential
    public let stages: Sequential
    public let convHead: Conv2d?
    public let dropout: Dropout
    public let classifier: Linear

    /// - Parameters:
    ///   - variant: a row of ``variants``.
    ///   - classCount: classifier outputs.
    ///   - classExpand: width of the 1×1 head conv (timm `head_hidden_size`); nil: no head conv (`use_last_conv: False`).
    ///   - dropRate: dropout before the classifier.
    ///   - inChannels: input image channels.
    public init(variant: Variant, classCount: Int = 1000, classExpand: Int? = 1280, dropRate: Float = 0,
                inChannels: Int = 3) {
        let round = { (c: Int) in makeDivisible(Double(c) * variant.scale) }
        var channels = round(64)
        stem = Sequential(ConvNorm(inChannels, round(32), kernel: 3, stride: 2, activation: .relu),
                          RepDepthwiseSeparable(round(32), channels, stride: 1, kernel: 3))
        var built: [Sequential] = []
        for (cfg, depth) in zip(PPLCNetV2.stageConfig, variant.depths) {
            let out = round(cfg.channels * 2)
            built.append(Sequential((0..<depth).map { i in
                defer { channels = out }
                return RepDepthwiseSeparable(channels, out, stride: i == 0 ? 2 : 1, kernel: cfg.kernel, splitPw: cfg.splitPw,
                                             rep: cfg.rep, se: cfg.se, shortcut: cfg.shortcut)
            }))
        }
        stages = Sequential(built)
        convHead = classExpand.map { Conv2d(channels, $0, kernelSize: 1) }
        dropout = Dropout(dropRate)
        classifier = Linear(classExpand ?? channels, classCount)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    /// stem, stages.0 … stages.3, global_pool, conv_head (+ ReLU; absent without `use_last_conv`), classifier.
    public var layers: [ModelLayer] {
        var steps = [ModelLayer("stem", stem)] + stages.layers.enumerated().map { ModelLayer("stages.\($0.offset)", $0.element) }
            + [ModelLayer("global_pool") { Tensor.globalAvgPool($0) }]
        if let convHead { steps.append(ModelLayer("conv_head", [convHead]) { convHead($0).relu() }) }
        steps.append(ModelLayer("classifier", [classifier]) { [dropout, classifier] in classifier(dropout($0.flattened())) })
        return steps
    }

    /// Folds every re-parameterizable block's depthwise branches into one convolution.
    public func reparameterize() {
        for (_, m) in namedModules() { (m as? RepDepthwiseSeparable)?.reparameterize() }
    }

    public var reparameterizedParameterCount: Int {
        namedModules().reduce(parameterCount) { total, m in
            guard let block = m.1 as? RepDepthwiseSeparable else { return total }
            return total + block.reparameterizedParameterCount - block.parameterCount
        }
    }
}

/// timm's `RepDepthwiseSeparable`: a depthwise conv (with BN and ReLU; or parallel conv+BN branches of kernel k, k−2, …
/// summed, then ReLU), optional squeeze-excitation, a pointwise conv (or two, halving the width), optional shortcut.
public final class RepDepthwiseSeparable: Module, Reparameterizable {
    /// The unbranched depthwise conv+BN+ReLU, or after ``reparameterize()`` the fused convolution with bias.
    public private(set) var dwConv: Module?
    public private(set) var dwConvList: [ConvNorm]
    public let se: SEModule?
    public let pwConv: Module
    public let kernel: Int
    public let stride: Int
    public let hasShortcut: Bool

    public init(_ inChannels: Int, _ outChannels: Int, stride: Int, kernel: Int, splitPw: Bool = false,
                rep: Bool = false, se: Bool = false, shortcut: Bool = false) {
        (self.kernel, self.stride) = (kernel, stride)
        hasShortcut = shortcut && stride == 1 && inChannels == outChannels
        if rep {
            dwConv = nil
            // A 1×1 branch cannot be folded into a strided conv; it is left out, as in PaddleClas.
            dwConvList = Swift.stride(from: kernel, to: 0, by: -2).filter { !($0 == 1 && stride != 1) }.map {
                ConvNorm(inChannels, inChannels, kernel: $0, stride: stride, groups: inChannels)
            }
        } else {
            dwConv = ConvNorm(inChannels, inChannels, kernel: kernel, stride: stride, groups: inChannels, activation: .relu)
            dwConvList = []
        }
        self.se = se ? SEModule(channels: inChannels, ratio: 0.25) : nil
        if splitPw {
            pwConv = Sequential(ConvNorm(inChannels, outChannels / 2, kernel: 1, activation: .relu),
                                ConvNorm(outChannels / 2, outChannels, kernel: 1, activation: .relu))
        } else {
            pwConv = ConvNorm(inChannels, outChannels, kernel: 1, activation: .relu)
        }
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var y: Tensor
        if let dwConv {
            y = dwConv(x)
            if dwConv is Conv2d { y = y.relu() }
        } else {
            y = dwConvList.dropFirst().reduce(dwConvList[0](x)) { $0 + $1(x) }.relu()
        }
        if let se { y = se(y) }
        y = pwConv(y)
        return hasShortcut ? y + x : y
    }

    public var reparameterizedParameterCount: Int {
        guard let first = dwConvList.first else { return parameterCount }
        let c = first.conv.outChannels
        return parameterCount - dwConvList.reduce(0) { $0 + $1.parameterCount } + c * kernel * kernel + c
    }

    /// Folds the branches into one k×k depthwise convolution with bias (each BN into its kernel, smaller kernels
    /// centred). Idempotent.
    public func reparameterize() {
        guard !dwConvList.isEmpty else { return }
        let channels = dwConvList[0].conv.outChannels, k = kernel
        var weight = [Float](repeating: 0, count: channels * k * k)
        var bias = [Float](repeating: 0, count: channels)
        for branch in dwConvList {
            let (scale, shift) = branch.bn.foldedScaleShift()
            let side = branch.conv.kernel.0, offset = (k - side) / 2, w = branch.conv.weight
            for c in 0..<channels {
                for i in 0..<side {
                    for j in 0..<side {
                        weight[(c * k + i + offset) * k + j + offset] += w.data[(c * side + i) * side + j] * scale[c]
                    }
                }
                bias[c] += shift[c]
            }
        }
        // Build the fused conv without consuming the initialisation stream.
        let saved = Randomness.initialization
        let fused = Conv2d(channels, channels, kernelSize: k, stride: stride, groups: channels, bias: true)
        Randomness.initialization = saved
        fused.weight.copy(from: Tensor(shape: fused.weight.shape, values: weight))
        fused.bias?.copy(from: Tensor(shape: [channels], values: bias))
        fused.train(isTraining)
        dwConv = fused
        dwConvList = []
    }
}

extension PPLCNetV2 {
    /// The `Arch` options of a PP-LCNetV2 (PaddleClas keys; timm spellings accepted as aliases).
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `class_num` | 1000 | classifier outputs |
    /// | `dropout_prob` / `drop_rate` | 0 | dropout before the classifier |
    /// | `class_expand` | 1280 | width of the 1×1 head conv |
    /// | `use_last_conv` | true | false: no head conv, the classifier reads the pooled features |
    /// | `input_image_channel` / `in_chans` | 3 | input channels |
    public struct Options: Decodable, Sendable, Equatable {
        public var classNum = 1000
        public var dropRate: Float = 0
        public var classExpand = 1280
        public var useLastConv = true
        public var inChannels = 3

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case classNum = "class_num", dropoutProb = "dropout_prob", dropRate = "drop_rate"
            case classExpand = "class_expand", useLastConv = "use_last_conv"
            case inputImageChannel = "input_image_channel", inChans = "in_chans"
            case returnPatterns = "return_patterns", returnStages = "return_stages"
        }
        public static var knownKeys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] { paddleIgnoredArchKeys }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            classNum = try c.decodePositive(.classNum, default: 1000)
            dropRate = try c.decodeRate(.dropoutProb, or: .dropRate) ?? 0
            classExpand = try c.decodePositive(.classExpand, default: 1280)
            useLastConv = try c.decodeIfPresent(Bool.self, forKey: .useLastConv) ?? true
            inChannels = try c.decodePositive(.inputImageChannel, or: .inChans, default: 3)
            try c.refuseIntermediateOutputs(.returnPatterns, .returnStages)
        }
    }
}

extension PPLCNetV2.Options: ArchOptions {}

extension PPLCNetV2 {
    /// Small, base and large (timm `lcnetv2_*`) with timm's port of PaddleClas's weights.
    public static func register(into models: inout ModelRegistry) {
        let weights = ["small": "paddle_in1k", "base": "ssld_in1k", "large": "paddle_in1k"]
        for v in variants {
            let card = ModelCard(
                name: "PPLCNetV2_\(v.name)", aliases: ["lcnetv2_\(v.name)"], family: "PPLCNetV2",
                summary: "PP-LCNetV2 \(v.name) (×\(v.scale), re-parameterizable)", classifier: ["classifier."],
                featureChannels: 1280, stages: stageConfig.indices.map { "stages.\($0)" }, reparameterizes: true,
                weights: weights[v.name].map { "timm/lcnetv2_\(v.name).\($0)" })
            models.register(card, options: Options.self) { o in
                PPLCNetV2(variant: v, classCount: o.classNum, classExpand: o.useLastConv ? o.classExpand : nil,
                          dropRate: o.dropRate, inChannels: o.inChannels)
            }
        }
    }
}
