import ClasTensor

/// `GridMask`: PaddleClas's grid mask (`ppcls/data/preprocess/ops/grid.py`), from "GridMask Data Augmentation",
/// https://arxiv.org/abs/2001.04086.
///
/// With probability `prob`: a grid period `d` is drawn in [`d1`, `d2`), bands `l = int(d·ratio + 0.5)` wide are
/// zeroed every `d` pixels in both directions (random offsets) over a canvas 1.5× the image, the canvas is rotated
/// by a random integer angle in [0, `rotate`) degrees (nearest), centre-cropped to the image and multiplied in
/// (`mode` 1 inverts the mask, keeping only the bands). Works on 8-bit and float images (PaddleClas places it after
/// `NormalizeImage`). Options (defaults): `d1` 96, `d2` 224, `rotate` 1, `ratio` 0.5, `mode` 0, `prob` 1.0.
/// Deviation: PaddleClas scales `prob` by `CURR_EPOCH / NUM_EPOCHS` through module globals that its engine never
/// updates (so its GridMask never fires); here `prob` is used as given.
public struct GridMask: ConfigurableImageOp, PixelOp {
    public static let name = "GridMask"

    public struct Options: ImageOpOptions {
        public var d1 = 96, d2 = 224, rotate = 1
        public var ratio = 0.5
        public var mode = 0
        public var prob = 1.0

        enum CodingKeys: String, CodingKey, CaseIterable { case d1, d2, rotate, ratio, mode, prob }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(d1: Int = 96, d2: Int = 224, rotate: Int = 1, ratio: Double = 0.5, mode: Int = 0, prob: Double = 1) {
            (self.d1, self.d2, self.rotate, self.ratio, self.mode, self.prob) = (d1, d2, rotate, ratio, mode, prob)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            d1 = try c.decodeIfPresent(Int.self, forKey: .d1) ?? 96
            d2 = try c.decodeIfPresent(Int.self, forKey: .d2) ?? 224
            rotate = try c.decodeIfPresent(Int.self, forKey: .rotate) ?? 1
            ratio = try c.decodeIfPresent(NumberOption.self, forKey: .ratio)?.value ?? 0.5
            mode = try c.decodeIfPresent(Int.self, forKey: .mode) ?? 0
            prob = try c.decodeIfPresent(NumberOption.self, forKey: .prob)?.value ?? 1
        }
    }

    public let options: Options

    public init(_ options: Options = Options()) throws {
        try OptionsError.require(options.d1 >= 1 && options.d1 < options.d2, Self.name,
                                 "d1 and d2 must satisfy 1 <= d1 < d2, got d1 \(options.d1), d2 \(options.d2)")
        try OptionsError.require(options.rotate >= 1, Self.name, "rotate must be >= 1, got \(options.rotate)")
        try OptionsError.require((0...1).contains(options.ratio), Self.name, "ratio must be in [0, 1], got \(options.ratio)")
        try OptionsError.require([0, 1].contains(options.mode), Self.name, "mode must be 0 or 1, got \(options.mode)")
        try OptionsError.require((0...1).contains(options.prob), Self.name, "prob must be in [0, 1], got \(options.prob)")
        self.options = options
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        if rng.uniformDouble() > options.prob { return image }
        let (h, w, c) = (image.height, image.width, image.channels)
        let hh = Int(1.5 * Double(h)), ww = Int(1.5 * Double(w))
        let d = rng.int(in: options.d1...(options.d2 - 1))
        let l = Int(Double(d) * options.ratio + 0.5)
        var mask = [UInt8](repeating: 1, count: hh * ww)
        let stH = rng.int(below: d), stW = rng.int(below: d)
        for i in -1...(hh / d) {
            let s = min(max(d * i + stH, 0), hh), t = min(max(d * i + stH + l, 0), hh)
            for y in s..<max(s, t) { for x in 0..<ww { mask[y * ww + x] = 0 } }
        }
        for i in -1...(ww / d) {
            let s = min(max(d * i + stW, 0), ww), t = min(max(d * i + stW + l, 0), ww)
            for y in 0..<hh { for x in s..<max(s, t) { mask[y * ww + x] = 0 } }
        }
        let r = rng.int(below: options.rotate)
        let rotated = PIL.rotate(Image(width: ww, height: hh, channels: 1, pixels: mask), degrees: Double(r), fill: [0])
        let oy = (hh - h) / 2, ox = (ww - w) / 2
        var out = image
        out.pixels.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            for y in 0..<h {
                for x in 0..<w {
                    var keep = rotated.pixels[(y + oy) * ww + x + ox] != 0
                    if options.mode == 1 { keep.toggle() }
                    if !keep {
                        let o = base + (y &* w &+ x) &* c
                        for k in 0..<c { o[k] = C.converting(0) }
                    }
                }
            }
        }
        return out
    }
}
