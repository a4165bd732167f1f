import ClasTensor

/// An op that works on decoded 8-bit images only (the PIL-based augmentations), placed before `NormalizeImage`.
protocol ByteImageOp: ImageOp {
    func transform(_ image: Image, rng: inout RandomState) throws -> Image
}

extension ByteImageOp {
    public func apply(_ sample: inout Sample, rng: inout RandomState) throws {
        do {
            switch sample.payload {
            case .encoded:
                throw PixelOpFailure("the image is not decoded yet; put DecodeImage first in transform_ops")
            case .floatImage(let image):
                throw PixelOpFailure("needs an 8-bit image but got \(image.sizeDescription) float32; put \(Self.name) "
                                     + "before NormalizeImage in transform_ops")
            case .image(let image): sample.payload = .image(try transform(image, rng: &rng))
            }
        } catch let failure as PixelOpFailure {
            throw TransformError(op: Self.name, path: sample.path, message: failure.message)
        }
    }
}

/// A fill colour: one number for every channel, or one per channel (PaddleClas `fillcolor`, `fill`).
public struct FillColorOption: Decodable, Equatable, Sendable, CustomStringConvertible {
    public var values: [Int]

    public init(_ values: [Int]) { self.values = values }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(Double.self) {
            values = [Int(one)]
            return
        }
        do { values = try container.decode([Double].self).map { Int($0) } } catch {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a number or a list [r, g, b] of numbers in 0...255")
        }
    }

    /// Throws unless there are 1 or 3 values in 0...255.
    func validate(_ op: String, key: String) throws {
        try OptionsError.require((values.count == 1 || values.count == 3) && values.allSatisfy { (0...255).contains($0) },
                                 op, "\(key) must be one value or [r, g, b] with values in 0...255, got \(self)")
    }

    /// The colour for an image of `channels` channels (a single value is repeated; a 1-channel image takes the
    /// first value).
    func color(channels: Int) -> [UInt8] { Self.color(values.map { UInt8($0) }, channels: channels) }

    static func color(_ rgb: [UInt8], channels: Int) -> [UInt8] {
        if rgb.count == channels { return rgb }
        if rgb.count == 1 { return [UInt8](repeating: rgb[0], count: channels) }
        return (0..<channels).map { rgb[min($0, rgb.count - 1)] }
    }

    public var description: String { values.count == 1 ? "\(values[0])" : "\(values)" }
}

/// Python's `round()` (half to even), used where PaddleClas/timm round a float to an int.
@inline(__always) func pythonRound(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }
