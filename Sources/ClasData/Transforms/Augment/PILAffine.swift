import Foundation

// Pillow's affine transform (Geometry.c: ImagingTransformAffine and its nearest/bilinear/bicubic filters) and
// Image.rotate, with Pillow's coordinate conventions, fixed-point nearest path and border rules.

extension PIL {
    /// The resampling filter of an affine transform (Pillow's `Image.NEAREST`, `BILINEAR`, `BICUBIC`).
    public enum Resample: String, CaseIterable, Sendable {
        case nearest, bilinear, bicubic
    }

    /// `image.transform((width, height), Image.AFFINE, a, resample, fillcolor=fill)`.
    ///
    /// Output pixel (x, y) samples the input at `(a0·(x+½) + a1·(y+½) + a2, a3·(x+½) + a4·(y+½) + a5)`;
    /// samples outside the input give `fill` (one value per channel). Nearest uses Pillow's fast paths (a
    /// scale-only table, else 16.16 fixed point); bilinear and bicubic (a = -1) interpolate in double precision with
    /// clamped taps and truncate.
    public static func affine(
        _ image: Image, _ a: [Double], width: Int? = nil, height: Int? = nil, resample: Resample, fill: [UInt8]
    ) -> Image {
        precondition(a.count == 6, "an affine transform has 6 coefficients")
        let outW = width ?? image.width, outH = height ?? image.height, c = image.channels
        precondition(fill.count == c, "fill needs one value per channel")
        var out = Image(width: outW, height: outH, channels: c) { buffer in
            guard let d = buffer.baseAddress else { return }
            var i = 0
            while i < buffer.count {
                for k in 0..<c { d[i &+ k] = fill[k] }
                i = i &+ c
            }
        }
        guard image.width > 0, image.height > 0, outW > 0, outH > 0 else { return out }
        image.pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                let frame = Frame(src: s, width: image.width, height: image.height, channels: c)
                switch resample {
                case .nearest: nearestAffine(frame, a, d, outW, outH)
                case .bilinear, .bicubic:
                    for y in 0..<outH {
                        let yc = Double(y) + 0.5
                        for x in 0..<outW {
                            let xc = Double(x) + 0.5
                            let xin = a[0] * xc + a[1] * yc + a[2]
                            let yin = a[3] * xc + a[4] * yc + a[5]
                            let o = d + (y &* outW &+ x) &* c
                            if resample == .bilinear {
                                frame.bilinear(xin, yin, o)
                            } else {
                                frame.bicubic(xin, yin, o)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `image.rotate(degrees, resample, expand, center, fillcolor=fill)`: counter-clockwise rotation about `center`
    /// (default the image centre, `(w/2, h/2)`); with `expand` the output grows to hold the whole rotated image.
    /// Multiples of 90° without a centre take Pillow's exact transpose paths.
    public static func rotate(
        _ image: Image, degrees: Double, resample: Resample = .nearest, expand: Bool = false,
        center: (x: Double, y: Double)? = nil, fill: [UInt8]
    ) -> Image {
        var angle = degrees.truncatingRemainder(dividingBy: 360)
        if angle < 0 { angle += 360 }
        if center == nil {
            if angle == 0 { return image }
            if angle == 180 { return transpose(image, quarterTurns: 2) }
            if angle == 90 || angle == 270, expand || image.width == image.height {
                return transpose(image, quarterTurns: angle == 90 ? 1 : 3)
            }
        }
        var w = Double(image.width), h = Double(image.height)
        let centre = center ?? (w / 2, h / 2)
        let radians = -(angle * (Double.pi / 180))
        var m = [round15(cos(radians)), round15(sin(radians)), 0, round15(-sin(radians)), round15(cos(radians)), 0]
        func apply(_ x: Double, _ y: Double) -> (Double, Double) { (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]) }
        (m[2], m[5]) = apply(-centre.x, -centre.y)
        m[2] += centre.x
        m[5] += centre.y
        if expand {
            let corners = [(0.0, 0.0), (w, 0), (w, h), (0, h)].map { apply($0.0, $0.1) }
            let xs = corners.map(\.0), ys = corners.map(\.1)
            let nw = ((xs.max() ?? 0).rounded(.up) - (xs.min() ?? 0).rounded(.down))
            let nh = ((ys.max() ?? 0).rounded(.up) - (ys.min() ?? 0).rounded(.down))
            (m[2], m[5]) = apply(-(nw - w) / 2.0, -(nh - h) / 2.0)
            (w, h) = (nw, nh)
        }
        return affine(image, m, width: Int(w), height: Int(h), resample: resample, fill: fill)
    }

    /// Python's `round(x, 15)` (correctly rounded to 15 decimals, as Pillow rounds its rotation matrix).
    static func round15(_ x: Double) -> Double { Double(String(format: "%.15f", x)) ?? x }

    /// `Image.transpose(ROTATE_90 | ROTATE_180 | ROTATE_270)` for 1, 2 or 3 counter-clockwise quarter turns.
    static func transpose(_ image: Image, quarterTurns: Int) -> Image {
        let (w, h, c) = (image.width, image.height, image.channels)
        let turns = ((quarterTurns % 4) + 4) % 4
        let (ow, oh) = turns % 2 == 1 ? (h, w) : (w, h)
        return Image(width: ow, height: oh, channels: c) { out in
            image.pixels.withUnsafeBufferPointer { src in
                guard let s = src.baseAddress, let d = out.baseAddress else { return }
                for y in 0..<oh {
                    for x in 0..<ow {
                        let (sx, sy): (Int, Int)
                        switch turns {
                        case 1: (sx, sy) = (w - 1 - y, x)
                        case 2: (sx, sy) = (w - 1 - x, h - 1 - y)
                        case 3: (sx, sy) = (y, h - 1 - x)
                        default: (sx, sy) = (x, y)
                        }
                        let o = d + (y &* ow &+ x) &* c, p = s + (sy &* w &+ sx) &* c
                        for k in 0..<c { o[k] = p[k] }
                    }
                }
            }
        }
    }

    /// Pillow's nearest-neighbour affine engines: `ImagingScaleAffine` when there is no rotation or shear,
    /// `affine_fixed` (16.16 fixed point) when all corners map inside ±32768, else the floating-point loop.
    private static func nearestAffine(_ f: Frame, _ a: [Double], _ d: UnsafeMutablePointer<UInt8>, _ outW: Int, _ outH: Int) {
        let c = f.channels
        @inline(__always) func coord(_ v: Double) -> Int { v < 0 ? -1 : Int(v) }
        @inline(__always) func copy(_ x: Int, _ y: Int, _ xin: Int, _ yin: Int) {
            let o = d + (y &* outW &+ x) &* c, p = f.src + (yin &* f.width &+ xin) &* c
            for k in 0..<c { o[k] = p[k] }
        }
        if a[1] == 0 && a[3] == 0 {
            var xintab = [Int](repeating: -1, count: outW)
            var xo = a[2] + a[0] * 0.5
            for x in 0..<outW {
                let xin = coord(xo)
                if xin >= 0 && xin < f.width { xintab[x] = xin }
                xo += a[0]
            }
            var yo = a[5] + a[4] * 0.5
            for y in 0..<outH {
                let yi = coord(yo)
                if yi >= 0 && yi < f.height {
                    for x in 0..<outW where xintab[x] >= 0 { copy(x, y, xintab[x], yi) }
                }
                yo += a[4]
            }
            return
        }
        func fits(_ x: Double, _ y: Double) -> Bool {
            abs(x * a[0] + y * a[1] + a[2]) < 32768 && abs(x * a[3] + y * a[4] + a[5]) < 32768
        }
        let (fw, fh) = (Double(outW), Double(outH))
        if fits(0, 0) && fits(fw, fh) && fits(0, fh) && fits(fw, 0) {
            @inline(__always) func fix(_ v: Double) -> Int32 { Int32(truncatingIfNeeded: Int((v * 65536 + 0.5).rounded(.down))) }
            let a0 = fix(a[0]), a1 = fix(a[1]), a3 = fix(a[3]), a4 = fix(a[4])
            var a2 = fix(a[2] + a[0] * 0.5 + a[1] * 0.5), a5 = fix(a[5] + a[3] * 0.5 + a[4] * 0.5)
            for y in 0..<outH {
                var xx = a2, yy = a5
                for x in 0..<outW {
                    let xin = Int(xx >> 16)
                    if xin >= 0 && xin < f.width {
                        let yin = Int(yy >> 16)
                        if yin >= 0 && yin < f.height { copy(x, y, xin, yin) }
                    }
                    xx &+= a0
                    yy &+= a3
                }
                a2 &+= a1
                a5 &+= a4
            }
            return
        }
        var xo = a[2] + a[1] * 0.5 + a[0] * 0.5, yo = a[5] + a[4] * 0.5 + a[3] * 0.5
        for y in 0..<outH {
            var xx = xo, yy = yo
            for x in 0..<outW {
                let xin = coord(xx)
                if xin >= 0 && xin < f.width {
                    let yin = coord(yy)
                    if yin >= 0 && yin < f.height { copy(x, y, xin, yin) }
                }
                xx += a[0]
                yy += a[3]
            }
            xo += a[1]
            yo += a[4]
        }
    }

    /// The source image of a transform, with Pillow's bilinear and bicubic sampling filters.
    private struct Frame {
        let src: UnsafePointer<UInt8>
        let width: Int
        let height: Int
        let channels: Int

        @inline(__always) func clipX(_ x: Int) -> Int { x < 0 ? 0 : (x < width ? x : width - 1) }
        @inline(__always) func clipY(_ y: Int) -> Int { y < 0 ? 0 : (y < height ? y : height - 1) }
        @inline(__always) func row(_ y: Int) -> UnsafePointer<UInt8> { src + y &* width &* channels }

        /// `bilinear_filter32RGB`: no output (fill kept) outside `[0, w) x [0, h)`. A missing second row repeats
        /// the first, which gives Pillow's `v2 = v1`.
        @inline(__always) func bilinear(_ xin: Double, _ yin: Double, _ out: UnsafeMutablePointer<UInt8>) {
            guard xin >= 0, xin < Double(width), yin >= 0, yin < Double(height) else { return }
            let xs = xin - 0.5, ys = yin - 0.5
            let x = Int(xs.rounded(.down)), y = Int(ys.rounded(.down))
            let dx = xs - Double(x), dy = ys - Double(y)
            let o0 = clipX(x) &* channels, o1 = clipX(x + 1) &* channels
            let r0 = row(clipY(y)), r1 = y + 1 >= 0 && y + 1 < height ? row(y + 1) : r0
            for k in 0..<channels {
                let a = Double(r0[o0 &+ k]), b = Double(r0[o1 &+ k])
                let c = Double(r1[o0 &+ k]), d = Double(r1[o1 &+ k])
                let v1 = a + (b - a) * dx, v2 = c + (d - c) * dx
                out[k] = UInt8(v1 + (v2 - v1) * dy)
            }
        }

        /// Pillow's `BICUBIC` macro (the a = -1 cubic through four samples).
        @inline(__always) static func cubic(_ v1: Double, _ v2: Double, _ v3: Double, _ v4: Double, _ t: Double) -> Double {
            let p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4
            return p1 + t * (p2 + t * (p3 + t * p4))
        }

        /// `bicubic_filter32RGB`, clamped to 0...255 and truncated. Rows past the bottom repeat the previous row
        /// and the top row is clamped, as Pillow's `v2 = v1`, `v3 = v2`, `v4 = v3` fallbacks do.
        @inline(__always) func bicubic(_ xin: Double, _ yin: Double, _ out: UnsafeMutablePointer<UInt8>) {
            guard xin >= 0, xin < Double(width), yin >= 0, yin < Double(height) else { return }
            let xs = xin - 0.5, ys = yin - 0.5
            let x = Int(xs.rounded(.down)) - 1, y = Int(ys.rounded(.down)) - 1
            let dx = xs - Double(x + 1), dy = ys - Double(y + 1)
            let c = channels
            let o0 = clipX(x) &* c, o1 = clipX(x + 1) &* c, o2 = clipX(x + 2) &* c, o3 = clipX(x + 3) &* c
            let r0 = row(clipY(y))
            let r1 = y + 1 >= 0 && y + 1 < height ? row(y + 1) : r0
            let r2 = y + 2 >= 0 && y + 2 < height ? row(y + 2) : r1
            let r3 = y + 3 >= 0 && y + 3 < height ? row(y + 3) : r2
            for k in 0..<c {
                @inline(__always) func h(_ r: UnsafePointer<UInt8>) -> Double {
                    Frame.cubic(Double(r[o0 &+ k]), Double(r[o1 &+ k]), Double(r[o2 &+ k]), Double(r[o3 &+ k]), dx)
                }
                let v = Frame.cubic(h(r0), h(r1), h(r2), h(r3), dy)
                out[k] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v))
            }
        }
    }
}
