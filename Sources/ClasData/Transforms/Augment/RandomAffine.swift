import Foundation
import ClasTensor

/// `RandomAffine`: `paddle.vision.transforms.RandomAffine` (torchvision semantics) on PIL images: a random rotation,
/// translation, scale and shear about the image centre, in one `Image.transform(AFFINE)`.
///
/// Options: `degrees` (required; a number `d` means `[-d, d]`, clockwise as in torchvision), `translate`
/// (`[a, b]`: horizontal shift drawn in `±a·width`, vertical in `±b·height`, rounded to whole pixels), `scale`
/// (`[lo, hi]`), `shear` (a number `s` = x-shear in `[-s, s]`; `[lo, hi]` = x-shear; `[xlo, xhi, ylo, yhi]` both
/// axes), `interpolation` (`nearest`, `bilinear`, `bicubic`), `fill` (0, or `[r, g, b]`), `center` (`[x, y]`,
/// default the centre), `prob` (1.0: the chance of transforming an image). Works on 8-bit images, before
/// `NormalizeImage`. Keras's `RandomTranslation(0.1, 0.1)` is `RandomAffine: {degrees: 0, translate: [0.1, 0.1]}`.
public struct RandomAffine: ConfigurableImageOp, ByteImageOp {
    public static let name = "RandomAffine"

    public struct Options: ImageOpOptions {
        public var degrees: [Double]
        public var translate: [Double]?
        public var scale: [Double]?
        public var shear: [Double]?
        public var interpolation = "nearest"
        public var fill = FillColorOption([0])
        public var center: [Double]?
        public var prob = 1.0

        enum CodingKeys: String, CodingKey, CaseIterable {
            case degrees, translate, scale, shear, interpolation, fill, center, prob
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(degrees: [Double], translate: [Double]? = nil, scale: [Double]? = nil, shear: [Double]? = nil,
                    interpolation: String = "nearest", fill: [Int] = [0], center: [Double]? = nil, prob: Double = 1) {
            (self.degrees, self.translate, self.scale, self.shear) = (degrees, translate, scale, shear)
            (self.interpolation, self.fill, self.center, self.prob) = (interpolation, FillColorOption(fill), center, prob)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func numbers(_ key: CodingKeys) throws -> [Double]? {
                if let one = try? c.decode(NumberOption.self, forKey: key) { return [one.value] }
                return try c.decodeIfPresent(NumberList.self, forKey: key)?.values
            }
            guard let degrees = try numbers(.degrees) else {
                throw OptionsError(op: RandomAffine.name, "degrees is required (0 for no rotation)")
            }
            self.degrees = degrees
            translate = try c.decodeIfPresent(NumberList.self, forKey: .translate)?.values
            scale = try c.decodeIfPresent(NumberList.self, forKey: .scale)?.values
            shear = try numbers(.shear)
            interpolation = try c.decodeIfPresent(String.self, forKey: .interpolation) ?? "nearest"
            fill = try c.decodeIfPresent(FillColorOption.self, forKey: .fill) ?? FillColorOption([0])
            center = try c.decodeIfPresent(NumberList.self, forKey: .center)?.values
            prob = try c.decodeIfPresent(NumberOption.self, forKey: .prob)?.value ?? 1
        }
    }

    public let degrees: ClosedRange<Double>
    public let translate: (x: Double, y: Double)?
    public let scale: ClosedRange<Double>?
    public let shearX: ClosedRange<Double>?
    public let shearY: ClosedRange<Double>?
    public let resample: PIL.Resample
    public let fill: FillColorOption
    public let center: (x: Double, y: Double)?
    public let prob: Double

    public init(_ o: Options) throws {
        func range(_ v: [Double], _ key: String) throws -> ClosedRange<Double> {
            if v.count == 1 {
                try OptionsError.require(v[0] >= 0, Self.name, "\(key) must be non-negative when it is one number, got \(v[0])")
                return -v[0]...v[0]
            }
            try OptionsError.require(v.count == 2 && v[0] <= v[1], Self.name, "\(key) must be a number or [min, max], got \(v)")
            return v[0]...v[1]
        }
        degrees = try range(o.degrees, "degrees")
        if let t = o.translate {
            try OptionsError.require(t.count == 2 && t.allSatisfy { (0...1).contains($0) }, Self.name,
                                     "translate must be [a, b] with fractions in [0, 1], got \(t)")
            translate = (t[0], t[1])
        } else { translate = nil }
        if let s = o.scale {
            try OptionsError.require(s.count == 2 && s[0] > 0 && s[0] <= s[1], Self.name,
                                     "scale must be [lo, hi] with 0 < lo <= hi, got \(s)")
            scale = s[0]...s[1]
        } else { scale = nil }
        switch o.shear?.count {
        case nil: (shearX, shearY) = (nil, nil)
        case 1, 2: (shearX, shearY) = (try range(o.shear!, "shear"), nil)
        case 4:
            (shearX, shearY) = (try range(Array(o.shear![0..<2]), "shear"), try range(Array(o.shear![2..<4]), "shear"))
        default: throw OptionsError(op: Self.name, "shear must be a number, [min, max] or 4 numbers, got \(o.shear!)")
        }
        guard let r = PIL.Resample(rawValue: o.interpolation.lowercased()) else {
            throw OptionsError(op: Self.name, "interpolation must be 'nearest', 'bilinear' or 'bicubic', got '\(o.interpolation)'")
        }
        resample = r
        try o.fill.validate(Self.name, key: "fill")
        fill = o.fill
        if let c = o.center {
            try OptionsError.require(c.count == 2, Self.name, "center must be [x, y], got \(c)")
            center = (c[0], c[1])
        } else { center = nil }
        try OptionsError.require((0...1).contains(o.prob), Self.name, "prob must be in [0, 1], got \(o.prob)")
        prob = o.prob
    }

    func transform(_ image: Image, rng: inout RandomState) throws -> Image {
        if prob < 1 && !(rng.uniformDouble() < prob) { return image }
        let angle = rng.uniformDouble(degrees.lowerBound, degrees.upperBound)
        var shift = (x: 0.0, y: 0.0)
        if let translate {
            let dx = translate.x * Double(image.width), dy = translate.y * Double(image.height)
            shift = (rng.uniformDouble(-dx, dx).rounded(), rng.uniformDouble(-dy, dy).rounded())
        }
        let s = scale.map { rng.uniformDouble($0.lowerBound, $0.upperBound) } ?? 1
        let sx = shearX.map { rng.uniformDouble($0.lowerBound, $0.upperBound) } ?? 0
        let sy = shearY.map { rng.uniformDouble($0.lowerBound, $0.upperBound) } ?? 0
        let c = center ?? (Double(image.width) * 0.5, Double(image.height) * 0.5)
        let m = Self.inverseMatrix(center: c, angle: angle, translate: shift, scale: s, shear: (sx, sy))
        return PIL.affine(image, m, resample: resample, fill: fill.color(channels: image.channels))
    }

    /// torchvision's `_get_inverse_affine_matrix`: output → input coordinates of rotation `angle` (degrees,
    /// clockwise), then shear, scale and translation about `center`, as Pillow's six AFFINE coefficients.
    public static func inverseMatrix(center: (x: Double, y: Double), angle: Double, translate: (x: Double, y: Double),
                                     scale: Double, shear: (x: Double, y: Double)) -> [Double] {
        let rot = angle * .pi / 180, sx = shear.x * .pi / 180, sy = shear.y * .pi / 180
        let a = cos(rot - sy) / cos(sy)
        let b = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot)
        let c = sin(rot - sy) / cos(sy)
        let d = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot)
        var m = [d, -b, 0, -c, a, 0].map { $0 / scale }
        m[2] += m[0] * (-center.x - translate.x) + m[1] * (-center.y - translate.y)
        m[5] += m[3] * (-center.x - translate.x) + m[4] * (-center.y - translate.y)
        m[2] += center.x
        m[5] += center.y
        return m
    }
}
