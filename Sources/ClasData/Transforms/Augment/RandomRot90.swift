import ClasTensor

/// `RandomRot90`: rotates by `k` quarter turns counter-clockwise (`np.rot90(img, k)`), `k` uniform in 0...3, and
/// reports `k` as `random_rot90_orientation` (the label of PULC's image-orientation task through
/// `CustomLabelDataset`'s `label_key`). Non-square images swap width and height for odd `k`.
public struct RandomRot90: ConfigurableImageOp {
    public static let name = "RandomRot90"
    /// The key under which the orientation is reported.
    public static let valueKey = "random_rot90_orientation"

    public struct Options: ImageOpOptions {
        public static var keys: [String] { [] }
        public init() {}
    }

    public init(_ options: Options = Options()) throws {}

    public func apply(_ sample: inout Sample, rng: inout RandomState) throws {
        let k = rng.int(below: 4)
        switch sample.payload {
        case .encoded:
            throw TransformError(op: Self.name, path: sample.path,
                                 message: "the image is not decoded yet; put DecodeImage first in transform_ops")
        case .image(let image): sample.payload = .image(Self.rotate(image, quarterTurns: k))
        case .floatImage(let image): sample.payload = .floatImage(Self.rotate(image, quarterTurns: k))
        }
        sample.values[Self.valueKey] = k
    }

    /// `np.rot90(image, k)` on an HWC image: `k` counter-clockwise quarter turns.
    public static func rotate<C>(_ src: PixelImage<C>, quarterTurns k: Int) -> PixelImage<C> {
        let k = ((k % 4) + 4) % 4
        if k == 0 { return src }
        let (w, h, c) = (src.width, src.height, src.channels)
        let (ow, oh) = k == 2 ? (w, h) : (h, w)
        return PixelImage(width: ow, height: oh, channels: c) { out in
            for y in 0..<oh {
                for x in 0..<ow {
                    // The source pixel of output (x, y).
                    let (sx, sy): (Int, Int)
                    switch k {
                    case 1: (sx, sy) = (w - 1 - y, x)
                    case 2: (sx, sy) = (w - 1 - x, h - 1 - y)
                    default: (sx, sy) = (y, h - 1 - x)
                    }
                    let s = (sy * w + sx) * c, d = (y * ow + x) * c
                    for ch in 0..<c { out[d + ch] = src.pixels[s + ch] }
                }
            }
        }
    }
}
