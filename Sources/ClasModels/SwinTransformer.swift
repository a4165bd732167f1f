import ClasNN
import ClasTensor

/// Swin Transformer (Liu et al., https://arxiv.org/abs/2103.14030) with timm's structure and parameter names
/// (`patch_embed.proj`, `patch_embed.norm`, `layers.1.downsample.norm`, `layers.1.downsample.reduction`,
/// `layers.0.blocks.1.attn.relative_position_bias_table`, `….attn.qkv`, `….attn.proj`, `….mlp.fc1`, `norm`,
/// `head.fc`), so timm safetensors load directly.
///
/// A 4×4 stride-4 patch embedding with LayerNorm, four stages (each after the first starts with patch merging: the
/// 2×2 neighbours concatenated, LayerNorm, a linear reduction to twice the width), blocks alternating window attention
/// and shifted-window attention (the map rolled by half a window first, pairs from different regions masked with
/// −100), each with a learned bias per head and relative offset, then LayerNorm, average pooling and `head.fc`.
///
/// Windows and shifts are fixed when the model is built, from `img_size` as timm does: a stage whose map is no larger
/// than the window uses the map as its window and does not shift. Other input sizes work as timm's
/// `strict_img_size=False`: maps are zero-padded at the bottom and right to whole windows and the shift mask is
/// computed for the padded map.
public final class SwinTransformer: Module, LayeredModel {
    /// A registered variant: timm's shape (patch 4), the window and input size it is planned for, and PaddleClas's
    /// default stochastic depth for it.
    public struct Variant: Sendable {
        public let size: String, embedDim: Int, depths: [Int], heads: [Int]
        public var window = 7, imageSize = 224
        public let dropPathRate: Float
        /// timm's name (`swin_base_patch4_window12_384`); PaddleClas's is `SwinTransformer_` + the part after `swin_`.
        public var timmName: String { "swin_\(size)_patch4_window\(window)_\(imageSize)" }
    }

    /// Swin-T, -S, -B at 224 px with window 7, and -B at 384 px with window 12.
    public static let variants: [Variant] = [
        Variant(size: "tiny", embedDim: 96, depths: [2, 2, 6, 2], heads: [3, 6, 12, 24], dropPathRate: 0.2),
        Variant(size: "small", embedDim: 96, depths: [2, 2, 18, 2], heads: [3, 6, 12, 24], dropPathRate: 0.3),
        Variant(size: "base", embedDim: 128, depths: [2, 2, 18, 2], heads: [4, 8, 16, 32], dropPathRate: 0.5),
        Variant(size: "base", embedDim: 128, depths: [2, 2, 18, 2], heads: [4, 8, 16, 32], window: 12, imageSize: 384,
                dropPathRate: 0.5),
    ]

    public let patchEmbed: SwinPatchEmbed
    public let layers_: [SwinStage]
    public let norm: LayerNorm
    public let head: LinearHead

    /// - Parameters:
    ///   - imageSize: the input size windows are planned for (timm's `img_size`).
    ///   - dropPathRate: stochastic depth, linear over all blocks from 0 (timm's default 0.1).
    ///   - attnDropRate: dropout on the attention probabilities in training (timm's `attn_drop_rate`).
    public init(embedDim: Int, depths: [Int], heads: [Int], patchSize: Int = 4, window: Int = 7, imageSize: Int = 224,
                mlpRatio: Int = 4, classCount: Int = 1000, dropRate: Float = 0, dropPathRate: Float = 0.1,
                attnDropRate: Float = 0, inChannels: Int = 3) {
        patchEmbed = SwinPatchEmbed(inChannels, embedDim, patchSize: patchSize, eps: 1e-5)
        let total = depths.reduce(0, +)
        var index = 0, dim = embedDim, resolution = (imageSize / patchSize, imageSize / patchSize)
        var stages: [SwinStage] = []
        for (s, (depth, h)) in zip(depths, heads).enumerated() {
            let out = s == 0 ? embedDim : 2 * dim
            if s > 0 { resolution = ((resolution.0 + 1) / 2, (resolution.1 + 1) / 2) }
            let rates = (0..<depth).map { i in total > 1 ? dropPathRate * Float(index + i) / Float(total - 1) : 0 }
            stages.append(SwinStage(dim, out, depth: depth, heads: h, resolution: resolution, window: window,
                                    mlpRatio: mlpRatio, downsample: s > 0, dropPathRates: rates, attnDrop: attnDropRate))
            index += depth
            dim = out
        }
        layers_ = stages
        norm = LayerNorm(dim, eps: 1e-5)
        head = LinearHead(dim, classCount: classCount, dropRate: dropRate)
        super.init()
        // timm's initialisation: linear weights and the bias tables N(0, 0.02²).
        for (_, m) in namedModules() {
            if let l = m as? Linear { Init.normal(l.weight, std: 0.02) }
            if let a = m as? WindowAttention { Init.normal(a.relativePositionBiasTable, std: 0.02) }
        }
    }

    /// timm names the stages `layers`; the property is `layers_` because `layers` is ``LayeredModel``'s.
    public override var namedChildren: [(String, Module)] {
        super.namedChildren.map { ($0.0.hasPrefix("layers_.") ? "layers." + $0.0.dropFirst(8) : $0.0, $0.1) }
    }

    public override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    /// patch_embed, layers.0 … layers.3, norm, head (pool, fc).
    public var layers: [ModelLayer] {
        [ModelLayer("patch_embed", patchEmbed)] + layers_.enumerated().map { ModelLayer("layers.\($0.offset)", $0.element) }
            + [ModelLayer("norm", norm), ModelLayer("head", head)]
    }
}

/// timm's `PatchEmbed` as Swin uses it: NHWC output (no flattening, any multiple of the patch size), then LayerNorm.
public final class SwinPatchEmbed: Module {
    public let proj: Conv2d
    public let norm: LayerNorm

    public init(_ inChannels: Int, _ dim: Int, patchSize: Int, eps: Float) {
        proj = Conv2d(inChannels, dim, kernelSize: patchSize, stride: patchSize, padding: .explicit(Padding2D(0)), bias: true)
        norm = LayerNorm(dim, eps: eps)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { norm(proj(x)) }
}

/// Average pooling over the spatial dimensions, dropout and `fc` (timm's `ClassifierHead`).
public final class LinearHead: Module {
    public let fc: Linear
    let drop: Dropout

    public init(_ channels: Int, classCount: Int, dropRate: Float = 0) {
        fc = Linear(channels, classCount)
        drop = Dropout(dropRate)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { fc(drop(Tensor.globalAvgPool(x, keepDims: false))) }
}

/// A Swin stage: patch merging (except in the first) and its blocks, alternately unshifted and shifted.
public final class SwinStage: Module {
    public let downsample: PatchMerging?
    public let blocks: Sequential

    init(_ dim: Int, _ out: Int, depth: Int, heads: Int, resolution: (Int, Int), window: Int, mlpRatio: Int,
         downsample: Bool, dropPathRates: [Float], attnDrop: Float) {
        self.downsample = downsample ? PatchMerging(dim, out) : nil
        blocks = Sequential((0..<depth).map {
            SwinBlock(out, heads: heads, resolution: resolution, window: window, shift: $0 % 2 == 1 ? window / 2 : 0,
                      mlpRatio: mlpRatio, dropPath: dropPathRates[$0], attnDrop: attnDrop)
        })
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { blocks(downsample?(x) ?? x) }
}

/// Each 2×2 neighbourhood's four vectors concatenated (odd maps zero-padded), LayerNorm, a linear map to `out`.
public final class PatchMerging: Module {
    public let norm: LayerNorm
    public let reduction: Linear

    public init(_ dim: Int, _ out: Int) {
        norm = LayerNorm(4 * dim, eps: 1e-5)
        reduction = Linear(4 * dim, out, bias: false)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let padded = h % 2 == 0 && w % 2 == 0 ? x : x.paddedSpatially(toHeight: h + h % 2, width: w + w % 2)
        let (h2, w2) = ((h + 1) / 2, (w + 1) / 2)
        // timm's order: (row 0, col 0), (row 1, col 0), (row 0, col 1), (row 1, col 1).
        let merged = padded.reshaped([b, h2, 2, w2, 2, c]).permuted([0, 1, 3, 4, 2, 5]).reshaped([b, h2, w2, 4 * c])
        return reduction(norm(merged))
    }
}

extension SwinTransformer {
    /// The `Arch` options of a Swin Transformer (PaddleClas keys; timm spellings accepted as aliases).
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `class_num` | 1000 | classifier outputs |
    /// | `drop_path_rate` | PaddleClas's: 0.2 (T), 0.3 (S), 0.5 (B); timm's is 0.1 | stochastic depth of the last block |
    /// | `drop_rate` | 0 | dropout before the classifier |
    /// | `attn_drop_rate` | 0 | dropout on the attention probabilities (training only) |
    /// | `img_size` | the variant's (224, 384) | the input size windows are planned for (others are padded to whole windows) |
    /// | `window_size` | the variant's (7, 12) | attention window side (changes the bias tables' shape) |
    /// | `in_chans` | 3 | input channels |
    public struct Options: Decodable, Sendable, Equatable {
        public var classNum = 1000
        public var dropPathRate: Float?
        public var dropRate: Float = 0
        public var attnDropRate: Float = 0
        /// nil: the variant's.
        public var imageSize: Int?
        public var window: Int?
        public var inChannels = 3

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case classNum = "class_num", dropPathRate = "drop_path_rate", dropRate = "drop_rate", imgSize = "img_size"
            case windowSize = "window_size", inChans = "in_chans", attnDropRate = "attn_drop_rate"
        }
        public static var knownKeys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] {
            paddleIgnoredArchKeys.merging([
                "use_fused_attn": "attention is always one fused operation on CPU",
                "use_fused_linear": "PaddlePaddle's fused GPU linear layers; linear layers here are one BLAS call",
            ]) { a, _ in a }
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            classNum = try c.decodePositive(.classNum, default: 1000)
            dropPathRate = try c.decodeRate(.dropPathRate)
            dropRate = try c.decodeRate(.dropRate) ?? 0
            attnDropRate = try c.decodeRate(.attnDropRate) ?? 0
            if c.contains(.imgSize) { imageSize = try c.decodePositive(.imgSize, default: 224) }
            if c.contains(.windowSize) { window = try c.decodePositive(.windowSize, default: 7) }
            inChannels = try c.decodePositive(.inChans, default: 3)
        }
    }

    /// Swin-T/S/B (patch 4, window 7, 224 px) and Swin-B (window 12, 384 px) under PaddleClas's names, timm's as
    /// aliases.
    public static func register(into models: inout ModelRegistry) {
        for v in variants {
            let timmName = v.timmName
            // timm's weights: -T trained on ImageNet-1k, the others fine-tuned from ImageNet-22k (384 px: full crop).
            let card = ModelCard(
                name: "SwinTransformer_" + timmName.dropFirst(5), aliases: [timmName], family: "SwinTransformer",
                summary: "Swin-\(v.size.prefix(1).uppercased()) (width \(v.embedDim), depths "
                    + v.depths.map(String.init).joined(separator: "-") + ", window \(v.window))",
                inputSize: v.imageSize, cropFraction: v.imageSize == 224 ? 0.9 : 1, classifier: ["head.fc."],
                featureChannels: 8 * v.embedDim, stages: ["layers.0", "layers.1", "layers.2", "layers.3"],
                weights: "timm/\(timmName).\(v.size == "tiny" ? "ms_in1k" : "ms_in22k_ft_in1k")")
            models.register(card, options: Options.self) {
                SwinTransformer(embedDim: v.embedDim, depths: v.depths, heads: v.heads, window: $0.window ?? v.window,
                                imageSize: $0.imageSize ?? v.imageSize, classCount: $0.classNum, dropRate: $0.dropRate,
                                dropPathRate: $0.dropPathRate ?? v.dropPathRate, attnDropRate: $0.attnDropRate,
                                inChannels: $0.inChannels)
            }
        }
    }
}

extension SwinTransformer.Options: ArchOptions {}
