import ClasTensor

/// `RandFlipImage`: with probability 1/2 (`random.randint(0, 1) == 1`), flip like `cv2.flip(img, flip_code)`:
/// 1 horizontally (mirror left-right), 0 vertically, -1 both.
public struct RandFlipImage: ConfigurableImageOp, PixelOp {
    public static let name = "RandFlipImage"

    public struct Options: ImageOpOptions {
        public var flipCode = 1

        enum CodingKeys: String, CodingKey, CaseIterable { case flipCode = "flip_code" }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(flipCode: Int = 1) { self.flipCode = flipCode }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            flipCode = try c.decodeIfPresent(Int.self, forKey: .flipCode) ?? 1
        }
    }

    public let flipCode: Int

    public init(_ options: Options = Options()) throws {
        try OptionsError.require([-1, 0, 1].contains(options.flipCode), Self.name,
                                 "flip_code must be 1 (horizontal), 0 (vertical) or -1 (both), got \(options.flipCode)")
        flipCode = options.flipCode
    }

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        rng.int(below: 2) == 1 ? Crop.flip(image, code: flipCode) : image
    }
}
