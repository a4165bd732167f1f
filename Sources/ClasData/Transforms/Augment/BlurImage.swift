import ClasTensor
import Foundation

/// `BlurImage` (PaddleClas, PULC clarity assessment): with probability `ratio` blurs the image — Gaussian or motion
/// blur with equal odds — and reports `blur_image` 1, else leaves it and reports 0 (the label through
/// `CustomLabelDataset`'s `label_key`).
///
/// - Gaussian: kernel sizes `kx`, `ky` each uniform in {5, 7, …} below `gaussian_max_ksize` (12), σ from the size as
///   `cv2.GaussianBlur(img, (kx, ky), 0)` (OpenCV's fixed tables for 5 and 7), borders reflected (`BORDER_REFLECT_101`).
/// - Motion: a line kernel of length `d` uniform in {5, 7, …} below `motion_max_ksize` (12), rotated by an angle
///   uniform in `-motion_max_angle ..< motion_max_angle` degrees about (d/2, d/2) (bilinear, as `cv2.warpAffine`),
///   divided by d, convolved (`cv2.filter2D`), then stretched to 0...255 (`cv2.normalize` NORM_MINMAX).
///
/// The filters reproduce OpenCV 5's 8-bit results exactly (tested against it).
public struct BlurImage: ConfigurableImageOp {
    public static let name = "BlurImage"
    public static let valueKey = "blur_image"

    public struct Options: ImageOpOptions {
        public var ratio = 0.5
        public var motionMaxKsize = 12
        public var motionMaxAngle = 45
        public var gaussianMaxKsize = 12
        enum CodingKeys: String, CodingKey, CaseIterable {
            case ratio, motionMaxKsize = "motion_max_ksize", motionMaxAngle = "motion_max_angle"
            case gaussianMaxKsize = "gaussian_max_ksize"
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            ratio = try c.decodeIfPresent(Double.self, forKey: .ratio) ?? 0.5
            motionMaxKsize = try c.decodeIfPresent(Int.self, forKey: .motionMaxKsize) ?? 12
            motionMaxAngle = try c.decodeIfPresent(Int.self, forKey: .motionMaxAngle) ?? 45
            gaussianMaxKsize = try c.decodeIfPresent(Int.self, forKey: .gaussianMaxKsize) ?? 12
        }
    }

    public let ratio: Double
    public let motionSizes: [Int], gaussianSizes: [Int]
    public let maxAngle: Int

    public init(_ options: Options = Options()) throws {
        try OptionsError.require((0...1).contains(options.ratio), Self.name, "ratio must be in [0, 1], got \(options.ratio)")
        try OptionsError.require(options.motionMaxKsize > 5 && options.gaussianMaxKsize > 5, Self.name,
                                 "motion_max_ksize and gaussian_max_ksize must be > 5 (sizes are drawn from 5, 7, … below them)")
        try OptionsError.require(options.motionMaxAngle > 0, Self.name, "motion_max_angle must be positive")
        ratio = options.ratio
        motionSizes = Array(stride(from: 5, to: options.motionMaxKsize, by: 2))
        gaussianSizes = Array(stride(from: 5, to: options.gaussianMaxKsize, by: 2))
        maxAngle = options.motionMaxAngle
    }

    public func apply(_ sample: inout Sample, rng: inout RandomState) throws {
        guard case .image(let image) = sample.payload else {
            throw TransformError(op: Self.name, path: sample.path, message: "needs a decoded 8-bit image, got "
                                 + "\(sample.payloadDescription); put BlurImage after DecodeImage, before NormalizeImage")
        }
        var blurred = 0
        if rng.uniformDouble() <= ratio {
            sample.payload = .image(transform(image, rng: &rng))
            blurred = 1
        }
        sample.values[Self.valueKey] = blurred
    }

    func transform(_ image: Image, rng: inout RandomState) -> Image {
        if rng.int(below: 2) == 0 {
            let kx = gaussianSizes[rng.int(below: gaussianSizes.count)], ky = gaussianSizes[rng.int(below: gaussianSizes.count)]
            return Blur.gaussian(image, kx: kx, ky: ky)
        }
        let d = motionSizes[rng.int(below: motionSizes.count)]
        let angle = -maxAngle + rng.int(below: 2 * maxAngle)
        return Blur.motion(image, size: d, angle: Double(angle))
    }
}

/// The blur filters of `BlurImage`, bit-exact with OpenCV 5's 8-bit paths (kernels, fixed point, rounding).
enum Blur {
    /// `cv2.getGaussianKernel(k, 0)`: OpenCV's fixed tables for k ≤ 9, else σ = 0.3·((k − 1)/2 − 1) + 0.8.
    static func gaussianKernel(_ k: Int) -> [Double] {
        switch k {
        case 1: return [1]
        case 3: return [0.25, 0.5, 0.25]
        case 5: return [0.0625, 0.25, 0.375, 0.25, 0.0625]
        case 7: return [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125]
        case 9: return [4, 13, 30, 51, 60, 51, 30, 13, 4].map { $0 / 256 }
        default:
            let sigma = 0.3 * (Double(k - 1) * 0.5 - 1) + 0.8
            let w = (0..<k).map { i -> Double in let x = Double(i) - Double(k - 1) / 2; return exp(-x * x / (2 * sigma * sigma)) }
            let s = w.reduce(0, +)
            return w.map { $0 / s }
        }
    }

    /// The kernel in 8 fractional bits as OpenCV's 8-bit Gaussian blur uses it: halves rounded with error diffusion
    /// from the ends, the centre tap making the sum exactly 256 (`getGaussianKernelFixedPoint_ED`).
    static func fixedPointKernel(_ k: Int) -> [Int] {
        let w = gaussianKernel(k)
        var q = [Int](repeating: 0, count: k), err = 0.0, sum = 0
        for i in 0..<k / 2 {
            let adjusted = w[i] * 256 + err
            let v = Int(adjusted.rounded(.toNearestOrEven))
            err = adjusted - Double(v)
            (q[i], q[k - 1 - i]) = (v, v)
            sum += v
        }
        q[k / 2] = 256 - 2 * sum
        return q
    }

    /// Index `i` reflected into 0..<n without repeating the edge (`BORDER_REFLECT_101`).
    static func reflect101(_ i: Int, _ n: Int) -> Int {
        guard n > 1 else { return 0 }
        var i = i
        while i < 0 || i >= n { i = i < 0 ? -i : 2 * n - 2 - i }
        return i
    }

    /// `cv2.GaussianBlur(image, (kx, ky), 0)` on 8 bits: rows then columns in integer fixed point, rounded half up.
    static func gaussian(_ image: Image, kx: Int, ky: Int) -> Image {
        let wx = fixedPointKernel(kx), wy = fixedPointKernel(ky)
        let (w, h, c) = (image.width, image.height, image.channels)
        var rows = [Int](repeating: 0, count: w * h * c)
        for y in 0..<h {
            for x in 0..<w {
                for ch in 0..<c {
                    var s = 0
                    for (t, wt) in wx.enumerated() { s += wt * Int(image.pixels[(y * w + reflect101(x + t - kx / 2, w)) * c + ch]) }
                    rows[(y * w + x) * c + ch] = s
                }
            }
        }
        return Image(width: w, height: h, channels: c) { out in
            for y in 0..<h {
                for x in 0..<w {
                    for ch in 0..<c {
                        var s = 0
                        for (t, wt) in wy.enumerated() { s += wt * rows[(reflect101(y + t - ky / 2, h) * w + x) * c + ch] }
                        out[(y * w + x) * c + ch] = UInt8(min(255, (s + 32768) >> 16))
                    }
                }
            }
        }
    }

    /// The motion kernel: `diag(ones(d))` warped by `cv2.getRotationMatrix2D((d/2, d/2), angle, 1)` with
    /// `cv2.warpAffine` (bilinear with 1/32-pixel fixed-point coordinates, zero outside), divided by `d`. Row-major.
    static func motionKernel(size d: Int, angle: Double) -> [Double] {
        let a = angle * Double.pi / 180, alpha = cos(a), beta = sin(a), cx = Double(d) / 2, cy = Double(d) / 2
        let m = [alpha, beta, (1 - alpha) * cx - beta * cy, -beta, alpha, beta * cx + (1 - alpha) * cy]
        // cv2.invertAffineTransform: warpAffine samples the source at M⁻¹·(x, y).
        let D = 1 / (m[0] * m[4] - m[1] * m[3])
        let (a11, a22, a12, a21) = (m[4] * D, m[0] * D, -m[1] * D, -m[3] * D)
        let (b1, b2) = (-a11 * m[2] - a12 * m[5], -a21 * m[2] - a22 * m[5])
        func fixed(_ v: Double) -> Int { Int((v * 1024).rounded(.toNearestOrEven)) }
        func src(_ x: Int, _ y: Int) -> Double { x >= 0 && x < d && y >= 0 && y < d && x == y ? 1 : 0 }
        var k = [Double](repeating: 0, count: d * d)
        for y in 0..<d {
            let x0 = fixed(a12 * Double(y) + b1) + 16, y0 = fixed(a22 * Double(y) + b2) + 16
            for x in 0..<d {
                let X = (x0 + fixed(a11 * Double(x))) >> 5, Y = (y0 + fixed(a21 * Double(x))) >> 5
                let (sx, sy) = (X >> 5, Y >> 5)
                let fx = Double(X & 31) / 32, fy = Double(Y & 31) / 32
                let w00 = Double(Float((1 - fx) * (1 - fy))), w10 = Double(Float(fx * (1 - fy)))
                let w01 = Double(Float((1 - fx) * fy)), w11 = Double(Float(fx * fy))
                k[y * d + x] = (w00 * src(sx, sy) + w10 * src(sx + 1, sy) + w01 * src(sx, sy + 1) + w11 * src(sx + 1, sy + 1))
                    / Double(d)
            }
        }
        return k
    }

    /// `cv2.filter2D` with the motion kernel (anchor at the centre, `BORDER_REFLECT_101`, rounded to 8 bits), then
    /// `cv2.normalize(…, 0, 255, NORM_MINMAX)` over all channels (OpenCV's float32 scale and shift).
    static func motion(_ image: Image, size d: Int, angle: Double) -> Image {
        let k = motionKernel(size: d, angle: angle)
        let (w, h, c) = (image.width, image.height, image.channels)
        var filtered = [UInt8](repeating: 0, count: w * h * c)
        for y in 0..<h {
            for x in 0..<w {
                for ch in 0..<c {
                    var s = 0.0
                    for ky in 0..<d {
                        let sy = reflect101(y + ky - d / 2, h)
                        for kx in 0..<d where k[ky * d + kx] != 0 {
                            s += k[ky * d + kx] * Double(image.pixels[(sy * w + reflect101(x + kx - d / 2, w)) * c + ch])
                        }
                    }
                    filtered[(y * w + x) * c + ch] = UInt8(max(0, min(255, s.rounded(.toNearestOrEven))))
                }
            }
        }
        let lo = Double(filtered.min() ?? 0), hi = Double(filtered.max() ?? 0)
        let scale = hi > lo ? 255 * (1 / (hi - lo)) : 0
        let (fs, fo) = (Double(Float(scale)), Double(Float(0 - lo * scale)))
        return Image(width: w, height: h, channels: c) { out in
            for i in 0..<out.count {
                let v = Float(Double(filtered[i]) * fs + fo)   // one float32 rounding, as OpenCV's fused multiply-add
                out[i] = UInt8(max(0, min(255, v.rounded(.toNearestOrEven))))
            }
        }
    }
}
