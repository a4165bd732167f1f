import ClasNN
import ClasTensor

/// Builds the stages of MobileNetV3 and EfficientNet from block tables, as timm's `EfficientNetBuilder`.
struct EfficientBuilder {
    /// Rounds a channel count of the table (width multiplier).
    var roundChannels: (Int) -> Int
    /// The model's activation (blocks may override it).
    var activation: Activation
    /// Squeeze-excitation: computed from the expanded width (MobileNetV3) or from the block input (EfficientNet).
    var seFromExpanded: Bool
    var seActivation: Activation?
    var seGate: Activation
    /// Rounds the SE width: `makeDivisible` for MobileNetV3, plain rounding for EfficientNet.
    var seRound: (Double) -> Int
    var padding: ConvPadding = .symmetric
    var bnEps: Float = 1e-5
    var dropPathRate: Float = 0

    /// The built stages (one `Sequential` per stage) and the output channel count.
    func build(inChannels: Int, stages: [[BlockSpec]]) -> (stages: [Sequential], outChannels: Int) {
        let total = stages.reduce(0) { $0 + $1.reduce(0) { $0 + $1.repeats } }
        var blockIndex = 0
        var channels = inChannels
        var built: [Sequential] = []
        for stage in stages {
            var blocks: [Module] = []
            for spec in stage {
                for r in 0..<spec.repeats {
                    let stride = r == 0 ? (spec.stride, spec.strideWidth ?? spec.stride) : (1, 1)
                    let out = roundChannels(spec.channels)
                    let dp = dropPathRate * Float(blockIndex) / Float(total)
                    blocks.append(makeBlock(spec, inChannels: channels, outChannels: out, stride: stride, dropPath: dp))
                    channels = out
                    blockIndex += 1
                }
            }
            built.append(Sequential(blocks))
        }
        return (built, channels)
    }

    private func makeBlock(_ spec: BlockSpec, inChannels: Int, outChannels: Int, stride strides: (Int, Int),
                           dropPath: Float) -> Module {
        let stride = max(strides.0, strides.1)
        let act = spec.activation.flatMap(Activation.init(name:)) ?? activation
        func squeeze(_ channels: Int, expansion: Double) -> SqueezeExcite? {
            guard spec.seRatio > 0 else { return nil }
            let ratio = seFromExpanded ? spec.seRatio : spec.seRatio / expansion
            return SqueezeExcite(channels: channels, reducedChannels: seRound(Double(channels) * ratio),
                                 activation: seActivation ?? act, gate: seGate)
        }
        switch spec.kind {
        case .ds, .dsa:
            // `dsa`: activation after the pointwise conv, never a residual (timm `_decode_block_str`).
            return DepthwiseSeparable(inChannels, outChannels, kernel: spec.kernel, stride: stride, activation: act,
                                      se: squeeze(inChannels, expansion: 1), noSkip: spec.skip == false || spec.kind == .dsa,
                                      padding: padding, dropPath: dropPath, bnEps: bnEps, pwActivation: spec.kind == .dsa,
                                      strides: strides)
        case .ir:
            let mid = makeDivisible(Double(inChannels) * spec.expansion)
            return InvertedResidual(inChannels, outChannels, midChannels: mid, kernel: spec.kernel, stride: stride,
                                    activation: act, se: squeeze(mid, expansion: spec.expansion), noSkip: spec.skip == false,
                                    padding: padding, dropPath: dropPath, bnEps: bnEps)
        case .cn:
            return ConvBnAct(inChannels, outChannels, kernel: spec.kernel, stride: stride, activation: act,
                             padding: padding, skip: spec.skip == true, dropPath: dropPath, bnEps: bnEps)
        }
    }
}
