import ClasNN
import ClasTensor

/// EfficientNet B0–B7 (Tan & Le, https://arxiv.org/abs/1905.11946) with timm's structure and parameter names
/// (`conv_stem`, `bn1`, `blocks.i.j.*`, `conv_head`, `bn2`, `classifier`; timm `efficientnet_b0` …), so timm weights
/// load directly.
///
/// MBConv blocks with squeeze-excitation sized from the block input (a quarter of it), swish everywhere, sigmoid
/// gates. Compound scaling as timm's `_gen_efficientnet`: channels `make_divisible(c·w, 8)`, repeats per stage
/// `ceil(r·d)` (distributed from the last block string backwards), head width `make_divisible(1280·w)`.
public final class EfficientNet: Module, LayeredModel {
    /// One row of the compound-scaling table.
    public struct Variant: Sendable, Equatable {
        /// `b0` … `b7`.
        public let name: String
        public let widthMultiplier: Double
        public let depthMultiplier: Double
        /// Training resolution of the paper (and timm's default input size for the untrained variants).
        public let resolution: Int
        /// Dropout before the classifier (timm's recommended training value).
        public let dropRate: Float
    }

    /// The paper's (and timm's) B0–B7 table: (width, depth, resolution, dropout).
    public static let variants: [Variant] = [
        Variant(name: "b0", widthMultiplier: 1.0, depthMultiplier: 1.0, resolution: 224, dropRate: 0.2),
        Variant(name: "b1", widthMultiplier: 1.0, depthMultiplier: 1.1, resolution: 240, dropRate: 0.2),
        Variant(name: "b2", widthMultiplier: 1.1, depthMultiplier: 1.2, resolution: 260, dropRate: 0.3),
        Variant(name: "b3", widthMultiplier: 1.2, depthMultiplier: 1.4, resolution: 300, dropRate: 0.3),
        Variant(name: "b4", widthMultiplier: 1.4, depthMultiplier: 1.8, resolution: 380, dropRate: 0.4),
        Variant(name: "b5", widthMultiplier: 1.6, depthMultiplier: 2.2, resolution: 456, dropRate: 0.4),
        Variant(name: "b6", widthMultiplier: 1.8, depthMultiplier: 2.6, resolution: 528, dropRate: 0.5),
        Variant(name: "b7", widthMultiplier: 2.0, depthMultiplier: 3.1, resolution: 600, dropRate: 0.5),
    ]

    /// The variant named `b0` … `b7`.
    public static func variant(_ name: String) throws -> Variant {
        guard let v = variants.first(where: { $0.name == name.lowercased() }) else {
            throw ModelError.invalidOption("no EfficientNet variant '\(name)' (b0 … b7)")
        }
        return v
    }

    /// timm's block table (`_gen_efficientnet`), before depth scaling.
    static let architecture: [[String]] = [
        ["ds_r1_k3_s1_e1_c16_se0.25"], ["ir_r2_k3_s2_e6_c24_se0.25"], ["ir_r2_k5_s2_e6_c40_se0.25"],
        ["ir_r3_k3_s2_e6_c80_se0.25"], ["ir_r3_k5_s1_e6_c112_se0.25"], ["ir_r4_k5_s2_e6_c192_se0.25"],
        ["ir_r1_k3_s1_e6_c320_se0.25"],
    ]

    public let convStem: Conv2d
    public let bn1: BatchNorm
    public let blocks: Sequential
    public let convHead: Conv2d
    public let bn2: BatchNorm
    public let dropout: Dropout
    public let classifier: Linear

    /// - Parameters:
    ///   - variant: a row of ``variants`` (width, depth, default dropout).
    ///   - classCount: classifier outputs.
    ///   - dropRate: dropout before the classifier; nil takes the variant's (0.2 … 0.5).
    ///   - dropPathRate: stochastic depth ("drop connect"), rising linearly from 0 over the blocks as in timm.
    ///   - useSE: squeeze-excitation in every block (PaddleClas's `use_se`; timm always has it).
    ///   - padding: `.symmetric` as timm's `efficientnet_b*`, `.same` as TensorFlow (timm's `tf_efficientnet_b*`,
    ///     PaddleClas's `padding_type: SAME`).
    ///   - inChannels: input image channels.
    public init(variant: Variant, classCount: Int = 1000, dropRate: Float? = nil, dropPathRate: Float = 0.2,
                useSE: Bool = true, padding: ConvPadding = .symmetric, inChannels: Int = 3) throws {
        let w = variant.widthMultiplier
        let round = { (c: Int) in makeDivisible(Double(c) * w) }
        let stem = round(32)
        convStem = Conv2d(inChannels, stem, kernelSize: 3, stride: 2, padding: padding)
        bn1 = BatchNorm(stem, activation: .silu)
        let builder = EfficientBuilder(
            roundChannels: round, activation: .silu, seFromExpanded: false, seActivation: nil, seGate: .sigmoid,
            seRound: { Int($0.rounded(.toNearestOrEven)) }, padding: padding, dropPathRate: dropPathRate)
        var table = try BlockSpec.stages(EfficientNet.architecture)
        table = table.map { BlockSpec.scaleDepth($0, multiplier: variant.depthMultiplier) }
        if !useSE { table = table.map { $0.map { var s = $0; s.seRatio = 0; return s } } }
        let (stages, outChannels) = builder.build(inChannels: stem, stages: table)
        blocks = Sequential(stages)
        let features = round(1280)
        convHead = Conv2d(outChannels, features, kernelSize: 1, padding: padding)
        bn2 = BatchNorm(features, activation: .silu)
        dropout = Dropout(dropRate ?? variant.dropRate)
        classifier = Linear(features, classCount)
        super.init()
    }

    /// Width of the pooled features fed to the classifier.
    public var featureCount: Int { classifier.inFeatures }

    /// Features before pooling: [N, H/32, W/32, featureCount].
    public func forwardFeatures(_ x: Tensor) -> Tensor { bn2(convHead(blocks(bn1(convStem(x))))) }

    public override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    /// conv_stem, bn1, blocks.0 …, conv_head, bn2, global_pool, classifier (after dropout).
    public var layers: [ModelLayer] {
        [ModelLayer("conv_stem", convStem), ModelLayer("bn1", bn1)]
            + blocks.layers.enumerated().map { ModelLayer("blocks.\($0.offset)", $0.element) }
            + [ModelLayer("conv_head", convHead), ModelLayer("bn2", bn2),
               ModelLayer("global_pool") { Tensor.globalAvgPool($0, keepDims: false) },
               ModelLayer("classifier", [classifier]) { [dropout, classifier] in classifier(dropout($0)) }]
    }
}

extension EfficientNet {
    /// The `Arch` options of an EfficientNet (PaddleClas keys; timm spellings accepted as aliases).
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `class_num` | 1000 | classifier outputs |
    /// | `dropout_prob` / `drop_rate` | per variant (0.2 … 0.5) | dropout before the classifier |
    /// | `drop_connect_rate` / `drop_path_rate` | 0.2 | stochastic depth, linear over the blocks |
    /// | `use_se` | true | squeeze-excitation |
    /// | `padding_type` | `symmetric` | `symmetric` (timm) or `SAME`/`DYNAMIC` (TensorFlow, PaddleClas) |
    /// | `input_image_channel` / `in_chans` | 3 | input channels |
    public struct Options: Decodable, Sendable, Equatable {
        /// How convolutions pad.
        public enum PaddingType: String, Decodable, CaseIterable, Sendable {
            case symmetric, same = "SAME", dynamic = "DYNAMIC"
        }
        public var classNum = 1000
        /// nil: the variant's default.
        public var dropRate: Float?
        public var dropPathRate: Float = 0.2
        public var useSE = true
        public var paddingType = PaddingType.symmetric
        public var inChannels = 3

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case classNum = "class_num", dropoutProb = "dropout_prob", dropRate = "drop_rate"
            case dropConnectRate = "drop_connect_rate", dropPathRate = "drop_path_rate", useSE = "use_se"
            case paddingType = "padding_type", inputImageChannel = "input_image_channel", inChans = "in_chans"
        }
        public static var knownKeys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] { paddleIgnoredArchKeys }

        public init(classNum: Int = 1000, dropRate: Float? = nil, dropPathRate: Float = 0.2, useSE: Bool = true,
                    paddingType: PaddingType = .symmetric, inChannels: Int = 3) {
            (self.classNum, self.dropRate, self.dropPathRate) = (classNum, dropRate, dropPathRate)
            (self.useSE, self.paddingType, self.inChannels) = (useSE, paddingType, inChannels)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            classNum = try c.decodePositive(.classNum, default: 1000)
            dropRate = try c.decodeRate(.dropoutProb, or: .dropRate)
            dropPathRate = try c.decodeRate(.dropConnectRate, or: .dropPathRate) ?? 0.2
            useSE = try c.decodeIfPresent(Bool.self, forKey: .useSE) ?? true
            paddingType = try c.decodeIfPresent(PaddingType.self, forKey: .paddingType) ?? .symmetric
            inChannels = try c.decodePositive(.inputImageChannel, or: .inChans, default: 3)
        }
    }

    /// Builds `variant` (`b0` … `b7`) with `options`.
    public static func make(_ variant: Variant, options: Options) throws -> EfficientNet {
        try EfficientNet(variant: variant, classCount: options.classNum, dropRate: options.dropRate,
                         dropPathRate: options.dropPathRate, useSE: options.useSE,
                         padding: options.paddingType == .symmetric ? .symmetric : .same,
                         inChannels: options.inChannels)
    }
}

extension EfficientNet.Options: ArchOptions {}

extension EfficientNet {
    /// B0–B7 (timm `efficientnet_b0` …) at the paper's resolutions; timm's weights for B0–B5.
    public static func register(into models: inout ModelRegistry) {
        let weights = ["b0": "ra_in1k", "b1": "ft_in1k", "b2": "ra_in1k", "b3": "ra2_in1k", "b4": "ra2_in1k",
                       "b5": "sw_in12k_ft_in1k"]
        for v in variants {
            let timm = "efficientnet_\(v.name)"
            let card = ModelCard(
                name: "EfficientNet\(v.name.uppercased())", aliases: [timm], family: "EfficientNet",
                summary: "EfficientNet-\(v.name.uppercased()) (width ×\(v.widthMultiplier), depth ×\(v.depthMultiplier))",
                inputSize: v.resolution, cropFraction: ["b0", "b1"].contains(v.name) ? 0.875 : 1.0,
                classifier: ["classifier."], featureChannels: makeDivisible(1280 * v.widthMultiplier),
                stages: architecture.indices.map { "blocks.\($0)" }, weights: weights[v.name].map { "timm/\(timm).\($0)" })
            models.register(card, options: Options.self) { try make(v, options: $0) }
        }
    }
}
