/// Pillow's image operations on 8-bit images, reimplemented with Pillow's exact arithmetic (truncations, fixed
/// point, border rules), so the augmentation ops built on them (`AutoAugment`, `RandAugment`, `TimmAutoAugment`,
/// `AugMix`, `ColorJitter`, `RandomRotation`) give the pixels PaddleClas gives.
///
/// An image with 3 channels is treated as PIL mode `RGB`, one with 1 channel as mode `L`; the point and geometric
/// operations work on any channel count, channel by channel. Agreement with Pillow 13 is checked in
/// `Tests/ClasDataTests/PILOpsTests.swift` against arrays produced by Pillow.
public enum PIL {}

// MARK: - Point operations (ImageOps)

extension PIL {
    /// Applies `lut` (256 entries) to every component (`Image.point` with one table for all bands).
    public static func point(_ image: Image, _ lut: [UInt8]) -> Image {
        precondition(lut.count == 256, "a look-up table needs 256 entries")
        return Image(width: image.width, height: image.height, channels: image.channels) { out in
            image.pixels.withUnsafeBufferPointer { src in
                lut.withUnsafeBufferPointer { table in
                    guard let s = src.baseAddress, let d = out.baseAddress, let t = table.baseAddress else { return }
                    for i in 0..<src.count { d[i] = t[Int(s[i])] }
                }
            }
        }
    }

    /// Applies one 256-entry table per channel (`Image.point` with a table per band).
    public static func point(_ image: Image, perChannel luts: [[UInt8]]) -> Image {
        let c = image.channels
        precondition(luts.count == c && luts.allSatisfy { $0.count == 256 }, "one 256-entry table per channel")
        let flat = luts.flatMap { $0 }
        return Image(width: image.width, height: image.height, channels: c) { out in
            image.pixels.withUnsafeBufferPointer { src in
                flat.withUnsafeBufferPointer { table in
                    guard let s = src.baseAddress, let d = out.baseAddress, let t = table.baseAddress else { return }
                    var i = 0
                    while i < src.count {
                        for k in 0..<c { d[i &+ k] = t[k &* 256 &+ Int(s[i &+ k])] }
                        i = i &+ c
                    }
                }
            }
        }
    }

    /// One 256-bin histogram per channel (`Image.histogram`).
    public static func histograms(_ image: Image) -> [[Int]] {
        let c = image.channels
        var counts = [Int](repeating: 0, count: 256 * c)
        image.pixels.withUnsafeBufferPointer { src in
            counts.withUnsafeMutableBufferPointer { h in
                guard let s = src.baseAddress, let hp = h.baseAddress else { return }
                var i = 0
                while i < src.count {
                    for k in 0..<c { hp[k &* 256 &+ Int(s[i &+ k])] &+= 1 }
                    i = i &+ c
                }
            }
        }
        return (0..<c).map { Array(counts[$0 * 256..<($0 + 1) * 256]) }
    }

    /// `ImageOps.autocontrast(image)` (no cutoff): each channel is stretched linearly so its darkest value becomes
    /// 0 and its brightest 255 (`int(v * scale + offset)`, clamped); a flat channel is left unchanged.
    public static func autocontrast(_ image: Image) -> Image {
        let luts = histograms(image).map { h -> [UInt8] in
            guard let lo = h.firstIndex(where: { $0 != 0 }), let hi = h.lastIndex(where: { $0 != 0 }), hi > lo else {
                return identityLUT
            }
            let scale = 255.0 / Double(hi - lo)
            let offset = -Double(lo) * scale
            return (0..<256).map { ix in
                let v = Int(Double(ix) * scale + offset)
                return UInt8(min(max(v, 0), 255))
            }
        }
        return point(image, perChannel: luts)
    }

    /// `ImageOps.equalize(image)`: per channel, maps values through the cumulative histogram with Pillow's integer
    /// steps (`step = (total - count of the last value) // 255`); channels with one value or `step == 0` are kept.
    public static func equalize(_ image: Image) -> Image {
        let luts = histograms(image).map { h -> [UInt8] in
            let nonZero = h.filter { $0 != 0 }
            guard nonZero.count > 1, let last = nonZero.last else { return identityLUT }
            let step = (nonZero.reduce(0, +) - last) / 255
            guard step > 0 else { return identityLUT }
            var n = step / 2
            var lut = [UInt8](repeating: 0, count: 256)
            for i in 0..<256 {
                lut[i] = UInt8(min(n / step, 255))
                n += h[i]
            }
            return lut
        }
        return point(image, perChannel: luts)
    }

    /// `ImageOps.posterize(image, bits)`: keeps the `bits` most significant bits (0 gives black).
    public static func posterize(_ image: Image, bits: Int) -> Image {
        let b = min(max(bits, 0), 8)
        let mask = UInt8(truncatingIfNeeded: ~((1 << (8 - b)) - 1))
        return point(image, (0..<256).map { UInt8($0) & mask })
    }

    /// `ImageOps.solarize(image, threshold)`: values `>= threshold` are inverted (256 or more changes nothing).
    public static func solarize(_ image: Image, threshold: Double) -> Image {
        point(image, (0..<256).map { Double($0) < threshold ? UInt8($0) : UInt8(255 - $0) })
    }

    /// timm's `solarize_add`: values below `threshold` get `add` added, saturating at 255.
    public static func solarizeAdd(_ image: Image, add: Int, threshold: Int = 128) -> Image {
        point(image, (0..<256).map { $0 < threshold ? UInt8(min(255, max(0, $0 + add))) : UInt8($0) })
    }

    /// `ImageOps.invert(image)`: `255 - v`.
    public static func invert(_ image: Image) -> Image {
        point(image, (0..<256).map { UInt8(255 - $0) })
    }

    static let identityLUT: [UInt8] = (0..<256).map { UInt8($0) }
}
