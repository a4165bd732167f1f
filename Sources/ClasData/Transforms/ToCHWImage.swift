import ClasTensor

/// `ToCHWImage`: accepted and does nothing. SwiftClas batches are NHWC (channels last) internally, so images stay
/// HWC; the loader always produces `[N, H, W, C]` whether or not this op is listed (Infer lists end with it).
public struct ToCHWImage: ConfigurableImageOp {
    public static let name = "ToCHWImage"

    public struct Options: ImageOpOptions {
        public static var keys: [String] { [] }
        public init() {}
    }

    public init(_ options: Options = Options()) throws {}

    public func apply(_ sample: inout Sample, rng: inout RandomState) throws {}
}
