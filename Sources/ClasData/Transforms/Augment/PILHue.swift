import Foundation

// Pillow's RGB <-> HSV conversions (Convert.c `rgb2hsv_row`, `hsv2rgb`) and the hue shift of torchvision/Paddle's
// `adjust_hue` for PIL images.

extension PIL {
    /// `adjust_hue(img, factor)` as torchvision and `paddle.vision` implement it for PIL images: convert to HSV,
    /// add `uint8(factor * 255)` to the hue with wrap-around, convert back. `factor` is in [-0.5, 0.5]; images
    /// without 3 channels are returned unchanged (PIL mode `L`).
    public static func adjustHue(_ image: Image, factor: Double) -> Image {
        guard image.channels == 3 else { return image }
        // np.uint8(factor * 255): truncation toward zero, then modulo 256 for negative shifts.
        let shift = UInt8(truncatingIfNeeded: Int((factor * 255).rounded(.towardZero)))
        if shift == 0 { return rgbFromHSV(hsvFromRGB(image)) }
        var hsv = hsvFromRGB(image)
        hsv.pixels.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            var i = 0
            while i < p.count {
                base[i] = base[i] &+ shift
                i = i &+ 3
            }
        }
        return rgbFromHSV(hsv)
    }

    /// `image.convert("HSV")`: hue, saturation and value as bytes (Pillow's float arithmetic and truncation).
    public static func hsvFromRGB(_ image: Image) -> Image {
        precondition(image.channels == 3, "HSV conversion needs 3 channels")
        return Image(width: image.width, height: image.height, channels: 3) { out in
            image.pixels.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = out.baseAddress else { return }
                var i = 0
                while i < src.count {
                    let r = s[i], g = s[i &+ 1], b = s[i &+ 2]
                    let maxc = max(r, max(g, b)), minc = min(r, min(g, b))
                    var uh: UInt8 = 0, us: UInt8 = 0
                    if minc != maxc {
                        let cr = Float(maxc - minc)
                        let sat = cr / Float(maxc)
                        let rc = Float(maxc - r) / cr, gc = Float(maxc - g) / cr, bc = Float(maxc - b) / cr
                        var h: Float
                        if r == maxc {
                            h = bc - gc
                        } else if g == maxc {
                            h = Float(2.0 + Double(rc) - Double(bc))
                        } else {
                            h = Float(4.0 + Double(gc) - Double(rc))
                        }
                        h = Float(fmod(Double(h) / 6.0 + 1.0, 1.0))
                        uh = clip8(Int(Double(h) * 255.0))
                        us = clip8(Int(Double(sat) * 255.0))
                    }
                    d[i] = uh
                    d[i &+ 1] = us
                    d[i &+ 2] = maxc
                    i = i &+ 3
                }
            }
        }
    }

    /// `hsv.convert("RGB")` for an HSV image from ``hsvFromRGB(_:)``.
    public static func rgbFromHSV(_ hsv: Image) -> Image {
        precondition(hsv.channels == 3, "HSV conversion needs 3 channels")
        return Image(width: hsv.width, height: hsv.height, channels: 3) { out in
            hsv.pixels.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = out.baseAddress else { return }
                var i = 0
                while i < src.count {
                    let h = s[i], sat = s[i &+ 1], v = s[i &+ 2]
                    if sat == 0 {
                        d[i] = v
                        d[i &+ 1] = v
                        d[i &+ 2] = v
                    } else {
                        let h6 = Double(Float(h)) * 6.0 / 255.0
                        let sector = Int(h6.rounded(.down))
                        let f = Float(h6 - Double(Float(sector)))
                        let fs = Float(Double(Float(sat)) / 255.0)
                        let vv = Double(Float(v))
                        let up = clip8(Int((vv * (1.0 - Double(fs))).rounded(.toNearestOrAwayFromZero)))
                        let uq = clip8(Int((vv * (1.0 - Double(fs * f))).rounded(.toNearestOrAwayFromZero)))
                        let ut = clip8(Int((vv * (1.0 - Double(fs) * (1.0 - Double(f)))).rounded(.toNearestOrAwayFromZero)))
                        let rgb: (UInt8, UInt8, UInt8)
                        switch sector % 6 {
                        case 0: rgb = (v, ut, up)
                        case 1: rgb = (uq, v, up)
                        case 2: rgb = (up, v, ut)
                        case 3: rgb = (up, uq, v)
                        case 4: rgb = (ut, up, v)
                        default: rgb = (v, up, uq)
                        }
                        d[i] = rgb.0
                        d[i &+ 1] = rgb.1
                        d[i &+ 2] = rgb.2
                    }
                    i = i &+ 3
                }
            }
        }
    }

    @inline(__always) static func clip8(_ v: Int) -> UInt8 { v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v)) }
}
