import ClasTensor

/// `NormalizeImage`: `(x * scale - mean) / std` per channel in float32 (the same operation order as PaddleClas's
/// NumPy code, so values match bit for bit), giving a `FloatImage`.
///
/// The output is HWC whatever `order` says, because SwiftClas batches are NHWC; `order` is accepted for
/// compatibility. `channel_num: 4` appends a zero channel. `output_fp16` is accepted, but the output stays float32
/// (mixed precision is the engine's business).
public struct NormalizeImage: ConfigurableImageOp {
    public static let name = "NormalizeImage"

    public struct Options: ImageOpOptions {
        public var scale: Double?
        public var mean: [Double]?
        public var std: [Double]?
        public var order = "chw"
        public var outputFp16 = false
        public var channelNum = 3

        enum CodingKeys: String, CodingKey, CaseIterable {
            case scale, mean, std, order, outputFp16 = "output_fp16", channelNum = "channel_num"
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(scale: Double? = nil, mean: [Double]? = nil, std: [Double]? = nil, channelNum: Int = 3) {
            self.scale = scale
            self.mean = mean
            self.std = std
            self.channelNum = channelNum
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            scale = try c.decodeIfPresent(NumberOption.self, forKey: .scale)?.value
            mean = try c.decodeIfPresent(NumberList.self, forKey: .mean)?.values
            std = try c.decodeIfPresent(NumberList.self, forKey: .std)?.values
            order = try c.decodeIfPresent(String.self, forKey: .order) ?? "chw"
            outputFp16 = try c.decodeIfPresent(Bool.self, forKey: .outputFp16) ?? false
            channelNum = try c.decodeIfPresent(Int.self, forKey: .channelNum) ?? 3
        }
    }

    public let scale: Float
    public let mean: [Float]
    public let std: [Float]
    /// 3, or 4 to append a zero channel.
    public let channelNum: Int

    public init(_ options: Options = Options()) throws {
        let mean = options.mean ?? [0.485, 0.456, 0.406]
        let std = options.std ?? [0.229, 0.224, 0.225]
        try OptionsError.require([3, 4].contains(options.channelNum), Self.name,
                                 "channel_num must be 3 or 4, got \(options.channelNum)")
        try OptionsError.require(mean.count == 3, Self.name, "mean needs 3 values (one per channel), got \(mean)")
        try OptionsError.require(std.count == 3 && std.allSatisfy { $0 != 0 && $0.isFinite }, Self.name,
                                 "std needs 3 non-zero values, got \(std)")
        let scale = options.scale ?? 1.0 / 255.0
        try OptionsError.require(scale.isFinite && scale != 0, Self.name, "scale must be a non-zero number, got \(scale)")
        self.scale = Float(scale)
        self.mean = mean.map { Float($0) }
        self.std = std.map { Float($0) }
        channelNum = options.channelNum
    }

    public func apply(_ sample: inout Sample, rng: inout RandomState) throws {
        switch sample.payload {
        case .encoded:
            throw TransformError(op: Self.name, path: sample.path,
                                 message: "the image is not decoded yet; put DecodeImage first in transform_ops")
        case .image(let image): sample.payload = .floatImage(try normalize(image, path: sample.path))
        case .floatImage(let image): sample.payload = .floatImage(try normalize(image, path: sample.path))
        }
    }

    private func normalize<C: PixelComponent>(_ image: PixelImage<C>, path: String) throws -> FloatImage {
        guard image.channels == 3 else {
            throw TransformError(op: Self.name, path: path,
                                 message: "expects 3 channels (mean/std have 3 values), got \(image.sizeDescription)")
        }
        let outC = channelNum, n = image.width * image.height
        return FloatImage(width: image.width, height: image.height, channels: outC) { out in
            image.pixels.withUnsafeBufferPointer { src in
                guard let p = src.baseAddress, let o = out.baseAddress else { return }
                if outC == 3 {
                    PixelKernels.normalize3(p, o, pixels: n, scale: scale, mean: mean, std: std)
                    return
                }
                for i in 0..<n {
                    let a = p + i &* 3, b = o + i &* outC
                    for c in 0..<3 { b[c] = (a[c].floatValue * scale - mean[c]) / std[c] }
                    b[3] = 0
                }
            }
        }
    }
}
