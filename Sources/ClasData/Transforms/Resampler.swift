import ClasTensor

import Foundation

/// An interpolation method of `cv2.resize` (PaddleClas names).
public enum Interpolation: String, CaseIterable, Sendable, Decodable {
    case nearest, bilinear, bicubic, area, lanczos
    /// Bilinear or bicubic, chosen at random for each image.
    case random

    /// Parses a PaddleClas interpolation name (case-insensitive); `nil` means the default, bilinear.
    public init(name: String?) throws {
        guard let name else {
            self = .bilinear
            return
        }
        guard let value = Interpolation(rawValue: name.lowercased()) else {
            throw OptionsError("interpolation must be one of \(Interpolation.allCases.map(\.rawValue)), got '\(name)'")
        }
        self = value
    }

    /// The concrete method for one image (`random` draws bilinear or bicubic from `rng`).
    func resolved(_ rng: inout RandomState) -> Interpolation {
        self == .random ? (rng.int(below: 2) == 0 ? .bilinear : .bicubic) : self
    }
}

/// Resizing with `cv2.resize` semantics, as a separable filter: for each axis a table of source taps and
/// weights, applied horizontally then vertically in float.
///
/// - nearest: source `min(floor(d * src/dst), src-1)` (OpenCV's INTER_NEAREST, not half-pixel).
/// - bilinear: half-pixel centres `s = (d+0.5)*src/dst - 0.5`, edge taps clamped.
/// - bicubic: the same centres, Keys kernel with a = -0.75, replicated borders.
/// - lanczos: 8-tap Lanczos (a = 4), normalised, replicated borders.
/// - area: when shrinking on both axes, each output pixel is the exact box average of the source area it
///   covers (integer factors give plain block means); otherwise OpenCV's area-flavoured bilinear.
///
/// 8-bit results round half up and saturate. OpenCV computes 8-bit bilinear/bicubic in 11-bit fixed point, so
/// results may differ from cv2's by one level; float images are not rounded. Equal sizes copy unchanged, as
/// cv2 does.
enum Resampler {
    /// Source taps for one axis in CSR form: output `o` reads `index[starts[o]..<starts[o+1]]` with `weight`s.
    struct AxisTaps {
        var starts: [Int] = [0]
        var index: [Int] = []
        var weight: [Float] = []

        mutating func add(_ i: Int, _ w: Float) {
            index.append(i)
            weight.append(w)
        }
        mutating func close() { starts.append(index.count) }
    }

    /// The tap table mapping `src` samples to `dst` samples; `areaBox` selects the exact box filter for `.area`.
    static func taps(src: Int, dst: Int, mode: Interpolation, areaBox: Bool) -> AxisTaps {
        var t = AxisTaps()
        let scale = Double(src) / Double(dst)
        @inline(__always) func clamp(_ i: Int) -> Int { min(max(i, 0), src - 1) }
        for d in 0..<dst {
            switch mode {
            case .nearest:
                t.add(min(Int((Double(d) * scale).rounded(.down)), src - 1), 1)
            case .area where areaBox:
                let fs1 = Double(d) * scale, fs2 = fs1 + scale
                let cell = min(scale, Double(src) - fs1)
                var s2 = Int(fs2.rounded(.down))
                var s1 = Int(fs1.rounded(.up))
                s2 = min(s2, src - 1)
                s1 = min(s1, s2)
                if Double(s1) - fs1 > 1e-3 { t.add(s1 - 1, Float((Double(s1) - fs1) / cell)) }
                if s1 < s2 { for s in s1..<s2 { t.add(s, Float(1 / cell)) } }
                if fs2 - Double(s2) > 1e-3 { t.add(s2, Float(min(min(fs2 - Double(s2), 1), cell) / cell)) }
            case .bilinear, .area, .random:
                var sx: Int, fx: Float
                if mode == .area {
                    sx = Int((Double(d) * scale).rounded(.down))
                    fx = Float(Double(d + 1) - Double(sx + 1) / scale)
                    fx = fx <= 0 ? 0 : fx - fx.rounded(.down)
                } else {
                    let f = Float((Double(d) + 0.5) * scale - 0.5)
                    sx = Int(f.rounded(.down))
                    fx = f - Float(sx)
                }
                if sx < 0 { (sx, fx) = (0, 0) }
                if sx >= src - 1 { (sx, fx) = (src - 1, 0) }
                t.add(sx, 1 - fx)
                if fx != 0 { t.add(clamp(sx + 1), fx) }
            case .bicubic:
                let f = Float((Double(d) + 0.5) * scale - 0.5)
                let sx = Int(f.rounded(.down))
                let w = cubicWeights(f - Float(sx))
                for k in 0..<4 { t.add(clamp(sx - 1 + k), w[k]) }
            case .lanczos:
                let f = Float((Double(d) + 0.5) * scale - 0.5)
                let sx = Int(f.rounded(.down))
                let w = lanczos4Weights(f - Float(sx))
                for k in 0..<8 { t.add(clamp(sx - 3 + k), w[k]) }
            }
            t.close()
        }
        return t
    }

    /// OpenCV's `interpolateCubic` (a = -0.75) for the taps at -1, 0, 1, 2.
    static func cubicWeights(_ x: Float) -> [Float] {
        let a: Float = -0.75
        let w0 = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a
        let w1 = ((a + 2) * x - (a + 3)) * x * x + 1
        let w2 = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1
        return [w0, w1, w2, 1 - w0 - w1 - w2]
    }

    /// OpenCV's `interpolateLanczos4` for the taps at -3 ... 4, normalised to sum 1.
    static func lanczos4Weights(_ x: Float) -> [Float] {
        if x < Float.ulpOfOne { return [0, 0, 0, 1, 0, 0, 0, 0] }
        var w = [Float](repeating: 0, count: 8)
        var sum: Float = 0
        for i in 0..<8 {
            let t = Double(x) + 3 - Double(i)
            let y = t * Double.pi
            w[i] = Float(4 * sin(y) * sin(y / 4) / (y * y))
            sum += w[i]
        }
        return w.map { $0 / sum }
    }

    /// Resizes the `rect` (x, y, width, height) of `src` to `width` x `height` with `mode` (already resolved).
    static func resize<S: PixelComponent>(
        _ src: PixelImage<S>, rect: (x: Int, y: Int, w: Int, h: Int), width: Int, height: Int, mode: Interpolation
    ) -> PixelImage<S> {
        let c = src.channels
        precondition(rect.w > 0 && rect.h > 0 && width > 0 && height > 0, "resize of an empty image")
        if rect.w == width && rect.h == height { return Crop.crop(src, x: rect.x, y: rect.y, width: width, height: height) }
        let areaBox = mode == .area && rect.w >= width && rect.h >= height
        let tx = taps(src: rect.w, dst: width, mode: mode, areaBox: areaBox)
        let ty = taps(src: rect.h, dst: height, mode: mode, areaBox: areaBox)
        var needed = [Bool](repeating: false, count: rect.h)
        for i in ty.index { needed[i] = true }
        let tmpRow = width * c
        var tmp = [Float](repeating: 0, count: rect.h * tmpRow)
        // Horizontal pass over the rows the vertical taps use.
        src.pixels.withUnsafeBufferPointer { sp in
            tmp.withUnsafeMutableBufferPointer { tp in
                tx.starts.withUnsafeBufferPointer { st in
                    tx.index.withUnsafeBufferPointer { ix in
                        tx.weight.withUnsafeBufferPointer { wt in
                            guard let s0 = sp.baseAddress, let t0 = tp.baseAddress, let st = st.baseAddress,
                                  let ix = ix.baseAddress, let wt = wt.baseAddress else { return }
                            for y in 0..<rect.h where needed[y] {
                                let row = s0 + ((rect.y &+ y) &* src.width &+ rect.x) &* c
                                let out = t0 + y &* tmpRow
                                horizontal(row: row, out: out, width: width, channels: c, starts: st, index: ix, weight: wt)
                            }
                        }
                    }
                }
            }
        }
        // Vertical pass, contiguous over each output row.
        return PixelImage<S>(width: width, height: height, channels: c) { out in
            tmp.withUnsafeBufferPointer { tp in
                guard let d0 = out.baseAddress, let t0 = tp.baseAddress else { return }
                var acc = [Float](repeating: 0, count: tmpRow)
                acc.withUnsafeMutableBufferPointer { ap in
                    guard let a = ap.baseAddress else { return }
                    for y in 0..<height {
                        for i in 0..<tmpRow { a[i] = 0 }
                        for k in ty.starts[y]..<ty.starts[y + 1] {
                            let w = ty.weight[k]
                            let r = t0 + ty.index[k] &* tmpRow
                            for i in 0..<tmpRow { a[i] += w * r[i] }
                        }
                        let d = d0 + y &* tmpRow
                        for i in 0..<tmpRow { d[i] = S.converting(a[i]) }
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func horizontal<S: PixelComponent>(
        row: UnsafePointer<S>, out: UnsafeMutablePointer<Float>, width: Int, channels c: Int,
        starts: UnsafePointer<Int>, index: UnsafePointer<Int>, weight: UnsafePointer<Float>
    ) {
        if c == 3 {
            for x in 0..<width {
                var a0: Float = 0, a1: Float = 0, a2: Float = 0
                for k in starts[x]..<starts[x &+ 1] {
                    let p = row + index[k] &* 3
                    let w = weight[k]
                    a0 += w * p[0].floatValue
                    a1 += w * p[1].floatValue
                    a2 += w * p[2].floatValue
                }
                let o = out + x &* 3
                o[0] = a0
                o[1] = a1
                o[2] = a2
            }
            return
        }
        for x in 0..<width {
            let o = out + x &* c
            for ch in 0..<c { o[ch] = 0 }
            for k in starts[x]..<starts[x &+ 1] {
                let p = row + index[k] &* c
                let w = weight[k]
                for ch in 0..<c { o[ch] += w * p[ch].floatValue }
            }
        }
    }
}
