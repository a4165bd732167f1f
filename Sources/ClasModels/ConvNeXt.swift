import ClasNN
import ClasTensor

/// ConvNeXt (Liu et al., https://arxiv.org/abs/2201.03545) with timm's structure and parameter names (`stem.0`,
/// `stem.1`, `stages.1.downsample.0`, `stages.1.blocks.0.conv_dw`, `….norm`, `….mlp.fc1`, `….mlp.fc2`, `….gamma`,
/// `head.norm`, `head.fc`), so timm safetensors load directly.
///
/// A 4×4 stride-4 patch stem, four stages (each after the first starts with LayerNorm + 2×2 stride-2 convolution),
/// blocks of depthwise 7×7 → LayerNorm → Linear(4C) → GELU → Linear(C) → layer scale γ → drop path + shortcut, and a
/// head of global average pool → LayerNorm → Linear. Feature maps are NHWC, so timm's channels-first `LayerNorm2d`
/// and its channels-last `LayerNorm` are the same normalisation over the last dimension, and the small variants'
/// `conv_mlp` (1×1 convolutions, 4-D weights) differs from the others' linear MLP only in the weights' rank.
public final class ConvNeXt: Module, LayeredModel {
    /// A registered variant: timm's size name, blocks and widths per stage, whether the MLP is 1×1 convolutions
    /// (`conv_mlp`), the weights' tag and evaluation size.
    public struct Variant: Sendable {
        public let size: String, depths: [Int], dims: [Int], convMLP: Bool, weightsTag: String
        public var inputSize = 224
        /// PaddleClas's name: `ConvNeXt_tiny`, and `ConvNeXt_base_224` / `ConvNeXt_base_384` for the two sizes it
        /// publishes -base weights at (the same network).
        public var paddleName: String {
            size == "base" ? "ConvNeXt_base_\(inputSize)" : "ConvNeXt_\(size)"
        }
    }

    /// timm's variants from -atto to -base (-base twice: PaddleClas's 224 and 384 px entries).
    public static let variants: [Variant] = [
        Variant(size: "atto", depths: [2, 2, 6, 2], dims: [40, 80, 160, 320], convMLP: true, weightsTag: "d2_in1k"),
        Variant(size: "femto", depths: [2, 2, 6, 2], dims: [48, 96, 192, 384], convMLP: true, weightsTag: "d1_in1k"),
        Variant(size: "pico", depths: [2, 2, 6, 2], dims: [64, 128, 256, 512], convMLP: true, weightsTag: "d1_in1k"),
        Variant(size: "nano", depths: [2, 2, 8, 2], dims: [80, 160, 320, 640], convMLP: true, weightsTag: "d1h_in1k"),
        Variant(size: "tiny", depths: [3, 3, 9, 3], dims: [96, 192, 384, 768], convMLP: false, weightsTag: "fb_in1k"),
        Variant(size: "small", depths: [3, 3, 27, 3], dims: [96, 192, 384, 768], convMLP: false, weightsTag: "fb_in1k"),
        Variant(size: "base", depths: [3, 3, 27, 3], dims: [128, 256, 512, 1024], convMLP: false, weightsTag: "fb_in1k"),
        Variant(size: "base", depths: [3, 3, 27, 3], dims: [128, 256, 512, 1024], convMLP: false,
                weightsTag: "fb_in22k_ft_in1k_384", inputSize: 384),
    ]

    public let stem: Sequential
    public let stages: [ConvNeXtStage]
    public let head: NormClassifierHead

    /// - Parameters:
    ///   - depths, dims: blocks and channels per stage.
    ///   - convMLP: 1×1 convolutions instead of linear layers in the blocks' MLP (timm's `conv_mlp`).
    ///   - classCount: classifier outputs.
    ///   - dropRate: dropout before the classifier.
    ///   - dropPathRate: stochastic depth, increasing linearly over the blocks from 0.
    ///   - layerScale: initial γ of every block (timm's `ls_init_value`); nil: no layer scale.
    ///   - headInitScale: the classifier's initial weights are multiplied by this (timm's `head_init_scale`).
    public init(depths: [Int], dims: [Int], convMLP: Bool, classCount: Int = 1000, dropRate: Float = 0,
                dropPathRate: Float = 0, layerScale: Float? = 1e-6, headInitScale: Float = 1, inChannels: Int = 3) {
        stem = Sequential(Conv2d(inChannels, dims[0], kernelSize: 4, stride: 4, padding: .explicit(Padding2D(0)), bias: true),
                          LayerNorm(dims[0], eps: 1e-6))
        let total = depths.reduce(0, +)
        var index = 0, input = dims[0]
        stages = zip(depths, dims).map { depth, dim in
            let rates = (0..<depth).map { i in total > 1 ? dropPathRate * Float(index + i) / Float(total - 1) : 0 }
            defer { index += depth; input = dim }
            return ConvNeXtStage(input, dim, depth: depth, convMLP: convMLP, dropPathRates: rates, layerScale: layerScale)
        }
        head = NormClassifierHead(dims[dims.count - 1], classCount: classCount, eps: 1e-6, dropRate: dropRate)
        super.init()
        // timm's initialisation: every convolution and linear weight N(0, 0.02²) (truncated at ±2, i.e. ±100σ).
        for (_, m) in namedModules() {
            if let c = m as? Conv2d { Init.normal(c.weight, std: 0.02) }
            if let l = m as? Linear { Init.normal(l.weight, std: 0.02) }
        }
        if headInitScale != 1 { GradMode.withoutGrad { head.fc.weight.copy(from: head.fc.weight * headInitScale) } }
    }

    public override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    /// stem, stages.0 … stages.3, head (pool, norm, fc).
    public var layers: [ModelLayer] {
        [ModelLayer("stem", stem)] + stages.enumerated().map { ModelLayer("stages.\($0.offset)", $0.element) }
            + [ModelLayer("head", head)]
    }
}

/// A ConvNeXt stage: `downsample` (LayerNorm + 2×2 stride-2 convolution, absent when the width does not change) and
/// its `blocks`.
public final class ConvNeXtStage: Module {
    public let downsample: Sequential?
    public let blocks: Sequential

    public init(_ inChannels: Int, _ outChannels: Int, depth: Int, convMLP: Bool, dropPathRates: [Float],
                layerScale: Float?) {
        downsample = inChannels == outChannels ? nil : Sequential(
            LayerNorm(inChannels, eps: 1e-6),
            Conv2d(inChannels, outChannels, kernelSize: 2, stride: 2, padding: .explicit(Padding2D(0)), bias: true))
        blocks = Sequential((0..<depth).map {
            ConvNeXtBlock(outChannels, convMLP: convMLP, dropPath: dropPathRates[$0], layerScale: layerScale)
        })
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { blocks(downsample?(x) ?? x) }
}

/// timm's `ConvNeXtBlock`: depthwise 7×7 (with bias) → LayerNorm → MLP (4× expansion, GELU) → ×γ → drop path, plus
/// the input.
public final class ConvNeXtBlock: Module {
    public let convDw: Conv2d
    public let norm: LayerNorm
    public let mlp: Module
    public let gamma: Tensor?
    let dropPath: DropPath

    public init(_ channels: Int, convMLP: Bool, dropPath rate: Float, layerScale: Float?) {
        convDw = Conv2d(channels, channels, kernelSize: 7, groups: channels, bias: true)
        norm = LayerNorm(channels, eps: 1e-6)
        mlp = convMLP ? ConvMlp(channels, hidden: 4 * channels) : Mlp(channels, hidden: 4 * channels)
        gamma = layerScale.map { Tensor(shape: [channels], repeating: $0, requiresGrad: true) }
        dropPath = DropPath(rate)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        dropPath(normMlpBranch(convDw(x), norm: norm, mlp: mlp, scale: gamma)) + x
    }
}

/// timm's `ConvMlp` as ConvNeXt's small variants use it (`conv_mlp`): `fc1` and `fc2` are 1×1 convolutions with 4-D
/// weights, as their checkpoints store them; on NHWC maps the arithmetic is ``Mlp``'s.
public final class ConvMlp: Module {
    public let fc1: Conv2d
    public let fc2: Conv2d

    public init(_ channels: Int, hidden: Int) {
        fc1 = Conv2d(channels, hidden, kernelSize: 1, bias: true)
        fc2 = Conv2d(hidden, channels, kernelSize: 1, bias: true)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { fc2(fc1(x).gelu()) }
}

/// timm's `NormMlpClassifierHead` without the hidden layer: global average pool → LayerNorm → dropout → `fc`.
public final class NormClassifierHead: Module {
    public let norm: LayerNorm
    public let fc: Linear
    let drop: Dropout

    public init(_ channels: Int, classCount: Int, eps: Float, dropRate: Float = 0) {
        norm = LayerNorm(channels, eps: eps)
        fc = Linear(channels, classCount)
        drop = Dropout(dropRate)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { fc(drop(norm(Tensor.globalAvgPool(x, keepDims: false)))) }
}

extension ConvNeXt {
    /// The `Arch` options of a ConvNeXt (PaddleClas keys; timm spellings accepted as aliases).
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `class_num` | 1000 | classifier outputs |
    /// | `drop_path_rate` | 0 | stochastic depth of the last block (linear from 0) |
    /// | `drop_rate` | 0 | dropout before the classifier |
    /// | `layer_scale_init_value` / `ls_init_value` | 1e-6 | initial layer scale γ (≤ 0 or null: none) |
    /// | `head_init_scale` | 1 | initial classifier weights multiplied by this |
    /// | `in_chans` | 3 | input channels |
    public struct Options: Decodable, Sendable, Equatable {
        public var classNum = 1000
        public var dropPathRate: Float = 0
        public var dropRate: Float = 0
        public var layerScale: Float? = 1e-6
        public var headInitScale: Float = 1
        public var inChannels = 3

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case classNum = "class_num", dropPathRate = "drop_path_rate", dropRate = "drop_rate"
            case layerScaleInitValue = "layer_scale_init_value", lsInitValue = "ls_init_value"
            case headInitScale = "head_init_scale", inChans = "in_chans"
        }
        public static var knownKeys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] { paddleIgnoredArchKeys }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            classNum = try c.decodePositive(.classNum, default: 1000)
            dropPathRate = try c.decodeRate(.dropPathRate) ?? 0
            dropRate = try c.decodeRate(.dropRate) ?? 0
            let key: CodingKeys = c.contains(.lsInitValue) ? .lsInitValue : .layerScaleInitValue
            if c.contains(.lsInitValue) && c.contains(.layerScaleInitValue) {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription:
                    "'layer_scale_init_value' and 'ls_init_value' are the same option; give only one")
            }
            if c.contains(key) {
                let v = try c.decodeIfPresent(Float.self, forKey: key)
                layerScale = v.flatMap { $0 > 0 ? $0 : nil }
            }
            headInitScale = try c.decodeIfPresent(Float.self, forKey: .headInitScale) ?? 1
            inChannels = try c.decodePositive(.inChans, default: 3)
        }
    }
}

extension ConvNeXt.Options: ArchOptions {}

extension ConvNeXt {
    /// The variants under PaddleClas's spelling (`ConvNeXt_tiny`, `ConvNeXt_base_224`), timm's names as aliases
    /// (`convnext_base` names the 224 px entry; the 384 px one, timm's `convnext_base` with its 384 px weights, has
    /// none).
    public static func register(into models: inout ModelRegistry) {
        for v in variants {
            let timmName = "convnext_\(v.size)"
            let card = ModelCard(
                name: v.paddleName, aliases: v.inputSize == 224 ? [timmName] : [], family: "ConvNeXt",
                summary: "ConvNeXt-\(v.size) (depths \(v.depths.map(String.init).joined(separator: "-")), widths \(v.dims[0])…\(v.dims[3]))",
                inputSize: v.inputSize, cropFraction: v.size == "nano" ? 0.95 : v.inputSize == 384 ? 1 : 0.875,
                classifier: ["head.fc."], featureChannels: v.dims[3],
                stages: ["stages.0", "stages.1", "stages.2", "stages.3"], weights: "timm/\(timmName).\(v.weightsTag)")
            models.register(card, options: Options.self) {
                ConvNeXt(depths: v.depths, dims: v.dims, convMLP: v.convMLP, classCount: $0.classNum, dropRate: $0.dropRate,
                         dropPathRate: $0.dropPathRate, layerScale: $0.layerScale, headInitScale: $0.headInitScale,
                         inChannels: $0.inChannels)
            }
        }
    }
}
