import ClasTensor

/// `RandomGrayscale`: with probability `p` (default 0.1), replace the image by its luma (`image.convert("L")`,
/// Pillow's ITU-R 601 weights) in every channel, keeping the channel count (torchvision/Paddle `to_grayscale` with
/// `num_output_channels = 3`). Works on 8-bit images, before `NormalizeImage`.
public struct RandomGrayscale: ConfigurableImageOp, ByteImageOp {
    public static let name = "RandomGrayscale"

    public struct Options: ImageOpOptions {
        public var p = 0.1

        enum CodingKeys: String, CodingKey, CaseIterable { case p }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(p: Double = 0.1) { self.p = p }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            p = try c.decodeIfPresent(NumberOption.self, forKey: .p)?.value ?? 0.1
        }
    }

    public let p: Double

    public init(_ options: Options = Options()) throws {
        try OptionsError.require((0...1).contains(options.p), Self.name, "p must be in [0, 1], got \(options.p)")
        p = options.p
    }

    func transform(_ image: Image, rng: inout RandomState) throws -> Image {
        rng.uniformDouble() < p ? PIL.grayscale(image) : image
    }
}
