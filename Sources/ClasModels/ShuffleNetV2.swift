import ClasNN
import ClasTensor

/// ShuffleNetV2 (Ma et al., https://arxiv.org/abs/1807.11164) at PaddleClas's widths, with torchvision's structure
/// and parameter names (`conv1.0`, `conv1.1`, `stage2.0.branch1.*`, `stage2.0.branch2.*`, `conv5.0`, `conv5.1`, `fc`),
/// so torchvision weights load directly. timm has no ShuffleNet.
///
/// Each unit splits its channels in half (downsampling units feed the whole input to two branches), runs one half
/// through 1×1 conv + BN + act, 3×3 depthwise + BN, 1×1 conv + BN + act, concatenates and shuffles the channels.
public final class ShuffleNetV2: Module, LayeredModel {
    /// PaddleClas's widths: the stem, the three stages and the last conv.
    public static let widths: [(name: String, channels: [Int])] = [
        ("x0_25", [24, 24, 48, 96, 512]), ("x0_33", [24, 32, 64, 128, 512]), ("x0_5", [24, 48, 96, 192, 1024]),
        ("x1_0", [24, 116, 232, 464, 1024]), ("x1_5", [24, 176, 352, 704, 1024]), ("x2_0", [24, 244, 488, 976, 2048]),
    ]
    /// Units per stage.
    static let repeats = [4, 8, 4]

    public let conv1: Sequential
    public let stage2: Sequential
    public let stage3: Sequential
    public let stage4: Sequential
    public let conv5: Sequential
    public let dropout: Dropout
    public let fc: Linear

    /// - Parameters:
    ///   - channels: a row of ``widths``.
    ///   - classCount: classifier outputs.
    ///   - activation: ReLU, or swish (PaddleClas's `ShuffleNetV2_swish`).
    ///   - dropRate: dropout before `fc` (PaddleClas and torchvision: none).
    ///   - inChannels: input image channels.
    public init(channels: [Int], classCount: Int = 1000, activation: Activation = .relu, dropRate: Float = 0,
                inChannels: Int = 3) {
        conv1 = Sequential(Conv2d(inChannels, channels[0], kernelSize: 3, stride: 2),
                           BatchNorm(channels[0], activation: activation))
        var input = channels[0]
        var stages: [Sequential] = []
        for (s, n) in ShuffleNetV2.repeats.enumerated() {
            let out = channels[s + 1]
            stages.append(Sequential((0..<n).map { i in
                defer { input = out }
                return ShuffleUnit(input, out, stride: i == 0 ? 2 : 1, activation: activation)
            }))
        }
        (stage2, stage3, stage4) = (stages[0], stages[1], stages[2])
        conv5 = Sequential(Conv2d(input, channels[4], kernelSize: 1), BatchNorm(channels[4], activation: activation))
        dropout = Dropout(dropRate)
        fc = Linear(channels[4], classCount)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    /// conv1, maxpool, stage2 … stage4, conv5, global_pool, fc (after dropout).
    public var layers: [ModelLayer] {
        [ModelLayer("conv1", conv1),
         ModelLayer("maxpool") { Tensor.maxPool2d($0, kernel: (3, 3), stride: (2, 2), padding: Padding2D(1)) },
         ModelLayer("stage2", stage2), ModelLayer("stage3", stage3), ModelLayer("stage4", stage4), ModelLayer("conv5", conv5),
         ModelLayer("global_pool") { Tensor.globalAvgPool($0, keepDims: false) },
         ModelLayer("fc", [fc]) { [dropout, fc] in fc(dropout($0)) }]
    }
}

/// torchvision's `InvertedResidual` of ShuffleNetV2: `branch1` (downsampling units only: depthwise 3×3 + BN, 1×1 +
/// BN + act) and `branch2` (1×1 + BN + act, depthwise 3×3 + BN, 1×1 + BN + act), concatenated, channels shuffled.
public final class ShuffleUnit: Module {
    public let branch1: Sequential?
    public let branch2: Sequential

    public init(_ inChannels: Int, _ outChannels: Int, stride: Int, activation: Activation) {
        let half = outChannels / 2
        let branchIn = stride > 1 ? inChannels : half
        branch1 = stride > 1
            ? Sequential(Conv2d(inChannels, inChannels, kernelSize: 3, stride: stride, groups: inChannels),
                         BatchNorm(inChannels), Conv2d(inChannels, half, kernelSize: 1),
                         BatchNorm(half, activation: activation))
            : nil
        // Identity keeps torchvision's indices (its ReLU at 2 has no parameters).
        branch2 = Sequential(Conv2d(branchIn, half, kernelSize: 1), BatchNorm(half, activation: activation), Identity(),
                             Conv2d(half, half, kernelSize: 3, stride: stride, groups: half), BatchNorm(half),
                             Conv2d(half, half, kernelSize: 1), BatchNorm(half, activation: activation))
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let joined: Tensor
        if let branch1 {
            joined = Tensor.concat([branch1(x), branch2(x)], axis: 3)
        } else {
            let c = x.shape[3] / 2
            joined = Tensor.concat([x.narrowed(axis: 3, start: 0, length: c),
                                    branch2(x.narrowed(axis: 3, start: c, length: c))], axis: 3)
        }
        // Channel shuffle with two groups: channel g·c + j moves to 2j + g.
        let (n, h, w, channels) = (joined.shape[0], joined.shape[1], joined.shape[2], joined.shape[3])
        return joined.reshaped([n, h, w, 2, channels / 2]).permuted([0, 1, 2, 4, 3]).reshaped([n, h, w, channels])
    }
}

extension ShuffleNetV2 {
    /// The `Arch` options of a ShuffleNetV2 (PaddleClas keys; timm spellings accepted as aliases).
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `class_num` | 1000 | classifier outputs |
    /// | `dropout_prob` / `drop_rate` | 0 | dropout before `fc` |
    /// | `input_image_channel` / `in_chans` | 3 | input channels |
    public struct Options: Decodable, Sendable, Equatable {
        public var classNum = 1000
        public var dropRate: Float = 0
        public var inChannels = 3

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case classNum = "class_num", dropoutProb = "dropout_prob", dropRate = "drop_rate"
            case inputImageChannel = "input_image_channel", inChans = "in_chans"
        }
        public static var knownKeys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] { paddleIgnoredArchKeys }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            classNum = try c.decodePositive(.classNum, default: 1000)
            dropRate = try c.decodeRate(.dropoutProb, or: .dropRate) ?? 0
            inChannels = try c.decodePositive(.inputImageChannel, or: .inChans, default: 3)
        }
    }
}

extension ShuffleNetV2.Options: ArchOptions {}

extension ShuffleNetV2 {
    /// PaddleClas's six widths and the swish variant (×1.0), with torchvision's names as aliases
    /// (`shufflenet_v2_x1_0`; torchvision publishes weights for ×0.5 … ×2.0, not on the Hugging Face hub).
    public static func register(into models: inout ModelRegistry) {
        for (name, channels) in widths {
            let card = ModelCard(
                name: "ShuffleNetV2_\(name)", aliases: ["shufflenet_v2_\(name)"], family: "ShuffleNetV2",
                summary: "ShuffleNetV2 \(name.replacingOccurrences(of: "_", with: ".").dropFirst())×", interpolation: "bilinear",
                classifier: ["fc."], featureChannels: channels[4], stages: ["stage2", "stage3", "stage4"])
            models.register(card, options: Options.self) { ShuffleNetV2(channels: channels, classCount: $0.classNum,
                                                                       dropRate: $0.dropRate, inChannels: $0.inChannels) }
        }
        let channels = widths[3].channels
        let card = ModelCard(name: "ShuffleNetV2_swish", aliases: ["shufflenet_v2_swish"], family: "ShuffleNetV2",
                             summary: "ShuffleNetV2 1.0× with swish", interpolation: "bilinear", classifier: ["fc."],
                             featureChannels: channels[4], stages: ["stage2", "stage3", "stage4"])
        models.register(card, options: Options.self) { ShuffleNetV2(channels: channels, classCount: $0.classNum,
                                                                   activation: .silu, dropRate: $0.dropRate,
                                                                   inChannels: $0.inChannels) }
    }
}
