import ClasTensor

/// `Cutout`: PaddleClas's cutout (`ppcls/data/preprocess/ops/cutout.py`), from "Improved Regularization of
/// Convolutional Neural Networks with Cutout", https://arxiv.org/abs/1708.04552.
///
/// For each of `n_holes` holes a centre `(y, x)` is drawn uniformly over the image and the square
/// `[y - length/2, y + length/2) × [x - length/2, x + length/2)`, clipped to the image, is filled with `fill_value`
/// (default `[0, 0, 0]`; `none` or null: a random colour in 0...255 per hole). Works on 8-bit and float images.
/// Deviation: PaddleClas's current code only draws when `fill_value` is `none` (its default fill is never applied,
/// an indentation slip) and uses `cv2.rectangle`, which includes the far edges; this op fills the half-open square
/// of the original Cutout code with the given colour.
public struct Cutout: ConfigurableImageOp, PixelOp {
    public static let name = "Cutout"

    public struct Options: ImageOpOptions {
        public var nHoles = 1
        public var length = 112
        /// Nil means a random colour per hole.
        public var fillValue: [Double]? = [0, 0, 0]

        enum CodingKeys: String, CodingKey, CaseIterable { case nHoles = "n_holes", length, fillValue = "fill_value" }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(nHoles: Int = 1, length: Int = 112, fillValue: [Double]? = [0, 0, 0]) {
            (self.nHoles, self.length, self.fillValue) = (nHoles, length, fillValue)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            nHoles = try c.decodeIfPresent(Int.self, forKey: .nHoles) ?? 1
            length = try c.decodeIfPresent(Int.self, forKey: .length) ?? 112
            if !c.contains(.fillValue) {
                fillValue = [0, 0, 0]
            } else if let text = try? c.decodeIfPresent(String.self, forKey: .fillValue) {
                guard text.lowercased() == "none" else {
                    throw OptionsError(op: Cutout.name, "fill_value must be a number, [r, g, b] or 'none', got '\(text)'")
                }
                fillValue = nil
            } else if let one = try? c.decodeIfPresent(NumberOption.self, forKey: .fillValue) {
                fillValue = [one.value]
            } else {
                fillValue = try c.decodeIfPresent(NumberList.self, forKey: .fillValue)?.values
            }
        }
    }

    public let nHoles: Int
    public let length: Int
    public let fillValue: [Float]?

    public init(_ options: Options = Options()) throws {
        try OptionsError.require(options.nHoles >= 0, Self.name, "n_holes must be >= 0, got \(options.nHoles)")
        try OptionsError.require(options.length >= 0, Self.name, "length must be >= 0, got \(options.length)")
        if let f = options.fillValue {
            try OptionsError.require(f.count == 1 || f.count == 3, Self.name, "fill_value needs 1 or 3 values, got \(f)")
        }
        nHoles = options.nHoles
        length = options.length
        fillValue = options.fillValue?.map { Float($0) }
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        let (h, w, c) = (image.height, image.width, image.channels)
        guard h > 0, w > 0 else { return image }
        var out = image
        for _ in 0..<nHoles {
            let y = rng.int(below: h), x = rng.int(below: w)
            let y1 = min(max(y - length / 2, 0), h), y2 = min(max(y + length / 2, 0), h)
            let x1 = min(max(x - length / 2, 0), w), x2 = min(max(x + length / 2, 0), w)
            let colour: [Float] = fillValue ?? (0..<3).map { _ in Float(rng.int(in: 0...255)) }
            let values = (0..<c).map { C.converting(colour[min($0, colour.count - 1)]) }
            out.pixels.withUnsafeMutableBufferPointer { p in
                guard let base = p.baseAddress else { return }
                for yy in y1..<max(y1, y2) {
                    for xx in x1..<max(x1, x2) {
                        let o = base + (yy &* w &+ xx) &* c
                        for k in 0..<c { o[k] = values[k] }
                    }
                }
            }
        }
        return out
    }
}
