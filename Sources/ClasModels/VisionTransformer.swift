import ClasConfig
import ClasNN
import ClasTensor

/// Vision Transformer (Dosovitskiy et al., https://arxiv.org/abs/2010.11929) and DeiT (Touvron et al.,
/// https://arxiv.org/abs/2012.12877) as timm builds them (`VisionTransformer`, `VisionTransformerDistilled`:
/// `patch_embed.proj`, `cls_token`, `dist_token`, `pos_embed`, `blocks.i.{norm1, attn.qkv, attn.proj, norm2,
/// mlp.fc1, mlp.fc2}`, `norm`, `head`, `head_dist`), so timm weights load directly.
///
/// Tokens: the patch grid row by row, after the class token (and the distillation token); learned position
/// embeddings are added to all of them. The classifier reads the class token after the final norm. A distilled
/// model has a second head on the distillation token; its output is the mean of the two heads (timm's and
/// PaddleClas's `forward`), and ``headLogits(_:)`` returns both for hard-label distillation.
public final class VisionTransformer: Module, LayeredModel {
    public let patchEmbed: PatchEmbed
    public let clsToken: Tensor
    public let distToken: Tensor?
    public let posEmbed: Tensor
    public let posDrop: Dropout
    public let blocks: Sequential
    public let norm: LayerNorm
    public let headDrop: Dropout
    public let head: Linear
    public let headDist: Linear?

    /// The shape of a variant.
    public struct Shape: Sendable {
        public var embedDim: Int, depth: Int, heads: Int
        public var mlpRatio: Double = 4
        public var qkvBias = true
        /// PaddleClas's `qk_scale` (nil: 1/√head width).
        public var qkScale: Float? = nil
        public var eps: Float = 1e-6
        public var distilled = false
    }

    /// - Parameters:
    ///   - shape: width, depth, heads and the block details.
    ///   - imageSize: (height, width) the position embedding is built for; inputs must have this size.
    ///   - patchSize: side of the square patches.
    ///   - layerScale: timm's `init_values` (per-channel residual scales), nil for none.
    ///   - attnDropRate: dropout on every block's attention probabilities in training (timm's `attn_drop_rate`).
    public init(shape: Shape, imageSize: (Int, Int) = (224, 224), patchSize: Int = 16, classCount: Int = 1000,
                inChannels: Int = 3, dropRate: Float = 0, dropPathRate: Float = 0, layerScale: Float? = nil,
                attnDropRate: Float = 0) {
        let d = shape.embedDim
        patchEmbed = PatchEmbed(imageSize: imageSize, patchSize: patchSize, inChannels: inChannels, embedDim: d)
        clsToken = Tensor(uninitializedShape: [1, 1, d])
        Init.normal(clsToken, std: 1e-6)
        distToken = shape.distilled ? Tensor(uninitializedShape: [1, 1, d]) : nil
        if let distToken { Init.normal(distToken, std: 0.02) }
        posEmbed = Tensor(uninitializedShape: [1, patchEmbed.patchCount + (shape.distilled ? 2 : 1), d])
        Init.normal(posEmbed, std: 0.02)
        for t in [clsToken, distToken, posEmbed] { t?.requiresGrad = true }
        posDrop = Dropout(dropRate)
        let settings = TransformerBlock.Settings(heads: shape.heads, mlpRatio: shape.mlpRatio, qkvBias: shape.qkvBias,
                                                 qkScale: shape.qkScale, eps: shape.eps, layerScale: layerScale,
                                                 dropRate: dropRate, attnDropRate: attnDropRate)
        blocks = Sequential((0..<shape.depth).map { i in
            TransformerBlock(dim: d, settings,
                             dropPath: shape.depth > 1 ? dropPathRate * Float(i) / Float(shape.depth - 1) : 0)
        })
        norm = LayerNorm(d, eps: shape.eps)
        headDrop = Dropout(dropRate)
        head = Linear(d, classCount)
        headDist = shape.distilled ? Linear(d, classCount) : nil
        super.init()
        // timm's `init_weights_vit_timm`: every linear layer N(0, 0.02) (truncated at ±2, i.e. not at all), bias 0.
        for (_, m) in namedModules() {
            guard let linear = m as? Linear else { continue }
            Init.normal(linear.weight, std: 0.02)
            linear.bias?.fill(0)
        }
    }

    public override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    /// The prefix tokens (class, distillation) before the patch tokens, plus the position embedding.
    func embedTokens(_ x: Tensor) -> Tensor {
        let zero = x.narrowed(axis: 1, start: 0, length: 1).affine(0, 0)  // [B, 1, D]: the tokens broadcast to the batch
        let prefix = [clsToken, distToken].compactMap { $0.map { zero + $0 } }
        return posDrop(Tensor.concat(prefix + [x], axis: 1) + posEmbed)
    }

    /// Token `i` of every sample: [B, D].
    static func token(_ x: Tensor, _ i: Int) -> Tensor {
        x.narrowed(axis: 1, start: i, length: 1).reshaped([x.shape[0], x.shape[2]])
    }

    /// The logits of the class head and, for a distilled model, of the distillation head (timm's training outputs).
    public func headLogits(_ x: Tensor) -> (Tensor, Tensor?) {
        let features = layers.dropLast().reduce(x) { $1.run($0) }
        return (head(headDrop(Self.token(features, 0))), headDist.map { $0(headDrop(Self.token(features, 1))) })
    }

    /// patch_embed, tokens (prefix tokens + position embedding), blocks.0 …, norm, head (class token; the mean of
    /// both heads for a distilled model).
    public var layers: [ModelLayer] {
        var steps = [ModelLayer("patch_embed", patchEmbed), ModelLayer("tokens") { [unowned self] in self.embedTokens($0) }]
        steps += blocks.layers.enumerated().map { ModelLayer("blocks.\($0.offset)", $0.element) }
        steps.append(ModelLayer("norm", norm))
        let (head, headDist, drop) = (head, headDist, headDrop)
        steps.append(ModelLayer("head", [head] + (headDist.map { [$0] } ?? [])) { x in
            let logits = head(drop(Self.token(x, 0)))
            guard let headDist else { return logits }
            return (logits + headDist(drop(Self.token(x, 1)))) * 0.5
        })
        return steps
    }
}

extension VisionTransformer {
    /// The `Arch` options of a ViT/DeiT (PaddleClas keys; timm spellings accepted as aliases).
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `class_num` / `num_classes` | 1000 | classifier outputs |
    /// | `img_size` | the variant's (224) | input size, a number or [height, width]; sets the position embedding |
    /// | `patch_size` | the variant's (16) | patch side; must divide the image size |
    /// | `in_chans` / `input_image_channel` | 3 | input channels |
    /// | `drop_rate` | 0 | dropout after the position embedding, in the blocks and before the head |
    /// | `drop_path_rate` | 0 | stochastic depth, rising linearly to this over the blocks |
    /// | `attn_drop_rate` | 0 | dropout on the attention probabilities (training only) |
    /// | `init_values` | none | layer scale on both residual branches (DeiT III) |
    public struct Options: Decodable, Sendable, Equatable {
        public var classNum = 1000
        public var imageSize: [Int]? = nil
        public var patchSize: Int? = nil
        public var inChannels = 3
        public var dropRate: Float = 0
        public var dropPathRate: Float = 0
        public var attnDropRate: Float = 0
        public var layerScale: Float? = nil

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case classNum = "class_num", numClasses = "num_classes", imgSize = "img_size", patchSize = "patch_size"
            case inChans = "in_chans", inputImageChannel = "input_image_channel", dropRate = "drop_rate"
            case attnDropRate = "attn_drop_rate", dropPathRate = "drop_path_rate", initValues = "init_values"
            case returnPatterns = "return_patterns", returnStages = "return_stages"
        }
        public static var knownKeys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] { paddleIgnoredArchKeys }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            classNum = try c.decodePositive(.classNum, or: .numClasses, default: 1000)
            if c.contains(.imgSize), !(try c.decodeNil(forKey: .imgSize)) {
                let size = (try? c.decode(Int.self, forKey: .imgSize)).map { [$0, $0] }
                    ?? (try? c.decode([Int].self, forKey: .imgSize))
                guard let size, size.count == 2, size.allSatisfy({ $0 > 0 && $0 <= 8192 }) else {
                    throw DecodingError.dataCorruptedError(forKey: .imgSize, in: c, debugDescription:
                        "expects a positive size or a [height, width] pair, e.g. 224 or [32, 32]")
                }
                imageSize = size
            }
            if c.contains(.patchSize) { patchSize = try c.decodePositive(.patchSize, default: 16) }
            inChannels = try c.decodePositive(.inChans, or: .inputImageChannel, default: 3)
            func rate(_ key: CodingKeys) throws -> Float {
                guard c.contains(key), !(try c.decodeNil(forKey: key)) else { return 0 }
                let r = try c.decode(Float.self, forKey: key)
                guard r >= 0 && r < 1 else {
                    throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "expects a rate in [0, 1), got \(r)")
                }
                return r
            }
            dropRate = try rate(.dropRate)
            dropPathRate = try rate(.dropPathRate)
            attnDropRate = try rate(.attnDropRate)
            layerScale = try c.decodeIfPresent(Float.self, forKey: .initValues)
            try c.refuseIntermediateOutputs(.returnPatterns, .returnStages)
        }
    }

    /// A registered variant: names, shape, native patch and the weights' preprocessing.
    struct Variant {
        let name: String, timm: String?, summary: String, shape: Shape, weights: String?
        var patch = 16
        var halfNormalised = false
    }

    static let variants: [Variant] = [
        Variant(name: "ViT_tiny_patch16_224", timm: "vit_tiny_patch16_224", summary: "ViT-Ti/16 (timm, AugReg)",
                shape: Shape(embedDim: 192, depth: 12, heads: 3), weights: "augreg_in21k_ft_in1k", halfNormalised: true),
        Variant(name: "vit_small_patch16_224", timm: nil, summary: "ViT-S/16 (timm, AugReg; not PaddleClas's ViT_small)",
                shape: Shape(embedDim: 384, depth: 12, heads: 6), weights: "augreg_in21k_ft_in1k", halfNormalised: true),
        // PaddleClas's ViT_small is the early timm "ViT-S": width 768, 8 blocks, MLP ×3, no qkv bias, scale 768^-0.5.
        Variant(name: "ViT_small_patch16_224", timm: nil, summary: "PaddleClas's ViT_small/16 (768 wide, 8 blocks)",
                shape: Shape(embedDim: 768, depth: 8, heads: 8, mlpRatio: 3, qkvBias: false,
                             qkScale: 1 / Float(768).squareRoot(), eps: 1e-5),
                weights: nil, halfNormalised: true),
        Variant(name: "DeiT_tiny_patch16_224", timm: "deit_tiny_patch16_224", summary: "DeiT-Ti/16",
                shape: Shape(embedDim: 192, depth: 12, heads: 3), weights: "fb_in1k"),
        Variant(name: "DeiT_small_patch16_224", timm: "deit_small_patch16_224", summary: "DeiT-S/16",
                shape: Shape(embedDim: 384, depth: 12, heads: 6), weights: "fb_in1k"),
        Variant(name: "DeiT_tiny_distilled_patch16_224", timm: "deit_tiny_distilled_patch16_224",
                summary: "DeiT-Ti/16 with a distillation token and head",
                shape: Shape(embedDim: 192, depth: 12, heads: 3, distilled: true), weights: "fb_in1k"),
        Variant(name: "DeiT_small_distilled_patch16_224", timm: "deit_small_distilled_patch16_224",
                summary: "DeiT-S/16 with a distillation token and head",
                shape: Shape(embedDim: 384, depth: 12, heads: 6, distilled: true), weights: "fb_in1k"),
    ]

    /// ViT and DeiT under PaddleClas's names with timm's as aliases (timm's `vit_small_patch16_224` is its own entry:
    /// PaddleClas's `ViT_small_patch16_224` is a different, wider network).
    public static func register(into models: inout ModelRegistry) {
        for v in variants {
            let timm = v.timm ?? v.name
            let half = v.halfNormalised
            var card = ModelCard(
                name: v.name, aliases: v.timm.map { [$0] } ?? [], family: v.name.hasPrefix("DeiT") ? "DeiT" : "ViT",
                summary: v.summary, cropFraction: half ? 0.9 : 0.875,
                mean: half ? [0.5, 0.5, 0.5] : ModelCard.imageNetMean, std: half ? [0.5, 0.5, 0.5] : ModelCard.imageNetStd,
                classifier: v.shape.distilled ? ["head.", "head_dist."] : ["head."], featureChannels: v.shape.embedDim,
                stages: (0..<v.shape.depth).map { "blocks.\($0)" }, weights: v.weights.map { "timm/\(timm).\($0)" })
            card.fixedInputSize = true
            models.register(card, options: Options.self) { o in
                let size = o.imageSize ?? [224, 224]
                let patch = o.patchSize ?? v.patch
                guard size[0] % patch == 0 && size[1] % patch == 0 else {
                    throw ModelError.invalidOption("\(v.name): img_size \(size) is not a multiple of patch_size \(patch)")
                }
                return VisionTransformer(shape: v.shape, imageSize: (size[0], size[1]), patchSize: patch,
                                         classCount: o.classNum, inChannels: o.inChannels, dropRate: o.dropRate,
                                         dropPathRate: o.dropPathRate, layerScale: o.layerScale,
                                         attnDropRate: o.attnDropRate)
            }
        }
    }
}

extension VisionTransformer.Options: ArchOptions {}
