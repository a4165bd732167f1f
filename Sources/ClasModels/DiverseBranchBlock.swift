import ClasNN
import ClasTensor

/// PaddleClas's `DiverseBranchBlock` (Ding et al., https://arxiv.org/abs/2103.13425; `ppcls/arch/backbone/base/dbb`),
/// a k×k conv+BN (ResNet's `layer_type: DiverseBranchBlock`) trained as four parallel branches summed, with
/// PaddleClas's names:
///
/// - `dbb_origin`: k×k conv (stride) + BN;
/// - `dbb_1x1`: 1×1 conv (stride) + BN;
/// - `dbb_avg`: 1×1 conv + BN, k×k average pool (stride) over the BN's output padded with BN(0), + BN (`avgbn`);
/// - `dbb_1x1_kxk`: `idconv1` (1×1 conv initialised to the identity) + BN padded with BN(0), k×k conv (stride) + BN.
///
/// Then ReLU (when built with one). Every BN starts at γ = 1 (PaddleClas's default; ``initGamma(_:)`` is its
/// `init_gamma`); convolutions start Normal(0, √(2 / fan_in)) (Paddle's `Conv2D` default). ``reparameterize()``
/// folds the branches into one k×k convolution with bias, `dbb_reparam`. Only `groups = 1`, as PaddleClas's ResNet
/// builds it.
public final class DiverseBranchBlock: Module, Reparameterizable {
    public private(set) var dbbReparam: Conv2d?
    public private(set) var dbbOrigin: ConvNorm?
    public private(set) var dbbAvg: DBBAvgBranch?
    public private(set) var dbb1x1: ConvNorm?
    public private(set) var dbb1x1Kxk: DBB1x1KxkBranch?
    public let kernel: Int
    public let stride: (Int, Int)
    /// ReLU after the sum (PaddleClas's `act="relu"`).
    public let relu: Bool

    /// - Parameters:
    ///   - kernel: k (odd; 3 in ResNet's basic blocks, 1 or 3 in its bottlenecks), padded (k − 1) / 2.
    ///   - stride: (vertical, horizontal).
    ///   - relu: ReLU after the sum.
    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: (Int, Int) = (1, 1), relu: Bool = false) {
        precondition(kernel % 2 == 1, "DiverseBranchBlock: odd kernels only, got \(kernel)")
        (self.kernel, self.stride, self.relu) = (kernel, stride, relu)
        dbbOrigin = ConvNorm(inChannels, outChannels, kernel: kernel, strides: stride)
        dbbAvg = DBBAvgBranch(inChannels, outChannels, kernel: kernel, stride: stride)
        dbb1x1 = ConvNorm(inChannels, outChannels, kernel: 1, strides: stride)
        dbb1x1Kxk = DBB1x1KxkBranch(inChannels, outChannels, kernel: kernel, stride: stride)
        super.init()
        for (_, m) in namedModules() {
            if let conv = m as? Conv2d {
                Init.normal(conv.weight, std: (2 / Float(conv.weight.count / conv.outChannels)).squareRoot())
            }
        }
    }

    /// PaddleClas's order: `dbb_origin`, `dbb_avg`, `dbb_1x1`, `dbb_1x1_kxk`, or `dbb_reparam` once fused.
    public override var namedChildren: [(String, Module)] {
        let children: [(String, Module?)] = [("dbb_reparam", dbbReparam), ("dbb_origin", dbbOrigin), ("dbb_avg", dbbAvg),
                                             ("dbb_1x1", dbb1x1), ("dbb_1x1_kxk", dbb1x1Kxk)]
        return children.compactMap { name, m in m.map { (name, $0) } }
    }

    public var isFused: Bool { dbbReparam != nil }

    public override func forward(_ x: Tensor) -> Tensor {
        var y: Tensor
        if let dbbReparam {
            y = dbbReparam(x)
        } else {
            guard let dbbOrigin, let dbb1x1, let dbbAvg, let dbb1x1Kxk else { preconditionFailure("DBB without branches") }
            y = dbbOrigin(x) + dbb1x1(x) + dbbAvg(x) + dbb1x1Kxk(x)
        }
        return relu ? y.relu() : y
    }

    /// Sets the γ of each branch's last BN (`dbb_origin.bn`, `dbb_1x1.bn`, `dbb_avg.avgbn`, `dbb_1x1_kxk.bn2`):
    /// PaddleClas's `init_gamma`; 0 starts the block's output at zero (ResNet's `zero_init_last`).
    public func initGamma(_ value: Float) {
        for bn in [dbbOrigin?.bn, dbb1x1?.bn, dbbAvg?.avgbn, dbb1x1Kxk?.bn2] { bn?.weight.fill(value) }
    }

    public var reparameterizedParameterCount: Int {
        if let dbbReparam { return dbbReparam.parameterCount }
        guard let conv = dbbOrigin?.conv else { return parameterCount }
        return conv.weight.count + conv.outChannels
    }

    /// Replaces the branches by `dbb_reparam`, one k×k convolution with bias (PaddleClas's `re_parameterize`): each
    /// BN folded into its conv, the 1×1 kernel centred, the 1×1 → k×k pairs multiplied (their BN(0) padding makes
    /// this exact at the borders), the average pool as a uniform 1/k² kernel. Idempotent.
    public func reparameterize() {
        guard dbbReparam == nil, let dbbOrigin, let dbb1x1, let dbbAvg, let dbb1x1Kxk else { return }
        let (cout, k, cin) = (dbbOrigin.conv.outChannels, kernel, dbbOrigin.conv.inChannels)
        var weight = [Float](repeating: 0, count: cout * k * k * cin)
        var bias = [Float](repeating: 0, count: cout)
        // dbb_origin and dbb_1x1 (centred).
        for (branch, side) in [(dbbOrigin, k), (dbb1x1, 1)] {
            let (scale, shift) = branch.bn.foldedScaleShift()
            let w = branch.conv.weight, offset = (k - side) / 2
            for o in 0..<cout {
                for i in 0..<side {
                    for j in 0..<side {
                        let to = ((o * k + i + offset) * k + j + offset) * cin, from = ((o * side + i) * side + j) * cin
                        for c in 0..<cin { weight[to + c] += w.data[from + c] * scale[o] }
                    }
                }
                bias[o] += shift[o]
            }
        }
        // dbb_1x1_kxk: K[o, i, j, c] = Σ_m K2[o, i, j, m]·K1[m, c], bias Σ_{i,j,m} K2[o, i, j, m]·b1[m] + b2[o].
        let (first, b1) = dbb1x1Kxk.foldedFirstKernel()
        let (s2, b2) = dbb1x1Kxk.bn2.foldedScaleShift()
        let mid = b1.count
        var second = dbb1x1Kxk.conv2.weight.scalars
        for o in 0..<cout { for e in 0..<(k * k * mid) { second[o * k * k * mid + e] *= s2[o] } }
        let merged = GradMode.withoutGrad {
            Tensor.matmul(Tensor(shape: [cout * k * k, mid], values: second), Tensor(shape: [mid, cin], values: first))
        }.scalars
        for e in weight.indices { weight[e] += merged[e] }
        for o in 0..<cout {
            var sum = b2[o]
            for e in 0..<(k * k) { for m in 0..<mid { sum += second[(o * k * k + e) * mid + m] * b1[m] } }
            bias[o] += sum
        }
        // dbb_avg: conv+BN (K1, b1), then a uniform 1/k² kernel per channel and avgbn (s, shift).
        let (avgScale, avgShift) = dbbAvg.avgbn.foldedScaleShift()
        let (s1, shift1) = dbbAvg.bn.bn.foldedScaleShift()
        let wa = dbbAvg.conv.weight
        for o in 0..<cout {
            let factor = avgScale[o] * s1[o] / Float(k * k)
            for e in 0..<(k * k) { for c in 0..<cin { weight[(o * k * k + e) * cin + c] += wa.data[o * cin + c] * factor } }
            bias[o] += avgScale[o] * shift1[o] + avgShift[o]
        }
        // Build the fused conv without consuming the initialisation stream.
        let saved = Randomness.initialization
        let fused = Conv2d(cin, cout, kernelSize: k, strides: stride, bias: true)
        Randomness.initialization = saved
        fused.weight.copy(from: Tensor(shape: fused.weight.shape, values: weight))
        fused.bias?.copy(from: Tensor(shape: [cout], values: bias))
        fused.train(isTraining)
        dbbReparam = fused
        (self.dbbOrigin, self.dbb1x1, self.dbbAvg, self.dbb1x1Kxk) = (nil, nil, nil, nil)
    }
}

/// PaddleClas's `BNAndPad`: a BN whose output is padded by `padding` pixels with BN(0) = β − γ·μ/√(σ² + ε) (running
/// statistics, so the border is what the BN makes of a zero-padded input). The consumer applies the padding: it
/// pools or convolves `bn(x) − padValue` with zero padding and adds back what `padValue` contributes.
///
/// PaddleClas builds this BN with `momentum=0.1` in Paddle's convention (running = 0.1·running + 0.9·batch), unlike
/// its other BNs (0.9); kept here as momentum 0.9 in SwiftClas's PyTorch convention.
public final class BNAndPad: Module {
    public let bn: BatchNorm
    public let padding: Int

    public init(_ channels: Int, padding: Int) {
        bn = BatchNorm(channels, momentum: 0.9)
        self.padding = padding
        super.init()
    }

    /// The unpadded normalised input.
    public override func forward(_ x: Tensor) -> Tensor { bn(x) }

    /// BN(0) per channel, differentiable in γ and β.
    public var padValue: Tensor {
        let c = bn.channels
        let ratio = Tensor(shape: [c], values: (0..<c).map { -bn.runningMean.data[$0] / (bn.runningVar.data[$0] + bn.eps).squareRoot() })
        return bn.bias + bn.weight * ratio
    }
}

/// `dbb_avg`: 1×1 `conv`, `bn` (``BNAndPad``), k×k average pool (stride, over the padded map), `avgbn`.
public final class DBBAvgBranch: Module {
    public let conv: Conv2d
    public let bn: BNAndPad
    public let avgbn: BatchNorm
    public let kernel: Int
    public let stride: (Int, Int)

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: (Int, Int)) {
        conv = Conv2d(inChannels, outChannels, kernelSize: 1)
        bn = BNAndPad(outChannels, padding: (kernel - 1) / 2)
        avgbn = BatchNorm(outChannels)
        (self.kernel, self.stride) = (kernel, stride)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let y = bn(conv(x))
        let pooled: Tensor
        if bn.padding > 0 {
            // Pooling the map padded with v equals pooling (y − v) padded with zeros, plus v.
            let v = bn.padValue
            pooled = Tensor.avgPool2d(y - v, kernel: (kernel, kernel), stride: stride, padding: Padding2D(bn.padding)) + v
        } else if kernel > 1 || stride != (1, 1) {
            pooled = Tensor.avgPool2d(y, kernel: (kernel, kernel), stride: stride)
        } else {
            pooled = y
        }
        return avgbn(pooled)
    }
}

/// `dbb_1x1_kxk`: `idconv1` (``IdentityBasedConv1x1``), `bn1` (``BNAndPad``), k×k `conv2` (stride, over the padded
/// map), `bn2`.
public final class DBB1x1KxkBranch: Module {
    public let idconv1: IdentityBasedConv1x1
    public let bn1: BNAndPad
    public let conv2: Conv2d
    public let bn2: BatchNorm

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: (Int, Int)) {
        idconv1 = IdentityBasedConv1x1(inChannels)
        bn1 = BNAndPad(inChannels, padding: (kernel - 1) / 2)
        conv2 = Conv2d(inChannels, outChannels, kernelSize: kernel, strides: stride)
        bn2 = BatchNorm(outChannels)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let z = bn1(idconv1(x))
        guard bn1.padding > 0 else { return bn2(conv2(z)) }
        // conv2 over z padded with v = conv2 over (z − v) zero-padded, plus Σ_{i,j,m} W[o, i, j, m]·v[m].
        let v = bn1.padValue
        let w = conv2.weight
        let shift = Tensor.matmul(w.sum(axes: [1, 2]), v.reshaped([v.count, 1])).reshaped([w.shape[0]])
        return bn2(conv2(z - v) + shift)
    }

    /// The first kernel with `bn1` folded in, [mid, in] row-major, and its bias [mid].
    func foldedFirstKernel() -> (kernel: [Float], bias: [Float]) {
        let (scale, shift) = bn1.bn.foldedScaleShift()
        var k = idconv1.actualKernel
        let c = shift.count
        for m in 0..<c { for i in 0..<c { k[m * c + i] *= scale[m] } }
        return (k, shift)
    }
}

/// PaddleClas's `IdentityBasedConv1x1`: a square 1×1 convolution whose kernel is `weight` + identity, with `weight`
/// starting at zero (so the branch starts as a BN of its input).
public final class IdentityBasedConv1x1: Module {
    /// [C, 1, 1, C] (OHWI).
    public let weight: Tensor

    public init(_ channels: Int) {
        weight = Tensor.zeros([channels, 1, 1, channels], requiresGrad: true)
        super.init()
    }

    /// x + conv1×1(x, weight), which is the convolution with `weight` + identity.
    public override func forward(_ x: Tensor) -> Tensor {
        let y = Tensor.conv2d(x, weight: weight, bias: nil)
        MACCounter.add(y.count * weight.shape[3])
        return x + y
    }

    /// `weight` + identity, [C, C] row-major (PaddleClas's `get_actual_kernel`).
    public var actualKernel: [Float] {
        var k = weight.scalars
        let c = weight.shape[0]
        for i in 0..<c { k[i * c + i] += 1 }
        return k
    }
}

/// A ``ResNet`` whose blocks' convolutions are ``DiverseBranchBlock``s (PaddleClas's `layer_type:
/// DiverseBranchBlock`, e.g. `ResNet18_dbb`); the stem and the shortcuts stay conv+BN, as in PaddleClas.
/// ``reparameterize()`` (run by export, `tools infer` and `tools eval`) folds every DBB into one convolution, which
/// leaves ResNet's structure with conv+bias in place of the blocks' conv+BN pairs.
public final class DiverseBranchResNet: ResNet, Reparameterizable {
    /// The parameters as ``ResNet/init(variant:classCount:dropRate:dropPathRate:zeroInitLast:inChannels:strides:firstShortConv:)``;
    /// `zeroInitLast` (ResNet's default) sets γ = 0 in the four branches' last BNs of each residual branch's last DBB
    /// (``DiverseBranchBlock/initGamma(_:)``); false keeps PaddleClas's γ = 1 everywhere.
    public init(variant: Variant, classCount: Int = 1000, dropRate: Float = 0, dropPathRate: Float = 0,
                zeroInitLast: Bool = true, inChannels: Int = 3,
                strides: [(Int, Int)] = Array(repeating: (2, 2), count: 5), firstShortConv: Bool = false) {
        super.init(variant: variant, classCount: classCount, dropRate: dropRate, dropPathRate: dropPathRate,
                   zeroInitLast: zeroInitLast, inChannels: inChannels, strides: strides, firstShortConv: firstShortConv,
                   diverseBranches: true)
    }

    /// Every DBB.
    public var diverseBranchBlocks: [DiverseBranchBlock] { namedModules().compactMap { $0.1 as? DiverseBranchBlock } }

    public func reparameterize() {
        for block in diverseBranchBlocks { block.reparameterize() }
    }

    public var reparameterizedParameterCount: Int {
        diverseBranchBlocks.reduce(parameterCount) { $0 - $1.parameterCount + $1.reparameterizedParameterCount }
    }
}
