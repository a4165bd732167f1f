import ClasNN
import ClasTensor

/// MobileNetV3 (Howard et al., https://arxiv.org/abs/1905.02244) with timm's structure and parameter names
/// (`conv_stem`, `bn1`, `blocks.i.j.*`, `conv_head`, `classifier`), so timm weights load directly.
public final class MobileNetV3: Module, LayeredModel {
    /// Large or small.
    public enum Size: String, Sendable { case large, small }

    public let convStem: Conv2d
    public let bn1: BatchNorm
    public let blocks: Sequential
    public let convHead: Conv2d
    public let headActivation: Activation
    public let dropout: Dropout
    public let classifier: Linear

    /// timm's block tables (`_gen_mobilenet_v3`).
    static func architecture(_ size: Size) -> [[String]] {
        switch size {
        case .large:
            return [["ds_r1_k3_s1_e1_c16_nre"], ["ir_r1_k3_s2_e4_c24_nre", "ir_r1_k3_s1_e3_c24_nre"],
                    ["ir_r3_k5_s2_e3_c40_se0.25_nre"],
                    ["ir_r1_k3_s2_e6_c80", "ir_r1_k3_s1_e2.5_c80", "ir_r2_k3_s1_e2.3_c80"],
                    ["ir_r2_k3_s1_e6_c112_se0.25"], ["ir_r3_k5_s2_e6_c160_se0.25"], ["cn_r1_k1_s1_c960"]]
        case .small:
            return [["ds_r1_k3_s2_e1_c16_se0.25_nre"], ["ir_r1_k3_s2_e4.5_c24_nre", "ir_r1_k3_s1_e3.67_c24_nre"],
                    ["ir_r1_k5_s2_e4_c40_se0.25", "ir_r2_k5_s1_e6_c40_se0.25"], ["ir_r2_k5_s1_e3_c48_se0.25"],
                    ["ir_r3_k5_s2_e6_c96_se0.25"], ["cn_r1_k1_s1_c576"]]
        }
    }

    /// - Parameters:
    ///   - size: large or small.
    ///   - widthMultiplier: channel scale (0.35, 0.5, 0.75, 1.0, 1.25).
    ///   - classCount: classifier outputs.
    ///   - headChannels: width of the 1×1 head conv (timm: 1280 large, 1024 small; PaddleClas's `class_expand`).
    ///   - dropRate: dropout before the classifier.
    ///   - dropPathRate: stochastic depth, increasing linearly over the blocks.
    ///   - inChannels: input image channels.
    public init(size: Size, widthMultiplier: Double = 1, classCount: Int = 1000, headChannels: Int? = nil,
                dropRate: Float = 0.2, dropPathRate: Float = 0, inChannels: Int = 3) throws {
        let round = { (c: Int) in makeDivisible(Double(c) * widthMultiplier) }
        let stem = widthMultiplier < 0.75 ? 16 : round(16)
        convStem = Conv2d(inChannels, stem, kernelSize: 3, stride: 2)
        bn1 = BatchNorm(stem, activation: .hardswish)
        let builder = EfficientBuilder(
            roundChannels: round, activation: .hardswish, seFromExpanded: true, seActivation: .relu,
            seGate: .hardsigmoid, seRound: { makeDivisible($0) }, dropPathRate: dropPathRate)
        let (stages, outChannels) = builder.build(inChannels: stem, stages: try BlockSpec.stages(MobileNetV3.architecture(size)))
        blocks = Sequential(stages)
        let head = headChannels ?? (size == .large ? 1280 : 1024)
        convHead = Conv2d(outChannels, head, kernelSize: 1, bias: true)
        headActivation = .hardswish
        dropout = Dropout(dropRate)
        classifier = Linear(head, classCount)
        super.init()
    }

    /// Features before pooling: [N, H/32, W/32, C].
    public func forwardFeatures(_ x: Tensor) -> Tensor { blocks(bn1(convStem(x))) }

    public override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    /// conv_stem, bn1, blocks.0 …, global_pool, conv_head (+ hard-swish), classifier (after dropout).
    public var layers: [ModelLayer] {
        [ModelLayer("conv_stem", convStem), ModelLayer("bn1", bn1)]
            + blocks.layers.enumerated().map { ModelLayer("blocks.\($0.offset)", $0.element) }
            + [ModelLayer("global_pool") { Tensor.globalAvgPool($0) },
               ModelLayer("conv_head", [convHead]) { [headActivation, convHead] in convHead($0).activated(headActivation).flattened() },
               ModelLayer("classifier", [classifier]) { [dropout, classifier] in classifier(dropout($0)) }]
    }
}

extension MobileNetV3 {
    /// The `Arch` options of a MobileNetV3 (PaddleClas keys; timm spellings accepted as aliases).
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `class_num` | 1000 | classifier outputs |
    /// | `dropout_prob` / `drop_rate` | 0.2 (null = none) | dropout before the classifier |
    /// | `class_expand` | timm's: 1280 large, 1024 small | width of the 1×1 head conv (PaddleClas uses 1280 for both) |
    /// | `drop_connect_rate` / `drop_path_rate` | 0 | stochastic depth, linear over the blocks |
    /// | `input_image_channel` / `in_chans` | 3 | input channels |
    public struct Options: Decodable, Sendable, Equatable {
        public var classNum = 1000
        public var dropRate: Float = 0.2
        /// nil: timm's head width for the size.
        public var classExpand: Int?
        public var dropPathRate: Float = 0
        public var inChannels = 3

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case classNum = "class_num", dropoutProb = "dropout_prob", dropRate = "drop_rate"
            case classExpand = "class_expand", dropConnectRate = "drop_connect_rate", dropPathRate = "drop_path_rate"
            case inputImageChannel = "input_image_channel", inChans = "in_chans"
        }
        public static var knownKeys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] { paddleIgnoredArchKeys }

        public init(classNum: Int = 1000, dropRate: Float = 0.2, classExpand: Int? = nil, dropPathRate: Float = 0,
                    inChannels: Int = 3) {
            (self.classNum, self.dropRate, self.classExpand) = (classNum, dropRate, classExpand)
            (self.dropPathRate, self.inChannels) = (dropPathRate, inChannels)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            classNum = try c.decodePositive(.classNum, default: 1000)
            dropRate = try c.decodeRate(.dropoutProb, or: .dropRate) ?? 0.2
            classExpand = try c.decodeIfPresent(Int.self, forKey: .classExpand)
            if let width = classExpand, width <= 0 {
                throw DecodingError.dataCorruptedError(
                    forKey: .classExpand, in: c, debugDescription: "expects a positive integer, got \(width)")
            }
            dropPathRate = try c.decodeRate(.dropConnectRate, or: .dropPathRate) ?? 0
            inChannels = try c.decodePositive(.inputImageChannel, or: .inChans, default: 3)
        }
    }

    /// Builds a MobileNetV3 of `size` and `widthMultiplier` with `options`.
    public static func make(_ size: Size, widthMultiplier: Double, options: Options) throws -> MobileNetV3 {
        try MobileNetV3(size: size, widthMultiplier: widthMultiplier, classCount: options.classNum,
                        headChannels: options.classExpand, dropRate: options.dropRate,
                        dropPathRate: options.dropPathRate, inChannels: options.inChannels)
    }
}

extension MobileNetV3.Options: ArchOptions {}

extension MobileNetV3 {
    /// PaddleClas's five `lr_mult_list` stages: residual unit u (counted over all blocks, the stem with the first)
    /// takes multiplier min(u / k, 4), k = 3 (large) or 2 (small), and the last 1×1 conv the last one.
    static func paddleLRStages(_ size: Size) -> [[String]] {
        let interval = size == .large ? 3 : 2
        var groups = [[String]](repeating: [], count: 5)
        let stages = architecture(size)
        var unit = 0
        for (i, specs) in stages.enumerated() {
            if i == stages.count - 1 { groups[4].append("blocks.\(i)."); break }
            let repeats = specs.map { spec in spec.split(separator: "_").first { $0.hasPrefix("r") }.flatMap { Int($0.dropFirst()) } ?? 1 }
            for j in 0..<repeats.reduce(0, +) {
                groups[min(unit / interval, 4)].append("blocks.\(i).\(j).")
                unit += 1
            }
        }
        return groups
    }

    /// PaddleClas's large and small at five widths, with timm's names and, where timm publishes them, its weights.
    public static func register(into models: inout ModelRegistry) {
        let widths: [(paddle: String, width: Double, timm: String)] =
            [("0_35", 0.35, "035"), ("0_5", 0.5, "050"), ("0_75", 0.75, "075"), ("1_0", 1.0, "100"), ("1_25", 1.25, "125")]
        let weights = ["large_100": "ra_in1k", "small_050": "lamb_in1k", "small_075": "lamb_in1k", "small_100": "lamb_in1k"]
        for size in [Size.large, .small] {
            for w in widths {
                let timm = "mobilenetv3_\(size.rawValue)_\(w.timm)"
                var card = ModelCard(
                    name: "MobileNetV3_\(size.rawValue)_x\(w.paddle)", aliases: [timm], family: "MobileNetV3",
                    summary: "MobileNetV3 \(size.rawValue) ×\(w.width)", classifier: ["classifier."],
                    featureChannels: size == .large ? 1280 : 1024,
                    stages: architecture(size).indices.map { "blocks.\($0)" },
                    weights: weights["\(size.rawValue)_\(w.timm)"].map { "timm/\(timm).\($0)" })
                card.lrMultStages = paddleLRStages(size)
                models.register(card, options: Options.self) { try make(size, widthMultiplier: w.width, options: $0) }
            }
        }
    }
}
