import ClasNN
import ClasTensor

/// MobileNetV3 (Howard et al., https://arxiv.org/abs/1905.02244) with timm's structure and parameter names
/// (`conv_stem`, `bn1`, `blocks.i.j.*`, `conv_head`, `classifier`), so timm weights load directly.
public final class MobileNetV3: Module {
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

    /// The width multiplier encoded in a PaddleClas name (`MobileNetV3_small_x0_75` → 0.75).
    public static func widthMultiplier(forName name: String) -> Double {
        guard let r = name.range(of: "_x", options: .backwards) else { return 1 }
        return Double(name[r.upperBound...].replacingOccurrences(of: "_", with: ".")) ?? 1
    }

    /// Features before pooling: [N, H/32, W/32, C].
    public func forwardFeatures(_ x: Tensor) -> Tensor { blocks(bn1(convStem(x))) }

    public override func forward(_ x: Tensor) -> Tensor {
        let pooled = Tensor.globalAvgPool(forwardFeatures(x))
        let h = convHead(pooled).activated(headActivation).flattened()
        return classifier(dropout(h))
    }
}
