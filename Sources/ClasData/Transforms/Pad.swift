import ClasTensor

/// `Pad`: a constant border (PaddleClas's `Pad`, `ImageOps.expand` / `cv2.copyMakeBorder`). `padding` is one width
/// for every side, `[left/right, top/bottom]` or `[left, top, right, bottom]` (Pillow's `border`); `fill` one value
/// or one per channel (0). Only `padding_mode: constant` exists in PaddleClas's op; `backend` (pil, cv2) gives the
/// same pixels.
public struct Pad: ConfigurableImageOp, PixelOp {
    public static let name = "Pad"

    public struct Options: ImageOpOptions {
        public var padding: [Int]
        public var fill = FillColorOption([0])
        public var paddingMode = "constant"
        public var backend = "pil"
        enum CodingKeys: String, CodingKey, CaseIterable { case padding, fill, paddingMode = "padding_mode", backend }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(padding: [Int], fill: [Int] = [0]) { (self.padding, self.fill) = (padding, FillColorOption(fill)) }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let one = try? c.decode(Int.self, forKey: .padding) { padding = [one] } else {
                padding = try c.decode([Int].self, forKey: .padding)
            }
            fill = try c.decodeIfPresent(FillColorOption.self, forKey: .fill) ?? FillColorOption([0])
            paddingMode = try c.decodeIfPresent(String.self, forKey: .paddingMode) ?? "constant"
            backend = try c.decodeIfPresent(String.self, forKey: .backend) ?? "pil"
        }
    }

    /// Widths added on each side.
    public let left: Int, top: Int, right: Int, bottom: Int
    public let fill: FillColorOption

    public init(_ options: Options) throws {
        let p = options.padding
        try OptionsError.require([1, 2, 4].contains(p.count) && p.allSatisfy { $0 >= 0 && $0 <= SizeOption.maxSide },
                                 Self.name, "padding must be one width >= 0, [left/right, top/bottom] or "
                                 + "[left, top, right, bottom], got \(p)")
        try OptionsError.require(options.paddingMode == "constant", Self.name,
                                 "padding_mode must be 'constant' (PaddleClas's Pad has no other), got '\(options.paddingMode)'")
        try OptionsError.require(["pil", "cv2"].contains(options.backend), Self.name,
                                 "backend must be 'pil' or 'cv2', got '\(options.backend)'")
        try options.fill.validate(Self.name, key: "fill")
        switch p.count {
        case 1: (left, top, right, bottom) = (p[0], p[0], p[0], p[0])
        case 2: (left, top, right, bottom) = (p[0], p[1], p[0], p[1])
        default: (left, top, right, bottom) = (p[0], p[1], p[2], p[3])
        }
        fill = options.fill
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        let color = fill.color(channels: image.channels).map { C.converting(Float($0)) }
        return Canvas.place(image, width: image.width + left + right, height: image.height + top + bottom,
                            x: left, y: top, fill: color)
    }
}

/// Pasting an image onto a filled canvas (the padding ops).
enum Canvas {
    /// A `width` x `height` canvas of `fill` with `src` copied at (`x`, `y`), converted to component `D`.
    static func place<S, D: PixelComponent>(_ src: PixelImage<S>, width: Int, height: Int, x: Int, y: Int,
                                            fill: [D]) -> PixelImage<D> {
        precondition(x >= 0 && y >= 0 && x + src.width <= width && y + src.height <= height, "image outside the canvas")
        let c = src.channels
        return PixelImage<D>(width: width, height: height, channels: c) { out in
            var i = 0
            while i < out.count {
                for k in 0..<c { out[i + k] = fill[k] }
                i += c
            }
            for r in 0..<src.height {
                let s = r * src.rowLength, d = ((y + r) * width + x) * c
                for k in 0..<src.rowLength { out[d + k] = D.converting(src.pixels[s + k].floatValue) }
            }
        }
    }
}
