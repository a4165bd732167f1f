import ClasNN
import ClasTensor

/// ResNet (He et al., https://arxiv.org/abs/1512.03385) and its "D" variant (He et al., Bag of Tricks,
/// https://arxiv.org/abs/1812.01187; PaddleClas's `_vd`) with timm's structure and names (`conv1`, `bn1`,
/// `layer1.0.conv1`, `layer2.0.downsample.0`, `fc`; timm `resnet18` … and `resnet50d`), so timm weights load directly.
///
/// The D variant replaces the 7×7 stem by three 3×3 convolutions (32, 32, 64 channels) and the strided 1×1 shortcut
/// by a 2×2 average pool followed by a 1×1 convolution. With PaddleClas's `layer_type: DiverseBranchBlock` the
/// blocks' convolutions are ``DiverseBranchBlock``s (a ``DiverseBranchResNet``).
public class ResNet: Module, LayeredModel {
    /// Residual block kind.
    public enum BlockKind: String, Sendable { case basic, bottleneck }

    /// One row of the variant table.
    public struct Variant: Sendable, Equatable {
        /// PaddleClas name (`ResNet50_vd`).
        public let name: String
        /// timm name (`resnet50d`); nil for PaddleClas's ResNet200_vd, whose depths differ from timm's resnet200d.
        public let timmName: String?
        public let block: BlockKind
        /// Blocks in layer1 … layer4.
        public let depths: [Int]
        /// Deep 3×3 stem and average-pool shortcuts (the D / `_vd` variant).
        public let deep: Bool
    }

    /// ResNet18/34/50/101/152 and their D variants, and PaddleClas's ResNet200_vd.
    public static let variants: [Variant] = [
        Variant(name: "ResNet18", timmName: "resnet18", block: .basic, depths: [2, 2, 2, 2], deep: false),
        Variant(name: "ResNet18_vd", timmName: "resnet18d", block: .basic, depths: [2, 2, 2, 2], deep: true),
        Variant(name: "ResNet34", timmName: "resnet34", block: .basic, depths: [3, 4, 6, 3], deep: false),
        Variant(name: "ResNet34_vd", timmName: "resnet34d", block: .basic, depths: [3, 4, 6, 3], deep: true),
        Variant(name: "ResNet50", timmName: "resnet50", block: .bottleneck, depths: [3, 4, 6, 3], deep: false),
        Variant(name: "ResNet50_vd", timmName: "resnet50d", block: .bottleneck, depths: [3, 4, 6, 3], deep: true),
        Variant(name: "ResNet101", timmName: "resnet101", block: .bottleneck, depths: [3, 4, 23, 3], deep: false),
        Variant(name: "ResNet101_vd", timmName: "resnet101d", block: .bottleneck, depths: [3, 4, 23, 3], deep: true),
        Variant(name: "ResNet152", timmName: "resnet152", block: .bottleneck, depths: [3, 8, 36, 3], deep: false),
        Variant(name: "ResNet152_vd", timmName: "resnet152d", block: .bottleneck, depths: [3, 8, 36, 3], deep: true),
        // PaddleClas's depths; timm's resnet200d has [3, 24, 36, 3].
        Variant(name: "ResNet200_vd", timmName: nil, block: .bottleneck, depths: [3, 12, 48, 3], deep: true),
    ]

    /// The variant with a PaddleClas or timm name.
    public static func variant(_ name: String) throws -> Variant {
        guard let v = variants.first(where: { $0.name == name || $0.timmName == name }) else {
            throw ModelError.invalidOption("no ResNet variant '\(name)'")
        }
        return v
    }

    /// A 7×7 convolution, or for the D variant `Sequential(conv, bn+relu, ·, conv, bn+relu, ·, conv)` whose indices
    /// match timm's `conv1.0/1/3/4/6` (the ReLUs are fused into the batch norms; `Identity` keeps their slots).
    public let conv1: Module
    public let bn1: BatchNorm
    public let layer1: Sequential
    public let layer2: Sequential
    public let layer3: Sequential
    public let layer4: Sequential
    public let dropout: Dropout
    public let fc: Linear
    /// The max pool's (vertical, horizontal) stride (PaddleClas's `stride_list[1]`).
    public let maxPoolStride: (Int, Int)

    /// - Parameters:
    ///   - variant: a row of ``variants``.
    ///   - classCount: classifier outputs.
    ///   - dropRate: dropout before `fc` (timm: 0).
    ///   - dropPathRate: stochastic depth, rising linearly to this value over the blocks.
    ///   - zeroInitLast: start each residual branch's last BN at γ = 0 (timm's default).
    ///   - inChannels: input image channels.
    ///   - strides: PaddleClas's `stride_list`, each (vertical, horizontal): the stem convolution, the max pool, and
    ///     the first blocks of layer2 … layer4 (layer1 never strides).
    ///   - firstShortConv: give layer1's first block a 1×1 conv+BN shortcut even when its widths match (PaddleClas's
    ///     `use_first_short_conv`; timm has none).
    public convenience init(variant: Variant, classCount: Int = 1000, dropRate: Float = 0, dropPathRate: Float = 0,
                            zeroInitLast: Bool = true, inChannels: Int = 3,
                            strides: [(Int, Int)] = Array(repeating: (2, 2), count: 5), firstShortConv: Bool = false) {
        self.init(variant: variant, classCount: classCount, dropRate: dropRate, dropPathRate: dropPathRate,
                  zeroInitLast: zeroInitLast, inChannels: inChannels, strides: strides, firstShortConv: firstShortConv,
                  diverseBranches: false)
    }

    /// The blocks' convolutions are conv+BN pairs, or with `diverseBranches` ``DiverseBranchBlock``s.
    init(variant: Variant, classCount: Int, dropRate: Float, dropPathRate: Float, zeroInitLast: Bool, inChannels: Int,
         strides: [(Int, Int)], firstShortConv: Bool, diverseBranches: Bool) {
        precondition(strides.count == 5, "ResNet: five strides")
        let stemWidth = 64
        if variant.deep {
            conv1 = Sequential(
                Conv2d(inChannels, 32, kernelSize: 3, strides: strides[0]), BatchNorm(32, activation: .relu), Identity(),
                Conv2d(32, 32, kernelSize: 3), BatchNorm(32, activation: .relu), Identity(),
                Conv2d(32, stemWidth, kernelSize: 3))
        } else {
            conv1 = Conv2d(inChannels, stemWidth, kernelSize: 7, strides: strides[0])
        }
        maxPoolStride = strides[1]
        bn1 = BatchNorm(stemWidth, activation: .relu)
        let expansion = variant.block == .basic ? 1 : 4
        let total = variant.depths.reduce(0, +)
        var inplanes = stemWidth
        var index = 0
        var layers: [Sequential] = []
        for (s, depth) in variant.depths.enumerated() {
            let planes = 64 << s
            var blocks: [Module] = []
            for b in 0..<depth {
                let stride = s > 0 && b == 0 ? strides[s + 1] : (1, 1)
                var downsample: Sequential?
                if b == 0 && (s > 0 || inplanes != planes * expansion || firstShortConv) {
                    let conv = Conv2d(inplanes, planes * expansion, kernelSize: 1, strides: variant.deep ? (1, 1) : stride)
                    let bn = BatchNorm(planes * expansion)
                    // PaddleClas pools every vd shortcut after layer1, even at stride 1 (timm never strides 1 there).
                    downsample = variant.deep
                        ? Sequential(s > 0 ? AvgPoolCeil(stride: stride) : Identity(), conv, bn) : Sequential(conv, bn)
                }
                let dp = total > 1 ? dropPathRate * Float(index) / Float(total - 1) : 0
                switch variant.block {
                case .basic:
                    blocks.append(BasicBlock(inplanes, planes, stride: stride, downsample: downsample, dropPath: dp,
                                             diverseBranches: diverseBranches))
                case .bottleneck:
                    blocks.append(Bottleneck(inplanes, planes, stride: stride, downsample: downsample, dropPath: dp,
                                             diverseBranches: diverseBranches))
                }
                inplanes = planes * expansion
                index += 1
            }
            layers.append(Sequential(blocks))
        }
        (layer1, layer2, layer3, layer4) = (layers[0], layers[1], layers[2], layers[3])
        dropout = Dropout(dropRate)
        fc = Linear(inplanes, classCount)
        // PyTorch's default Linear initialisation (timm keeps it for ResNet): U(±1/√in) for weight and bias.
        let bound = 1 / Float(inplanes).squareRoot()
        Init.uniform(fc.weight, bound: bound)
        if let b = fc.bias { Init.uniform(b, bound: bound) }
        super.init()
        if zeroInitLast {
            for (_, m) in namedModules() {
                if let block = m as? BasicBlock { zeroInit(block.conv2, block.bn2) }
                if let block = m as? Bottleneck { zeroInit(block.conv3, block.bn3) }
            }
        }
        func zeroInit(_ conv: Module, _ bn: BatchNorm?) {
            bn?.weight.fill(0)
            (conv as? DiverseBranchBlock)?.initGamma(0)
        }
    }

    /// Width of the pooled features.
    public var featureCount: Int { fc.inFeatures }

    /// Features before pooling: [N, H/32, W/32, featureCount].
    public func forwardFeatures(_ x: Tensor) -> Tensor {
        let stem = Tensor.maxPool2d(bn1(conv1(x)), kernel: (3, 3), stride: maxPoolStride, padding: Padding2D(1))
        return layer4(layer3(layer2(layer1(stem))))
    }

    public override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    /// conv1, bn1, maxpool, layer1 … layer4, global_pool, fc (after dropout).
    public var layers: [ModelLayer] {
        [ModelLayer("conv1", conv1), ModelLayer("bn1", bn1),
         ModelLayer("maxpool") { [maxPoolStride] in
             Tensor.maxPool2d($0, kernel: (3, 3), stride: maxPoolStride, padding: Padding2D(1)) },
         ModelLayer("layer1", layer1), ModelLayer("layer2", layer2), ModelLayer("layer3", layer3),
         ModelLayer("layer4", layer4),
         ModelLayer("global_pool") { Tensor.globalAvgPool($0, keepDims: false) },
         ModelLayer("fc", [fc]) { [dropout, fc] in fc(dropout($0)) }]
    }
}

/// timm's `BasicBlock`: 3×3 conv (stride), BN, ReLU, 3×3 conv, BN, + shortcut, ReLU.
///
/// Each convolution is a `Conv2d` followed by its BN, or with `diverseBranches` a ``DiverseBranchBlock`` that holds
/// its BNs and ReLU (the `bn` slot is then nil).
public final class BasicBlock: Module {
    public let conv1: Module
    public let bn1: BatchNorm?
    public let conv2: Module
    public let bn2: BatchNorm?
    public let downsample: Sequential?
    public let dropPath: DropPath?

    public init(_ inplanes: Int, _ planes: Int, stride: (Int, Int), downsample: Sequential?, dropPath: Float,
                diverseBranches: Bool = false) {
        (conv1, bn1) = convUnit(inplanes, planes, kernel: 3, stride: stride, relu: true, diverseBranches: diverseBranches)
        (conv2, bn2) = convUnit(planes, planes, kernel: 3, stride: (1, 1), relu: false, diverseBranches: diverseBranches)
        self.downsample = downsample
        self.dropPath = dropPath > 0 ? DropPath(dropPath) : nil
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var y = applyUnit(conv2, bn2, applyUnit(conv1, bn1, x))
        if let dropPath { y = dropPath(y) }
        return (y + (downsample?(x) ?? x)).relu()
    }
}

/// timm's `Bottleneck` (ResNet v1.5, stride on the 3×3): 1×1, 3×3 (stride), 1×1 to 4× width, + shortcut, ReLU.
/// Convolutions as in ``BasicBlock`` (conv + BN, or ``DiverseBranchBlock``s).
public final class Bottleneck: Module {
    public let conv1: Module
    public let bn1: BatchNorm?
    public let conv2: Module
    public let bn2: BatchNorm?
    public let conv3: Module
    public let bn3: BatchNorm?
    public let downsample: Sequential?
    public let dropPath: DropPath?

    public init(_ inplanes: Int, _ planes: Int, stride: (Int, Int), downsample: Sequential?, dropPath: Float,
                diverseBranches: Bool = false) {
        (conv1, bn1) = convUnit(inplanes, planes, kernel: 1, stride: (1, 1), relu: true, diverseBranches: diverseBranches)
        (conv2, bn2) = convUnit(planes, planes, kernel: 3, stride: stride, relu: true, diverseBranches: diverseBranches)
        (conv3, bn3) = convUnit(planes, planes * 4, kernel: 1, stride: (1, 1), relu: false, diverseBranches: diverseBranches)
        self.downsample = downsample
        self.dropPath = dropPath > 0 ? DropPath(dropPath) : nil
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var y = applyUnit(conv3, bn3, applyUnit(conv2, bn2, applyUnit(conv1, bn1, x)))
        if let dropPath { y = dropPath(y) }
        return (y + (downsample?(x) ?? x)).relu()
    }
}

/// A block's convolution: `Conv2d` + BN (ReLU fused), or a ``DiverseBranchBlock`` (no separate BN).
private func convUnit(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: (Int, Int), relu: Bool,
                      diverseBranches: Bool) -> (Module, BatchNorm?) {
    if diverseBranches {
        return (DiverseBranchBlock(inChannels, outChannels, kernel: kernel, stride: stride, relu: relu), nil)
    }
    return (Conv2d(inChannels, outChannels, kernelSize: kernel, strides: stride),
            BatchNorm(outChannels, activation: relu ? .relu : .none))
}

private func applyUnit(_ conv: Module, _ bn: BatchNorm?, _ x: Tensor) -> Tensor {
    let y = conv(x)
    return bn.map { $0(y) } ?? y
}

/// 2×2 average pooling of the `_vd` shortcut, padded "SAME" at the bottom/right and averaging only the pixels that
/// exist: at stride 2 this is PyTorch's `ceil_mode=True, count_include_pad=False` (timm's `downsample_avg`); in a
/// direction of stride 1 (PaddleClas's `stride_list` entries such as `[2, 1]`) it averages neighbours, as
/// PaddleClas's `AvgPool2D(2, stride, padding="SAME", ceil_mode=True)` does.
public final class AvgPoolCeil: Module {
    /// (vertical, horizontal) stride.
    public let stride: (Int, Int)

    public init(stride: (Int, Int) = (2, 2)) {
        self.stride = stride
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        func pad(_ n: Int, _ s: Int) -> Int { max(((n + s - 1) / s - 1) * s + 2 - n, 0) }
        let (h, w) = (pad(x.shape[1], stride.0), pad(x.shape[2], stride.1))
        let padding = Padding2D(top: h / 2, bottom: h - h / 2, left: w / 2, right: w - w / 2)
        return Tensor.avgPool2d(x, kernel: (2, 2), stride: stride, padding: padding, countIncludePad: false)
    }
}

extension ResNet {
    /// The `Arch` options of a ResNet (PaddleClas keys; timm spellings accepted as aliases).
    ///
    /// | key | default | meaning |
    /// |---|---|---|
    /// | `class_num` | 1000 | classifier outputs |
    /// | `dropout_prob` / `drop_rate` | 0 | dropout before `fc` |
    /// | `drop_connect_rate` / `drop_path_rate` | 0 | stochastic depth, linear over the blocks |
    /// | `zero_init_last` | true | residual branches start at zero (last BN γ = 0; for a DBB its four branches' last BNs); false is PaddleClas's initialisation (γ = 1) |
    /// | `input_image_channel` / `in_chans` | 3 | input channels (4 with `NormalizeImage.channel_num: 4`) |
    /// | `stride_list` | `[2, 2, 2, 2, 2]` | strides of the stem, the max pool and layer2 … layer4; `[2, 1]` is (vertical, horizontal) |
    /// | `layer_type` | `ConvBNLayer` | `DiverseBranchBlock`: the blocks' convolutions are ``DiverseBranchBlock``s (the stem and shortcuts stay conv+BN) |
    /// | `use_first_short_conv` | false | true: layer1's first block gets a 1×1 conv+BN shortcut (PaddleClas's default; timm's structure has none) |
    ///
    /// `lr_mult_list` (five values: stem, layer1 … layer4) is read by the engine from the model card.
    public struct Options: Decodable, Sendable, Equatable {
        /// PaddleClas's `layer_type`.
        public enum LayerType: String, Sendable, Equatable {
            case convBN = "ConvBNLayer", diverseBranchBlock = "DiverseBranchBlock"
        }

        public var classNum = 1000
        public var dropRate: Float = 0
        public var dropPathRate: Float = 0
        public var zeroInitLast = true
        public var inChannels = 3
        /// Five (vertical, horizontal) strides.
        public var strideList: [[Int]] = Array(repeating: [2, 2], count: 5)
        public var layerType = LayerType.convBN
        public var useFirstShortConv = false

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case classNum = "class_num", dropoutProb = "dropout_prob", dropRate = "drop_rate"
            case dropConnectRate = "drop_connect_rate", dropPathRate = "drop_path_rate"
            case zeroInitLast = "zero_init_last", inputImageChannel = "input_image_channel", inChans = "in_chans"
            case strideList = "stride_list", returnPatterns = "return_patterns", returnStages = "return_stages"
            case layerType = "layer_type", useFirstShortConv = "use_first_short_conv"
        }
        public static var knownKeys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public static var ignoredKeys: [String: String] {
            paddleIgnoredArchKeys.merging(["data_format": "SwiftClas is always NHWC"]) { a, _ in a }
        }

        public init(classNum: Int = 1000, dropRate: Float = 0, dropPathRate: Float = 0, zeroInitLast: Bool = true,
                    inChannels: Int = 3, layerType: LayerType = .convBN, useFirstShortConv: Bool = false) {
            (self.classNum, self.dropRate, self.dropPathRate) = (classNum, dropRate, dropPathRate)
            (self.zeroInitLast, self.inChannels) = (zeroInitLast, inChannels)
            (self.layerType, self.useFirstShortConv) = (layerType, useFirstShortConv)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            classNum = try c.decodePositive(.classNum, default: 1000)
            dropRate = try c.decodeRate(.dropoutProb, or: .dropRate) ?? 0
            dropPathRate = try c.decodeRate(.dropConnectRate, or: .dropPathRate) ?? 0
            zeroInitLast = try c.decodeIfPresent(Bool.self, forKey: .zeroInitLast) ?? true
            inChannels = try c.decodePositive(.inputImageChannel, or: .inChans, default: 3)
            if let list = try c.decodeIfPresent([StrideEntry].self, forKey: .strideList) {
                guard list.count == 5 else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .strideList, in: c,
                        debugDescription: "expects 5 strides (the stem, the max pool, layer2 … layer4), got \(list.count)")
                }
                strideList = list.map(\.pair)
            }
            try c.refuseIntermediateOutputs(.returnPatterns, .returnStages)
            if let layer = try c.decodeIfPresent(String.self, forKey: .layerType) {
                guard let type = LayerType(rawValue: layer) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .layerType, in: c, debugDescription: "'\(layer)' is not a ResNet layer type "
                            + "(ConvBNLayer, the default, or DiverseBranchBlock)")
                }
                layerType = type
            }
            useFirstShortConv = try c.decodeIfPresent(Bool.self, forKey: .useFirstShortConv) ?? false
        }
    }

    /// Builds `variant` with `options` (a ``DiverseBranchResNet`` for `layer_type: DiverseBranchBlock`).
    public static func make(_ variant: Variant, options: Options) -> ResNet {
        let strides = options.strideList.map { ($0[0], $0[1]) }
        if options.layerType == .diverseBranchBlock {
            return DiverseBranchResNet(
                variant: variant, classCount: options.classNum, dropRate: options.dropRate,
                dropPathRate: options.dropPathRate, zeroInitLast: options.zeroInitLast,
                inChannels: options.inChannels, strides: strides, firstShortConv: options.useFirstShortConv)
        }
        return ResNet(variant: variant, classCount: options.classNum, dropRate: options.dropRate,
                      dropPathRate: options.dropPathRate, zeroInitLast: options.zeroInitLast,
                      inChannels: options.inChannels, strides: strides, firstShortConv: options.useFirstShortConv)
    }
}

extension ResNet.Options: ArchOptions {}

extension ResNet {
    /// ResNet18 … 152 and their D (`_vd`) variants, with timm's weights (`a1_in1k`, `ra2_in1k` for D; timm trained
    /// resnet101d and resnet152d at 256 px), and PaddleClas's ResNet200_vd (no timm weights).
    public static func register(into models: inout ModelRegistry) {
        for v in variants {
            let large = v.depths[2] > 6
            let card = ModelCard(
                name: v.name, aliases: v.timmName.map { [$0] } ?? [], family: "ResNet",
                summary: "\(v.name) (\(v.block.rawValue) blocks \(v.depths)\(v.deep ? ", deep stem, avg-pool shortcut" : ""))",
                inputSize: v.deep && large && v.timmName != nil ? 256 : 224, cropFraction: v.deep && !large ? 0.875 : 0.95, classifier: ["fc."],
                featureChannels: v.block == .basic ? 512 : 2048, stages: ["layer1", "layer2", "layer3", "layer4"],
                weights: v.timmName.map { "timm/\($0).\(v.deep ? "ra2_in1k" : "a1_in1k")" })
            models.register(card, options: Options.self) { make(v, options: $0) }
        }
    }
}
