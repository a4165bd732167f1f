// Pillow's ImageEnhance (Color, Contrast, Brightness, Sharpness), Image.blend and the RGB -> L conversion.

extension PIL {
    /// `Image.blend(a, b, alpha)`: `a + alpha * (b - a)` in single precision, truncated toward zero; outside
    /// `0...1` (extrapolation) the result is clamped to 0...255 first. Both images must have one size.
    public static func blend(_ a: Image, _ b: Image, alpha: Float) -> Image {
        precondition(a.width == b.width && a.height == b.height && a.channels == b.channels, "blend of different sizes")
        let extrapolate = !(alpha >= 0 && alpha <= 1)
        return Image(width: a.width, height: a.height, channels: a.channels) { out in
            a.pixels.withUnsafeBufferPointer { ap in
                b.pixels.withUnsafeBufferPointer { bp in
                    guard let s1 = ap.baseAddress, let s2 = bp.baseAddress, let d = out.baseAddress else { return }
                    if !extrapolate {
                        for i in 0..<ap.count {
                            let x = Float(s1[i])
                            d[i] = UInt8(x + alpha * (Float(s2[i]) - x))
                        }
                    } else {
                        for i in 0..<ap.count {
                            let x = Float(s1[i])
                            let v = x + alpha * (Float(s2[i]) - x)
                            d[i] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v))
                        }
                    }
                }
            }
        }
    }

    /// Blends a constant image of `value` per channel with `image` (the degenerates of Brightness and Contrast),
    /// through one 256-entry table per channel holding `blend`'s exact single-precision result.
    static func blend(constant value: [UInt8], _ image: Image, alpha: Float) -> Image {
        let extrapolate = !(alpha >= 0 && alpha <= 1)
        let luts = (0..<image.channels).map { k -> [UInt8] in
            let x = Float(value[min(k, value.count - 1)])
            return (0..<256).map { v in
                let r = x + alpha * (Float(v) - x)
                return extrapolate ? (r <= 0 ? 0 : (r >= 255 ? 255 : UInt8(r))) : UInt8(r)
            }
        }
        return luts.allSatisfy({ $0 == luts[0] }) ? point(image, luts[0]) : point(image, perChannel: luts)
    }

    /// The luma plane `L = (299 R + 587 G + 114 B) / 1000` with Pillow's fixed point
    /// (`(19595 R + 38470 G + 7471 B + 0x8000) >> 16`); a 1-channel image is returned as is.
    public static func luma(_ image: Image) -> [UInt8] {
        guard image.channels >= 3 else { return image.channels == 1 ? image.pixels : channelPlane(image, 0) }
        let c = image.channels, n = image.width * image.height
        return [UInt8](unsafeUninitializedCapacity: n) { out, initialized in
            image.pixels.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = out.baseAddress else { return }
                for i in 0..<n {
                    let p = s + i &* c
                    let v = Int(p[0]) &* 19595 &+ Int(p[1]) &* 38470 &+ Int(p[2]) &* 7471 &+ 0x8000
                    d[i] = UInt8(truncatingIfNeeded: v >> 16)
                }
            }
            initialized = n
        }
    }

    private static func channelPlane(_ image: Image, _ channel: Int) -> [UInt8] {
        let c = image.channels
        return (0..<image.width * image.height).map { image.pixels[$0 * c + channel] }
    }

    /// `image.convert("L").convert(mode)`: the luma copied into every colour channel.
    public static func grayscale(_ image: Image) -> Image {
        let l = luma(image)
        let c = image.channels
        return Image(width: image.width, height: image.height, channels: c) { out in
            l.withUnsafeBufferPointer { lp in
                guard let s = lp.baseAddress, let d = out.baseAddress else { return }
                for i in 0..<lp.count { for k in 0..<c { d[i &* c &+ k] = s[i] } }
            }
        }
    }

    /// `ImageEnhance.Color(image).enhance(factor)`: blend from the grayscale image (0 = gray, 1 = unchanged).
    public static func color(_ image: Image, factor: Float) -> Image {
        guard image.channels >= 3 else { return image }
        return blend(grayscale(image), image, alpha: factor)
    }

    /// `ImageEnhance.Contrast(image).enhance(factor)`: blend from a flat image at the rounded mean luma.
    public static func contrast(_ image: Image, factor: Float) -> Image {
        let l = luma(image)
        var histogram = [Int](repeating: 0, count: 256)
        for v in l { histogram[Int(v)] += 1 }
        var sum = 0.0
        for (v, count) in histogram.enumerated() { sum += Double(v) * Double(count) }
        let mean = Int(sum / Double(max(l.count, 1)) + 0.5)
        return blend(constant: [UInt8](repeating: UInt8(min(max(mean, 0), 255)), count: image.channels), image,
                     alpha: factor)
    }

    /// `ImageEnhance.Brightness(image).enhance(factor)`: blend from black.
    public static func brightness(_ image: Image, factor: Float) -> Image {
        blend(constant: [UInt8](repeating: 0, count: image.channels), image, alpha: factor)
    }

    /// `ImageEnhance.Sharpness(image).enhance(factor)`: blend from `ImageFilter.SMOOTH` (0 = smoothed, 2 = sharper).
    public static func sharpness(_ image: Image, factor: Float) -> Image {
        blend(smooth(image), image, alpha: factor)
    }

    /// `image.filter(ImageFilter.SMOOTH)`: the 3x3 kernel `[1 1 1; 1 5 1; 1 1 1] / 13`, rounded; the outermost
    /// rows and columns are copied unchanged, as Pillow does.
    public static func smooth(_ image: Image) -> Image {
        let (w, h, c) = (image.width, image.height, image.channels)
        guard w >= 3, h >= 3 else { return image }
        var out = image
        let row = w * c
        image.pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                for y in 1..<(h - 1) {
                    let up = s + (y - 1) &* row, mid = s + y &* row, down = s + (y + 1) &* row
                    let o = d + y &* row
                    for i in c..<(row - c) {
                        let sum = Int(up[i &- c]) &+ Int(up[i]) &+ Int(up[i &+ c])
                            &+ Int(mid[i &- c]) &+ 5 &* Int(mid[i]) &+ Int(mid[i &+ c])
                            &+ Int(down[i &- c]) &+ Int(down[i]) &+ Int(down[i &+ c])
                        // round(sum / 13): sum / 13 is never exactly k + 0.5.
                        o[i] = UInt8(truncatingIfNeeded: (sum &+ 6) / 13)
                    }
                }
            }
        }
        return out
    }
}
