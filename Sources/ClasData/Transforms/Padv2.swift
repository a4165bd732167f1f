import ClasTensor
import Foundation

/// `Padv2`: pads to `size` (`[w, h]` or a square side) or, without `size`, up to the next multiples of
/// `size_divisor` (32), on a float32 canvas of `fill_value` (`[127.5, 127.5, 127.5]`); the output is float32 like
/// PaddleClas's, also when no padding is needed. `pad_mode`: 0 pads right and bottom, 1 centres (offsets
/// `(w - W) // 2`, `(h - H) // 2`), 2 pads left and top, -1 places the image at `offsets: [x, y]`. An image larger
/// than `size` is an error naming the file.
public struct Padv2: ConfigurableImageOp {
    public static let name = "Padv2"

    public struct Options: ImageOpOptions {
        public var size: SizeOption?
        public var sizeDivisor = 32
        public var padMode = 0
        public var offsets: [Int]?
        public var fillValue: [Double] = [127.5, 127.5, 127.5]
        enum CodingKeys: String, CodingKey, CaseIterable {
            case size, sizeDivisor = "size_divisor", padMode = "pad_mode", offsets, fillValue = "fill_value"
        }
        public static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }

        public init(size: SizeOption? = nil, sizeDivisor: Int = 32, padMode: Int = 0, offsets: [Int]? = nil,
                    fillValue: [Double] = [127.5, 127.5, 127.5]) {
            (self.size, self.sizeDivisor, self.padMode, self.offsets, self.fillValue) = (size, sizeDivisor, padMode, offsets, fillValue)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            size = try c.decodeIfPresent(SizeOption.self, forKey: .size)
            sizeDivisor = try c.decodeIfPresent(Int.self, forKey: .sizeDivisor) ?? 32
            padMode = try c.decodeIfPresent(Int.self, forKey: .padMode) ?? 0
            offsets = try c.decodeIfPresent([Int].self, forKey: .offsets)
            if let one = try? c.decode(Double.self, forKey: .fillValue) { fillValue = [one, one, one] } else {
                fillValue = try c.decodeIfPresent(NumberList.self, forKey: .fillValue)?.values ?? [127.5, 127.5, 127.5]
            }
        }
    }

    public let size: SizeOption?
    public let sizeDivisor: Int
    public let padMode: Int
    public let offsets: (x: Int, y: Int)
    public let fillValue: [Float]

    public init(_ options: Options) throws {
        try options.size?.validate(Self.name)
        try OptionsError.require(options.sizeDivisor > 0, Self.name, "size_divisor must be positive, got \(options.sizeDivisor)")
        try OptionsError.require([-1, 0, 1, 2].contains(options.padMode), Self.name,
                                 "pad_mode must be -1, 0, 1 or 2, got \(options.padMode)")
        let o = options.offsets ?? []
        try OptionsError.require(options.padMode != -1 || (o.count == 2 && o.allSatisfy { $0 >= 0 }), Self.name,
                                 "pad_mode -1 needs offsets [x, y] >= 0, got \(options.offsets.map { "\($0)" } ?? "none")")
        try OptionsError.require(options.fillValue.count == 3, Self.name,
                                 "fill_value must be [r, g, b], got \(options.fillValue)")
        size = options.size
        sizeDivisor = options.sizeDivisor
        padMode = options.padMode
        offsets = o.count == 2 ? (o[0], o[1]) : (0, 0)
        fillValue = options.fillValue.map { Float($0) }
    }

    public func apply(_ sample: inout Sample, rng: inout RandomState) throws {
        let result: FloatImage
        switch sample.payload {
        case .encoded:
            throw TransformError(op: Self.name, path: sample.path,
                                 message: "the image is not decoded yet; put DecodeImage first in transform_ops")
        case .image(let image): result = try pad(image, path: sample.path)
        case .floatImage(let image): result = try pad(image, path: sample.path)
        }
        sample.payload = .floatImage(result)
    }

    private func pad<C: PixelComponent>(_ image: PixelImage<C>, path: String) throws -> FloatImage {
        let (W, H) = (image.width, image.height)
        var (w, h) = (Int(ceil(Double(W) / Double(sizeDivisor))) * sizeDivisor,
                      Int(ceil(Double(H) / Double(sizeDivisor))) * sizeDivisor)
        if let size {
            (w, h) = (size.width, size.height)
            guard W <= w, H <= h else {
                throw TransformError(op: Self.name, path: path,
                                     message: "the image (\(W)x\(H)) is larger than size \(size) (WxH)")
            }
        }
        let (x, y): (Int, Int)
        switch padMode {
        case -1: (x, y) = offsets
        case 0: (x, y) = (0, 0)
        case 1: (x, y) = ((w - W) / 2, (h - H) / 2)
        default: (x, y) = (w - W, h - H)
        }
        guard x + W <= w, y + H <= h else {
            throw TransformError(op: Self.name, path: path, message: "offsets \([x, y]) put the \(W)x\(H) image outside \(w)x\(h)")
        }
        let fill = image.channels == 3 ? fillValue : [Float](repeating: fillValue[0], count: image.channels)
        return Canvas.place(image, width: w, height: h, x: x, y: y, fill: fill)
    }
}
