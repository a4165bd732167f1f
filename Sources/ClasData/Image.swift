/// A pixel component type an image can hold: 8-bit (decoded images) or 32-bit float (after `NormalizeImage`).
public protocol PixelComponent: Equatable, Sendable {
    /// The zero value.
    static var zero: Self { get }
    /// The component as a float (8-bit values map to 0...255).
    var floatValue: Float { get }
    /// The component nearest to `value` (8-bit: rounded half up and saturated to 0...255, like OpenCV's
    /// fixed-point resize).
    static func converting(_ value: Float) -> Self
    /// Converts `n` floats with `converting`, vectorised.
    static func convert(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Self>, count n: Int)
    /// Converts `n` components to float, vectorised.
    static func convert(_ src: UnsafePointer<Self>, to dst: UnsafeMutablePointer<Float>, count n: Int)
}

extension UInt8: PixelComponent {
    @inline(__always) public var floatValue: Float { Float(self) }
    @inline(__always) public static func converting(_ value: Float) -> UInt8 {
        // Truncation equals floor for the non-negative values that reach it (no libm call on baseline x86-64).
        if !(value > 0) { return 0 }
        if value >= 254.5 { return 255 }
        return UInt8(truncatingIfNeeded: Int32(value + 0.5))
    }
    public static func convert(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<UInt8>, count n: Int) {
        PixelKernels.floatToUInt8(src, dst, n)
    }
    public static func convert(_ src: UnsafePointer<UInt8>, to dst: UnsafeMutablePointer<Float>, count n: Int) {
        PixelKernels.uint8ToFloat(src, dst, n)
    }
}

extension Float: PixelComponent {
    @inline(__always) public var floatValue: Float { self }
    @inline(__always) public static func converting(_ value: Float) -> Float { value }
    public static func convert(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count n: Int) {
        dst.update(from: src, count: n)
    }
}

/// An image in memory: `height` rows of `width` pixels of `channels` interleaved components (HWC, row-major).
///
/// Decoded images are `Image` (8-bit, RGB or BGR); `NormalizeImage` turns them into `FloatImage`. Pixel loops go
/// through `withUnsafeBufferPointer`/`withUnsafeMutableBufferPointer` on `pixels`, never through the subscript.
public struct PixelImage<Component: PixelComponent>: Equatable, Sendable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// Components per pixel (3 for RGB/BGR).
    public let channels: Int
    /// `height * width * channels` components, row by row.
    public var pixels: [Component]

    /// An image over existing components (`pixels.count` must be `width * height * channels`).
    public init(width: Int, height: Int, channels: Int, pixels: [Component]) {
        precondition(width >= 0 && height >= 0 && channels > 0, "bad image size \(width)x\(height)x\(channels)")
        precondition(pixels.count == width * height * channels,
                     "\(pixels.count) components for a \(width)x\(height)x\(channels) image")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An image with every component zero.
    public init(width: Int, height: Int, channels: Int) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [Component](repeating: .zero, count: width * height * channels))
    }

    /// An image whose components are written by `fill`, which must initialise all of them.
    public init(
        width: Int, height: Int, channels: Int, fill: (UnsafeMutableBufferPointer<Component>) throws -> Void
    ) rethrows {
        precondition(width >= 0 && height >= 0 && channels > 0, "bad image size \(width)x\(height)x\(channels)")
        let n = width * height * channels
        let pixels = try [Component](unsafeUninitializedCapacity: n) { buffer, initialized in
            try fill(buffer)
            initialized = n
        }
        self.init(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Components per row.
    @inline(__always) public var rowLength: Int { width * channels }

    /// The component at column `x`, row `y`, channel `c` (checked; for tests and inspection, not pixel loops).
    public subscript(x: Int, y: Int, c: Int) -> Component {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height && c >= 0 && c < channels, "pixel out of range")
            return pixels[(y * width + x) * channels + c]
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height && c >= 0 && c < channels, "pixel out of range")
            pixels[(y * width + x) * channels + c] = newValue
        }
    }

    /// "WxHxC", for messages.
    public var sizeDescription: String { "\(width)x\(height)x\(channels)" }
}

/// A decoded 8-bit image (HWC).
public typealias Image = PixelImage<UInt8>
/// A float image (HWC), the output of `NormalizeImage`.
public typealias FloatImage = PixelImage<Float>

extension PixelImage {
    /// The image with every component converted to float (8-bit values keep their 0...255 range).
    public func toFloat() -> FloatImage {
        FloatImage(width: width, height: height, channels: channels) { out in
            pixels.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = out.baseAddress else { return }
                Component.convert(s, to: d, count: src.count)
            }
        }
    }

    /// The same pixels with the channel order reversed (RGB <-> BGR).
    public func reversingChannels() -> PixelImage {
        let c = channels
        return PixelImage(width: width, height: height, channels: c) { out in
            pixels.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = out.baseAddress else { return }
                var p = 0
                while p < src.count {
                    for k in 0..<c { d[p &+ k] = s[p &+ c &- 1 &- k] }
                    p = p &+ c
                }
            }
        }
    }
}
