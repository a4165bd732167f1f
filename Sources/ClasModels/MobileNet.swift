import ClasNN
import ClasTensor

/// MobileNetV1 (Howard et al., https://arxiv.org/abs/1704.04861) and MobileNetV2 (Sandler et al.,
/// https://arxiv.org/abs/1801.04381) as timm builds them (`_gen_mobilenet_v1`, `_gen_mobilenet_v2`: `conv_stem`,
/// `bn1`, `blocks.i.j.*`, for V2 `conv_head` and `bn2`, `classifier`), so timm weights load directly.
///
/// Both use ReLU6 and channels rounded with `make_divisible(c · width, 8)`. Where PaddleClas differs (its MobileNetV1
/// uses ReLU; its MobileNetV2 rounds channels with `int(c · width)` and gives the first block a 1×1 expansion conv,
/// so its ×0.5 and ×0.75 are narrower than timm's), SwiftClas follows timm, whose weights it can load.
public final class MobileNet: Module, LayeredModel {
    /// V1 (depthwise-separable blocks, no head conv) or V2 (inverted residuals, a 1×1 head conv to 1280).
    public enum Version: String, Sendable { case v1 = "V1", v2 = "V2" }

    public let convStem: Conv2d
    public let bn1: BatchNorm
    public let blocks: Sequential
    public let convHead: Conv2d?
    public let bn2: BatchNorm?
    public let dropout: Dropout
    public let classifier: Linear

    /// timm's block tables.
    static func architecture(_ version: Version) -> [[String]] {
        switch version {
        case .v1:
            return [["dsa_r1_k3_s1_c64"], ["dsa_r2_k3_s2_c128"], ["dsa_r2_k3_s2_c256"], ["dsa_r6_k3_s2_c512"],
                    ["dsa_r2_k3_s2_c1024"]]
        case .v2:
            return [["ds_r1_k3_s1_c16"], ["ir_r2_k3_s2_e6_c24"], ["ir_r3_k3_s2_e6_c32"], ["ir_r4_k3_s2_e6_c64"],
                    ["ir_r3_k3_s1_e6_c96"], ["ir_r3_k3_s2_e6_c160"], ["ir_r1_k3_s1_e6_c320"]]
        }
    }

    /// Width of the features entering the classifier.
    static func featureCount(_ version: Version, width: Double) -> Int {
        let head = version == .v1 ? 1024 : 1280
        let scaled = makeDivisible(Double(head) * width)
        return version == .v1 ? scaled : max(head, scaled)
    }

    /// - Parameters:
    ///   - version: V1 or V2.
    ///   - width: channel multiplier.
    ///   - classCount: classifier outputs.
    ///   - dropRate: dropout before the classifier.
    ///   - dropPathRate: stochastic depth on the residual blocks (V2), rising linearly over the blocks.
    ///   - inChannels: input image channels.
    public init(version: Version, width: Double, classCount: Int = 1000, dropRate: Float = 0, dropPathRate: Float = 0,
                inChannels: Int = 3) throws {
        let round = { (c: Int) in makeDivisible(Double(c) * width) }
        let stem = round(32)
        convStem = Conv2d(inChannels, stem, kernelSize: 3, stride: 2)
        bn1 = BatchNorm(stem, activation: .relu6)
        let builder = EfficientBuilder(
            roundChannels: round, activation: .relu6, seFromExpanded: false, seActivation: nil, seGate: .sigmoid,
            seRound: { Int($0.rounded(.toNearestOrEven)) }, dropPathRate: dropPathRate)
        let (stages, outChannels) = builder.build(inChannels: stem, stages: try BlockSpec.stages(MobileNet.architecture(version)))
        blocks = Sequential(stages)
        let features = MobileNet.featureCount(version, width: width)
        if version == .v2 {
            convHead = Conv2d(outChannels, features, kernelSize: 1)
            bn2 = BatchNorm(features, activation: .relu6)
        } else {
            (convHead, bn2) = (nil, nil)
        }
        dropout = Dropout(dropRate)
        classifier = Linear(features, classCount)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    /// conv_stem, bn1, blocks.0 …, conv_head and bn2 (V2), global_pool, classifier (after dropout).
    public var layers: [ModelLayer] {
        var steps = [ModelLayer("conv_stem", convStem), ModelLayer("bn1", bn1)]
            + blocks.layers.enumerated().map { ModelLayer("blocks.\($0.offset)", $0.element) }
        if let convHead, let bn2 { steps += [ModelLayer("conv_head", convHead), ModelLayer("bn2", bn2)] }
        return steps + [ModelLayer("global_pool") { Tensor.globalAvgPool($0, keepDims: false) },
                        ModelLayer("classifier", [classifier]) { [dropout, classifier] in classifier(dropout($0)) }]
    }
}

extension MobileNet {
    /// The `Arch` options of a MobileNetV1/V2 (PaddleClas keys; timm spellings accepted as aliases).
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `class_num` | 1000 | classifier outputs |
    /// | `dropout_prob` / `drop_rate` | 0 | dropout before the classifier |
    /// | `drop_connect_rate` / `drop_path_rate` | 0 | stochastic depth on residual blocks (V2) |
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
            case returnPatterns = "return_patterns", returnStages = "return_stages"
        }
        public static var knownKeys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] { paddleIgnoredArchKeys }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            classNum = try c.decodePositive(.classNum, default: 1000)
            dropRate = try c.decodeRate(.dropoutProb, or: .dropRate) ?? 0
            dropPathRate = try c.decodeRate(.dropConnectRate, or: .dropPathRate) ?? 0
            inChannels = try c.decodePositive(.inputImageChannel, or: .inChans, default: 3)
            try c.refuseIntermediateOutputs(.returnPatterns, .returnStages)
        }
    }
}

extension MobileNet.Options: ArchOptions {}

extension MobileNet {
    /// PaddleClas's MobileNetV1 (×0.25 … ×1.0) and MobileNetV2 (×0.25 … ×2.0) with timm's names (`mobilenetv1_100`,
    /// `mobilenetv2_050` …; widths timm does not register are its generator at that multiplier) and weights.
    public static func register(into models: inout ModelRegistry) {
        let v1: [(String, Double)] = [("_x0_25", 0.25), ("_x0_5", 0.5), ("_x0_75", 0.75), ("", 1.0)]
        let v2: [(String, Double)] = [("_x0_25", 0.25), ("_x0_5", 0.5), ("_x0_75", 0.75), ("", 1.0), ("_x1_5", 1.5),
                                      ("_x2_0", 2.0)]
        let weights = ["mobilenetv1_100": "ra4_e3600_r224_in1k", "mobilenetv2_050": "lamb_in1k",
                       "mobilenetv2_100": "ra_in1k"]
        for (version, table) in [(Version.v1, v1), (.v2, v2)] {
            for (suffix, width) in table {
                let percent = String(Int((width * 100).rounded()))
                let timm = "mobilenet\(version.rawValue.lowercased())_" + String(repeating: "0", count: 3 - percent.count) + percent
                // timm trained mobilenetv1_100 with mean = std = 0.5.
                let half = timm == "mobilenetv1_100"
                let card = ModelCard(
                    name: "MobileNet\(version.rawValue)\(suffix)", aliases: [timm], family: "MobileNet\(version.rawValue)",
                    summary: "MobileNet\(version.rawValue) ×\(width)", mean: half ? [0.5, 0.5, 0.5] : ModelCard.imageNetMean,
                    std: half ? [0.5, 0.5, 0.5] : ModelCard.imageNetStd, classifier: ["classifier."],
                    featureChannels: featureCount(version, width: width),
                    stages: architecture(version).indices.map { "blocks.\($0)" },
                    weights: weights[timm].map { "timm/\(timm).\($0)" })
                models.register(card, options: Options.self) { o in
                    try MobileNet(version: version, width: width, classCount: o.classNum, dropRate: o.dropRate,
                                  dropPathRate: o.dropPathRate, inChannels: o.inChannels)
                }
            }
        }
    }
}
