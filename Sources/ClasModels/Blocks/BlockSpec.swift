import Foundation

/// One row of a timm-style architecture table, decoded from a block string such as `ir_r2_k5_s2_e6_c40_se0.25`.
///
/// Grammar (timm `_decode_block_str`): the block type (`ds` depthwise-separable, `dsa` the same with an activation
/// after the pointwise conv and no residual (MobileNetV1, PP-LCNet), `ir` inverted residual, `cn` conv-bn-act) then
/// options: `r` repeats, `k` depthwise kernel, `s` stride, `e` expansion ratio, `c` output
/// channels, `se` squeeze-excitation ratio, `nre` ReLU instead of the model's activation, `nhs` hard-swish, `nsw`
/// swish, `noskip` no residual, `skip` a residual on a `cn` block (which has none by default).
public struct BlockSpec: Equatable, Sendable {
    public enum Kind: String, Sendable { case ds, dsa, ir, cn }
    public var kind: Kind
    public var repeats = 1
    public var kernel = 3
    public var stride = 1
    /// A different horizontal stride of the first repeat (PaddleClas's `stride_list: [[2, 1], …]`), nil: `stride`.
    public var strideWidth: Int?
    public var expansion: Double = 1
    public var channels = 0
    public var seRatio: Double = 0
    /// Overrides the model's activation when set.
    public var activation: String?
    /// `false` for `noskip`, `true` for `skip`, nil when unspecified.
    public var skip: Bool?

    /// Decodes a block string; throws on an unknown type or option.
    public init(_ text: String) throws {
        let parts = text.split(separator: "_").map(String.init)
        guard let first = parts.first, let kind = Kind(rawValue: first) else {
            throw ModelError.invalidArchitecture("unknown block type in '\(text)'")
        }
        self.kind = kind
        for p in parts.dropFirst() {
            func value(_ prefix: String) -> String { String(p.dropFirst(prefix.count)) }
            if p == "noskip" { skip = false }
            else if p == "skip" { skip = true }
            else if p == "nre" { activation = "relu" }
            else if p == "nhs" { activation = "hardswish" }
            else if p == "nsw" { activation = "silu" }
            else if p.hasPrefix("se"), let v = Double(value("se")) { seRatio = v }
            else if p.hasPrefix("r"), let v = Int(value("r")) { repeats = v }
            else if p.hasPrefix("k"), let v = Int(value("k")) { kernel = v }
            else if p.hasPrefix("s"), let v = Int(value("s")) { stride = v }
            else if p.hasPrefix("e"), let v = Double(value("e")) { expansion = v }
            else if p.hasPrefix("c"), let v = Int(value("c")) { channels = v }
            else { throw ModelError.invalidArchitecture("unknown option '\(p)' in block '\(text)'") }
        }
    }

    /// Decodes stages of block strings.
    public static func stages(_ table: [[String]]) throws -> [[BlockSpec]] {
        try table.map { try $0.map(BlockSpec.init) }
    }

    /// Scales the repeats of one stage by `multiplier` the way timm does (`ceil` of the total, distributed from the
    /// last block backwards).
    public static func scaleDepth(_ stage: [BlockSpec], multiplier: Double) -> [BlockSpec] {
        if multiplier == 1 { return stage }
        var remaining = stage.reduce(0) { $0 + $1.repeats }
        var remainingScaled = Int((Double(remaining) * multiplier).rounded(.up))
        var scaled: [Int] = []
        for spec in stage.reversed() {
            let rs = max(1, Int((Double(spec.repeats) / Double(remaining) * Double(remainingScaled)).rounded(.toNearestOrEven)))
            scaled.append(rs)
            remaining -= spec.repeats
            remainingScaled -= rs
        }
        return zip(stage, scaled.reversed()).map { spec, r in
            var s = spec
            s.repeats = r
            return s
        }
    }
}

/// timm's `make_divisible`: round to a multiple of `divisor`, never dropping more than 10 %.
public func makeDivisible(_ v: Double, divisor: Int = 8, minValue: Int? = nil, roundLimit: Double = 0.9) -> Int {
    let minV = minValue ?? divisor
    var newV = max(minV, Int(v + Double(divisor) / 2) / divisor * divisor)
    if Double(newV) < roundLimit * v { newV += divisor }
    return newV
}

/// Errors raised while building a model.
public enum ModelError: Error, CustomStringConvertible {
    case invalidArchitecture(String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .invalidArchitecture(let s): return "invalid architecture: \(s)"
        case .invalidOption(let s): return s
        }
    }
}
