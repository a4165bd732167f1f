import ClasTensor

/// One item travelling through a transform pipeline: where it came from, its label, and its current pixels.
public struct Sample: Sendable {
    /// What the sample holds at this point of the pipeline.
    public enum Payload: Sendable {
        /// File bytes, before `DecodeImage`.
        case encoded([UInt8])
        /// A decoded 8-bit HWC image.
        case image(Image)
        /// A float HWC image (after `NormalizeImage`).
        case floatImage(FloatImage)
    }

    /// The image file (used in error messages).
    public var path: String
    /// The class label (-1 when unknown, e.g. for inference).
    public var label: Int
    /// The pixels or bytes.
    public var payload: Payload
    /// Values ops report besides the image, by PaddleClas's key (`random_rot90_orientation` of `RandomRot90`,
    /// `blur_image` of `BlurImage`); a dataset's `label_key` makes one of them the label.
    public var values: [String: Int] = [:]

    public init(path: String, label: Int = -1, payload: Payload) {
        self.path = path
        self.label = label
        self.payload = payload
    }

    /// "W x H x C (uint8|float32)" or "encoded bytes", for messages.
    public var payloadDescription: String {
        switch payload {
        case .encoded(let b): return "\(b.count) encoded bytes"
        case .image(let i): return "\(i.sizeDescription) uint8"
        case .floatImage(let i): return "\(i.sizeDescription) float32"
        }
    }
}

/// A transform step (PaddleClas `transform_ops` entry). Ops are immutable after construction and are shared by
/// loader threads; all randomness comes from the `rng` passed in, so a seed fixes every result.
public protocol ImageOp: Sendable {
    /// The PaddleClas op name, e.g. `RandCropImage`.
    static var name: String { get }
    /// Transforms `sample` in place.
    func apply(_ sample: inout Sample, rng: inout RandomState) throws
}

/// Options of a configurable op: `Decodable` from the PaddleClas keys, with PaddleClas defaults.
public protocol ImageOpOptions: Decodable, Sendable {
    /// Every key the options accept (the snake_case `CodingKeys`), so a config reader can reject the others.
    static var keys: [String] { get }
    /// Keys accepted without effect, each with the reason given in a notice (none by default).
    static var ignoredKeys: [String: String] { get }
}

extension ImageOpOptions {
    public static var ignoredKeys: [String: String] { [:] }
}

/// An op built from decoded options; `init` validates them and throws `OptionsError` with a clear message.
public protocol ConfigurableImageOp: ImageOp {
    associatedtype Options: ImageOpOptions
    init(_ options: Options) throws
}

extension ConfigurableImageOp {
    /// Decodes `Options` from `decoder` and builds the op (for registries holding a `Decoder`).
    public static func make(from decoder: Decoder) throws -> any ImageOp { try Self(Options(from: decoder)) }
    /// The option keys of this op.
    public static var optionKeys: [String] { Options.keys }
}

/// Invalid op options; the description names the op.
public struct OptionsError: Error, CustomStringConvertible {
    /// The op name (empty when not yet known).
    public var op: String
    /// What is wrong and what is expected.
    public var message: String

    public init(op: String = "", _ message: String) {
        self.op = op
        self.message = message
    }

    public var description: String { op.isEmpty ? message : "\(op): \(message)" }

    /// Throws `message` for `op` unless `condition` holds.
    static func require(_ condition: Bool, _ op: String, _ message: @autoclosure () -> String) throws {
        if !condition { throw OptionsError(op: op, message()) }
    }

    /// Runs `body`, labelling any `OptionsError` it throws with `op`.
    static func labelled<T>(_ op: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch var e as OptionsError {
            if e.op.isEmpty { e.op = op }
            throw e
        }
    }
}

/// A transform that failed on one sample; the description names the op and the file.
public struct TransformError: Error, CustomStringConvertible {
    public let op: String
    public let path: String
    public let message: String

    public init(op: String, path: String, message: String) {
        self.op = op
        self.path = path
        self.message = message
    }

    public var description: String { "\(op) failed on \(path): \(message)" }
}

/// An op that maps pixels to pixels and works the same on 8-bit and float images (crops, flips, resizes).
protocol PixelOp: ImageOp {
    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C>
}

/// A failure inside `PixelOp.transform`, reported with the op name and path by `apply`.
struct PixelOpFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension PixelOp {
    public func apply(_ sample: inout Sample, rng: inout RandomState) throws {
        do {
            switch sample.payload {
            case .encoded:
                throw PixelOpFailure("the image is not decoded yet; put DecodeImage first in transform_ops")
            case .image(let image): sample.payload = .image(try transform(image, rng: &rng))
            case .floatImage(let image): sample.payload = .floatImage(try transform(image, rng: &rng))
            }
        } catch let failure as PixelOpFailure {
            throw TransformError(op: Self.name, path: sample.path, message: failure.message)
        }
    }
}

extension RandomState {
    /// Uniform double in [0, 1) with 53 random bits (Python's `random.random()` resolution).
    mutating func uniformDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Uniform double in [low, high) (Python's `random.uniform`).
    mutating func uniformDouble(_ low: Double, _ high: Double) -> Double { low + (high - low) * uniformDouble() }

    /// Uniform integer in low...high inclusive (Python's `random.randint`).
    mutating func int(in range: ClosedRange<Int>) -> Int { range.lowerBound + int(below: range.count) }
}
