import ClasTensor

/// `PCALighting`: AlexNet's PCA colour noise (Krizhevsky et al. 2012, PaddleClas `PCALighting`): draws
/// α ~ N(0, 0.1) for each of the three ImageNet RGB principal components and adds
/// `Σ_j eigvec[c][j]·α_j·eigval[j]` to channel c of every pixel. The output is float32 (PaddleClas places it after
/// `NormalizeImage`, where these small offsets are meaningful; on 8-bit input it adds them to 0...255 values).
public struct PCALighting: ConfigurableImageOp {
    public static let name = "PCALighting"
    public static let alphaStd = 0.1
    public static let eigval: [Float] = [0.2175, 0.0188, 0.0045]
    public static let eigvec: [[Float]] = [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]

    public struct Options: ImageOpOptions {
        public static var keys: [String] { [] }
        public init() {}
    }

    public init(_ options: Options = Options()) throws {}

    /// The per-channel offsets for draws `alpha`.
    public static func offsets(alpha: [Float]) -> [Float] {
        (0..<3).map { c in (0..<3).reduce(Float(0)) { $0 + eigvec[c][$1] * alpha[$1] * eigval[$1] } }
    }

    public func apply(_ sample: inout Sample, rng: inout RandomState) throws {
        let alpha = (0..<3).map { _ in Float(rng.gauss(0, Self.alphaStd)) }
        let rgb = Self.offsets(alpha: alpha)
        func shifted<C: PixelComponent>(_ image: PixelImage<C>) throws -> FloatImage {
            guard image.channels == 3 else {
                throw TransformError(op: Self.name, path: sample.path, message: "expects 3 channels, got \(image.sizeDescription)")
            }
            return FloatImage(width: image.width, height: image.height, channels: 3) { out in
                for i in 0..<out.count { out[i] = image.pixels[i].floatValue + rgb[i % 3] }
            }
        }
        switch sample.payload {
        case .encoded:
            throw TransformError(op: Self.name, path: sample.path,
                                 message: "the image is not decoded yet; put DecodeImage first in transform_ops")
        case .image(let image): sample.payload = .floatImage(try shifted(image))
        case .floatImage(let image): sample.payload = .floatImage(try shifted(image))
        }
    }
}
