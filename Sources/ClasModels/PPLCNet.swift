import ClasConfig
import ClasNN
import ClasTensor

/// PP-LCNet (Cui et al., https://arxiv.org/abs/2109.15099), PaddleClas's CPU backbone, with timm's structure and
/// parameter names (`lcnet_*`: `conv_stem`, `bn1`, `blocks.i.j.{conv_dw, bn1, se, conv_pw, bn2}`, `conv_head`,
/// `classifier`), so timm weights load directly.
///
/// Depthwise-separable blocks with hard-swish after both convolutions, squeeze-excitation (ReLU, hard-sigmoid) in the
/// last two, then a 1×1 conv to 1280 features after pooling. PaddleClas's `blocks2` … `blocks6` are timm's
/// `blocks.0`, `blocks.1`, `blocks.2`, `blocks.3` + `blocks.4`, `blocks.5`. One difference from PaddleClas: timm's
/// head conv has a bias (1,280 parameters at any width), PaddleClas's `last_conv` has none.
public final class PPLCNet: Module, LayeredModel {
    public let convStem: Conv2d
    public let bn1: BatchNorm
    public let blocks: Sequential
    public let convHead: Conv2d?
    public let headActivation: Activation
    public let dropout: Dropout
    public let classifier: Linear

    /// timm's block table (`_gen_lcnet`): PaddleClas's NET_CONFIG split into six stages.
    static let architecture: [[String]] = [
        ["dsa_r1_k3_s1_c32"], ["dsa_r2_k3_s2_c64"], ["dsa_r2_k3_s2_c128"], ["dsa_r1_k3_s2_c256", "dsa_r1_k5_s1_c256"],
        ["dsa_r4_k5_s1_c256"], ["dsa_r2_k5_s2_c512_se0.25"],
    ]
    /// The timm stages whose first block takes `stride_list[1…4]` (PaddleClas's blocks3 … blocks6).
    static let stridedStages = [1, 2, 3, 5]

    /// - Parameters:
    ///   - scale: channel multiplier (0.25 … 2.5).
    ///   - classCount: classifier outputs.
    ///   - classExpand: width of the 1×1 head conv (PaddleClas's `class_expand`, timm's 1280).
    ///   - useLastConv: false: the classifier reads the pooled features directly, without head conv or dropout.
    ///   - dropRate: dropout before the classifier (after the head conv).
    ///   - strides: the stem's stride and the first strides of blocks3 … blocks6, each (vertical, horizontal).
    ///   - activation: hard-swish (PaddleClas's `act` also allows `relu`, `relu6`).
    ///   - inChannels: input image channels.
    public init(scale: Double, classCount: Int = 1000, classExpand: Int = 1280, useLastConv: Bool = true,
                dropRate: Float = 0.2, strides: [(Int, Int)] = Array(repeating: (2, 2), count: 5),
                activation: Activation = .hardswish, inChannels: Int = 3) throws {
        precondition(strides.count == 5, "PPLCNet: five strides")
        let round = { (c: Int) in makeDivisible(Double(c) * scale) }
        let stem = round(16)
        convStem = Conv2d(inChannels, stem, kernelSize: 3, strides: strides[0])
        bn1 = BatchNorm(stem, activation: activation)
        var table = try BlockSpec.stages(PPLCNet.architecture)
        for (i, stage) in PPLCNet.stridedStages.enumerated() {
            (table[stage][0].stride, table[stage][0].strideWidth) = strides[i + 1]
        }
        let builder = EfficientBuilder(
            roundChannels: round, activation: activation, seFromExpanded: false, seActivation: .relu,
            seGate: .hardsigmoid, seRound: { Int($0.rounded(.toNearestOrEven)) })
        let (stages, outChannels) = builder.build(inChannels: stem, stages: table)
        blocks = Sequential(stages)
        convHead = useLastConv ? Conv2d(outChannels, classExpand, kernelSize: 1, bias: true) : nil
        headActivation = activation
        dropout = Dropout(useLastConv ? dropRate : 0)
        classifier = Linear(useLastConv ? classExpand : outChannels, classCount)
        super.init()
    }

    /// Features before pooling: [N, H/32, W/32, C].
    public func forwardFeatures(_ x: Tensor) -> Tensor { blocks(bn1(convStem(x))) }

    public override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    /// conv_stem, bn1, blocks.0 … blocks.5, global_pool, conv_head (+ activation; absent without `use_last_conv`),
    /// classifier (after dropout).
    public var layers: [ModelLayer] {
        var steps = [ModelLayer("conv_stem", convStem), ModelLayer("bn1", bn1)]
            + blocks.layers.enumerated().map { ModelLayer("blocks.\($0.offset)", $0.element) }
            + [ModelLayer("global_pool") { Tensor.globalAvgPool($0) }]
        if let convHead {
            steps.append(ModelLayer("conv_head", [convHead]) { [headActivation] in convHead($0).activated(headActivation) })
        }
        steps.append(ModelLayer("classifier", [classifier]) { [dropout, classifier] in classifier(dropout($0.flattened())) })
        return steps
    }
}

extension PPLCNet {
    /// The `Arch` options of a PP-LCNet (PaddleClas keys; timm spellings accepted as aliases).
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `class_num` | 1000 | classifier outputs |
    /// | `dropout_prob` / `drop_rate` | 0.2 (null = none) | dropout after the head conv |
    /// | `class_expand` | 1280 | width of the 1×1 head conv |
    /// | `use_last_conv` | true | false: no head conv, the classifier reads the pooled features |
    /// | `stride_list` | `[2, 2, 2, 2, 2]` | strides of the stem and of blocks3 … blocks6; an entry `[2, 1]` is (vertical, horizontal) |
    /// | `act` | `hardswish` | activation (`hardswish`, `relu`, `relu6`) |
    /// | `input_image_channel` / `in_chans` | 3 | input channels |
    ///
    /// `lr_mult_list` (six values: stem, blocks2 … blocks6) is read by the engine from the model card.
    public struct Options: Decodable, Sendable, Equatable {
        public var classNum = 1000
        public var dropRate: Float = 0.2
        public var classExpand = 1280
        public var useLastConv = true
        /// Five (vertical, horizontal) strides.
        public var strideList: [[Int]] = Array(repeating: [2, 2], count: 5)
        public var activation = Activation.hardswish
        public var inChannels = 3

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case classNum = "class_num", dropoutProb = "dropout_prob", dropRate = "drop_rate"
            case classExpand = "class_expand", useLastConv = "use_last_conv", strideList = "stride_list", act
            case inputImageChannel = "input_image_channel", inChans = "in_chans"
            case returnPatterns = "return_patterns", returnStages = "return_stages"
        }
        public static var knownKeys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] { paddleIgnoredArchKeys }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            classNum = try c.decodePositive(.classNum, default: 1000)
            dropRate = try c.decodeRate(.dropoutProb, or: .dropRate) ?? 0.2
            classExpand = try c.decodePositive(.classExpand, default: 1280)
            useLastConv = try c.decodeIfPresent(Bool.self, forKey: .useLastConv) ?? true
            if let list = try c.decodeIfPresent([StrideEntry].self, forKey: .strideList) {
                guard list.count == 5 else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .strideList, in: c,
                        debugDescription: "expects 5 strides (the stem, blocks3 … blocks6), got \(list.count)")
                }
                strideList = list.map(\.pair)
            }
            if let name = try c.decodeIfPresent(String.self, forKey: .act) {
                guard let a = Activation(name: name), [.hardswish, .relu, .relu6].contains(a) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .act, in: c, debugDescription: "expects hardswish, relu or relu6, got '\(name)'")
                }
                activation = a
            }
            inChannels = try c.decodePositive(.inputImageChannel, or: .inChans, default: 3)
            try c.refuseIntermediateOutputs(.returnPatterns, .returnStages)
        }
    }

    /// Builds PP-LCNet at `scale` with `options`.
    public static func make(scale: Double, options: Options) throws -> PPLCNet {
        try PPLCNet(scale: scale, classCount: options.classNum, classExpand: options.classExpand,
                    useLastConv: options.useLastConv, dropRate: options.dropRate,
                    strides: options.strideList.map { ($0[0], $0[1]) }, activation: options.activation,
                    inChannels: options.inChannels)
    }
}

extension PPLCNet.Options: ArchOptions {}

extension PPLCNet {
    /// PaddleClas's eight widths; timm's `lcnet_035` … `lcnet_150` and its weights where timm has them (the other
    /// widths are timm's generator at that multiplier, aliases `lcnet_025`, `lcnet_200`, `lcnet_250`).
    public static func register(into models: inout ModelRegistry) {
        let widths: [(paddle: String, scale: Double, timm: String)] =
            [("0_25", 0.25, "025"), ("0_35", 0.35, "035"), ("0_5", 0.5, "050"), ("0_75", 0.75, "075"),
             ("1_0", 1.0, "100"), ("1_5", 1.5, "150"), ("2_0", 2.0, "200"), ("2_5", 2.5, "250")]
        let weights = ["050": "ra2_in1k", "075": "ra2_in1k", "100": "ra2_in1k"]
        for w in widths {
            let timm = "lcnet_\(w.timm)"
            var card = ModelCard(
                name: "PPLCNet_x\(w.paddle)", aliases: [timm], family: "PPLCNet", summary: "PP-LCNet ×\(w.scale)",
                classifier: ["classifier."], featureChannels: 1280,
                stages: architecture.indices.map { "blocks.\($0)" },
                weights: weights[w.timm].map { "timm/\(timm).\($0)" })
            // PaddleClas's six lr_mult_list stages: conv1, blocks2 … blocks6 (blocks5 is timm's blocks.3 and blocks.4).
            card.lrMultStages = [[], ["blocks.0."], ["blocks.1."], ["blocks.2."], ["blocks.3.", "blocks.4."], ["blocks.5."]]
            models.register(card, options: Options.self) { try make(scale: w.scale, options: $0) }
        }
    }
}
