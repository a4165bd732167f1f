import ClasNN
import ClasTensor

/// Image to patch tokens (timm's `PatchEmbed`): a `patch × patch` convolution with stride `patch` (`proj`), the
/// grid flattened row by row into `[B, gh·gw, D]` (in NHWC the flatten is a free reshape).
public final class PatchEmbed: Module {
    public let proj: Conv2d
    /// The input size the position embedding was built for, (height, width).
    public let imageSize: (Int, Int)
    public let patchSize: Int

    public init(imageSize: (Int, Int), patchSize: Int, inChannels: Int, embedDim: Int) {
        precondition(imageSize.0 % patchSize == 0 && imageSize.1 % patchSize == 0,
                     "image size \(imageSize) is not a multiple of the patch size \(patchSize)")
        proj = Conv2d(inChannels, embedDim, kernelSize: patchSize, stride: patchSize, padding: .explicit(.zero), bias: true)
        Init.uniform(proj.weight, bound: 1 / Float(patchSize * patchSize * inChannels).squareRoot())  // PyTorch's default
        (self.imageSize, self.patchSize) = (imageSize, patchSize)
        super.init()
    }

    /// Number of patch tokens.
    public var patchCount: Int { (imageSize.0 / patchSize) * (imageSize.1 / patchSize) }

    public override func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == imageSize.0 && x.shape[2] == imageSize.1,
                     "this model takes \(imageSize.0)×\(imageSize.1) images (Arch.img_size), got \(x.shape[1])×\(x.shape[2])")
        let y = proj(x)
        return y.reshaped([y.shape[0], y.shape[1] * y.shape[2], y.shape[3]])
    }
}

/// Multi-head self-attention (timm's `Attention`): `qkv` projects to queries, keys and values at once, the fused
/// ``ClasTensor/Tensor/multiHeadAttention(_:heads:scale:bias:dropout:seed:)`` attends, `proj` mixes the heads.
public final class Attention: Module {
    public let qkv: Linear
    public let proj: Linear
    public let heads: Int
    public let scale: Float
    /// Dropout on the attention probabilities in training (timm's `attn_drop`).
    public var attnDrop: Float
    public let projDrop: Dropout

    /// - Parameters:
    ///   - scale: PaddleClas's `qk_scale`; `1/√(dim/heads)` by default.
    ///   - attnDrop: dropout probability on the attention weights (training only).
    public init(dim: Int, heads: Int, qkvBias: Bool = true, scale: Float? = nil, attnDrop: Float = 0,
                projDrop: Float = 0) {
        precondition(attnDrop >= 0 && attnDrop < 1, "attention dropout \(attnDrop) must be in [0, 1)")
        precondition(dim % heads == 0, "attention width \(dim) is not divisible by \(heads) heads")
        qkv = Linear(dim, 3 * dim, bias: qkvBias)
        proj = Linear(dim, dim)
        self.heads = heads
        self.scale = scale ?? 1 / Float(dim / heads).squareRoot()
        self.attnDrop = attnDrop
        self.projDrop = Dropout(projDrop)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        // MACs count the linear layers only (timm's and the fixture script's convention), not Q·Kᵀ and P·V.
        let (p, seed) = attentionDropout(attnDrop, training: isTraining)
        let q = qkv(x)
        let attended = Profiler.measure("attention forward") {
            Tensor.multiHeadAttention(q, heads: heads, scale: scale, dropout: p, seed: seed)
        }
        return projDrop(proj(attended))
    }
}

/// The attention-dropout probability and mask seed of one attention call: `(p, a draw from the training stream)` in
/// training with p > 0, else `(0, 0)` (no draw, so models without attention dropout keep their random streams).
func attentionDropout(_ p: Float, training: Bool) -> (Float, UInt64) {
    training && p > 0 ? (p, Randomness.training.next()) : (0, 0)
}

/// Two linear layers with GELU between (timm's `Mlp`: `fc1`, `fc2`).
public final class Mlp: Module {
    public let fc1: Linear
    public let fc2: Linear
    public let activation: Activation
    public let drop: Dropout

    public init(_ dim: Int, hidden: Int, activation: Activation = .gelu, drop: Float = 0) {
        fc1 = Linear(dim, hidden)
        fc2 = Linear(hidden, dim)
        self.activation = activation
        self.drop = Dropout(drop)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { drop(fc2(drop(fc1(x).activated(activation)))) }
}

/// Per-channel learned scale of a residual branch (timm's `LayerScale`, `gamma` initialised to `initValue`; CaiT,
/// DeiT III, ConvNeXt).
public final class LayerScale: Module {
    public let gamma: Tensor

    public init(_ dim: Int, initValue: Float) {
        gamma = Tensor(shape: [dim], repeating: initValue, requiresGrad: true)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { x * gamma }
}

/// A pre-norm transformer block (timm's `Block`): x + drop_path(ls1(attn(norm1(x)))), then the same with the MLP.
public final class TransformerBlock: Module {
    public let norm1: LayerNorm
    public let attn: Attention
    public let ls1: LayerScale?
    public let norm2: LayerNorm
    public let mlp: Mlp
    public let ls2: LayerScale?
    public let dropPath: DropPath

    public struct Settings: Sendable {
        public var heads: Int
        public var mlpRatio: Double = 4
        public var qkvBias = true
        public var qkScale: Float? = nil
        public var eps: Float = 1e-6
        public var layerScale: Float? = nil
        public var dropRate: Float = 0
        public var attnDropRate: Float = 0
    }

    public init(dim: Int, _ s: Settings, dropPath: Float) {
        norm1 = LayerNorm(dim, eps: s.eps)
        attn = Attention(dim: dim, heads: s.heads, qkvBias: s.qkvBias, scale: s.qkScale, attnDrop: s.attnDropRate,
                         projDrop: s.dropRate)
        ls1 = s.layerScale.map { LayerScale(dim, initValue: $0) }
        norm2 = LayerNorm(dim, eps: s.eps)
        mlp = Mlp(dim, hidden: Int(Double(dim) * s.mlpRatio), drop: s.dropRate)
        ls2 = s.layerScale.map { LayerScale(dim, initValue: $0) }
        self.dropPath = DropPath(dropPath)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var a = attn(norm1(x))
        if let ls1 { a = ls1(a) }
        let y = x + dropPath(a)
        return y + dropPath(normMlpBranch(y, norm: norm2, mlp: mlp, scale: ls2?.gamma))
    }
}
