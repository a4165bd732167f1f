import ClasTensor

import Foundation

/// An interpolation method (PaddleClas names): cv2 offers nearest, bilinear, bicubic, area, lanczos; Pillow
/// nearest, bilinear, bicubic, box, lanczos, hamming; both `random` (bilinear or bicubic per image).
public enum Interpolation: String, CaseIterable, Sendable, Decodable {
    case nearest, bilinear, bicubic, area, lanczos, box, hamming
    /// Bilinear or bicubic, chosen at random for each image.
    case random

    /// Parses a PaddleClas interpolation name (case-insensitive) for `backend`; `nil` means bilinear.
    public init(name: String?, backend: ResizeBackend = .cv2) throws {
        guard let name else {
            self = .bilinear
            return
        }
        guard let value = Interpolation(rawValue: name.lowercased()), backend.supports(value) else {
            throw OptionsError("interpolation must be one of \(backend.interpolations.map(\.rawValue)) with backend "
                               + "\(backend.rawValue), got '\(name)'")
        }
        self = value
    }

    /// The concrete method for one image (`random` draws bilinear or bicubic from `rng`).
    func resolved(_ rng: inout RandomState) -> Interpolation {
        self == .random ? (rng.int(below: 2) == 0 ? .bilinear : .bicubic) : self
    }
}

/// Whose resize semantics to follow: OpenCV's `cv2.resize` (PaddleClas's default) or Pillow's `Image.resize`.
public enum ResizeBackend: String, Sendable {
    case cv2, pil

    /// Parses `cv2` or `pil` (case-insensitive).
    public init(name: String) throws {
        guard let value = ResizeBackend(rawValue: name.lowercased()) else {
            throw OptionsError("backend must be 'cv2' or 'pil', got '\(name)'")
        }
        self = value
    }

    /// The interpolation names this backend accepts.
    public var interpolations: [Interpolation] {
        switch self {
        case .cv2: return [.nearest, .bilinear, .bicubic, .area, .lanczos, .random]
        case .pil: return [.nearest, .bilinear, .bicubic, .box, .lanczos, .hamming, .random]
        }
    }

    func supports(_ i: Interpolation) -> Bool { interpolations.contains(i) }
}

/// Resizing with `cv2.resize` semantics, as a separable filter: for each axis a table of `k` consecutive source
/// taps and weights per output sample (see `ResampleTaps`), applied horizontally then vertically in float.
///
/// 8-bit bilinear goes through `LinearU8` (OpenCV's fixed point, bit-exact). Other 8-bit results are computed in
/// float, rounded half up and saturated; OpenCV uses fixed point for bicubic and lanczos too, so those may differ
/// from cv2's by one level. Float images are not rounded and match cv2 to float rounding. Equal sizes copy
/// unchanged, as cv2 does. Borders replicate the edge pixels.
enum Resampler {
    /// Resizes the `rect` (x, y, width, height) of `src` to `width` x `height` with `mode` (already resolved).
    static func resize<S: PixelComponent>(
        _ src: PixelImage<S>, rect: (x: Int, y: Int, w: Int, h: Int), width: Int, height: Int, mode: Interpolation,
        backend: ResizeBackend = .cv2
    ) -> PixelImage<S> {
        precondition(rect.w > 0 && rect.h > 0 && width > 0 && height > 0, "resize of an empty image")
        precondition(rect.x >= 0 && rect.y >= 0 && rect.x + rect.w <= src.width && rect.y + rect.h <= src.height,
                     "resize rectangle outside the image")
        if rect.w == width && rect.h == height { return Crop.crop(src, x: rect.x, y: rect.y, width: width, height: height) }
        if backend == .pil { return PILResample.resize(src, rect: rect, width: width, height: height, mode: mode) }
        if mode == .bilinear, let u8 = src as? Image, let out = LinearU8.resize(u8, rect: rect, width: width,
                                                                            height: height) as? PixelImage<S> {
            return out
        }
        let areaBox = mode == .area && rect.w >= width && rect.h >= height
        let tx = ResampleTaps(src: rect.w, dst: width, mode: mode, areaBox: areaBox)
        let ty = ResampleTaps(src: rect.h, dst: height, mode: mode, areaBox: areaBox)
        let c = src.channels, rowOut = width * c
        // Source rows the vertical taps read (with non-zero weight), clamped into the rectangle.
        var needed = [Bool](repeating: false, count: rect.h)
        for o in 0..<height {
            for k in 0..<ty.k where ty.weights[o * ty.k + k] != 0 { needed[min(max(ty.first[o] + k, 0), rect.h - 1)] = true }
        }
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: rect.h * rowOut)
        defer { tmp.deallocate() }
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: (tx.padLeft + rect.w + tx.padRight) * c)
        defer { padded.deallocate() }
        src.pixels.withUnsafeBufferPointer { sp in
            tx.first.withUnsafeBufferPointer { fp in
                tx.weights.withUnsafeBufferPointer { wp in
                    guard let s0 = sp.baseAddress, let f0 = fp.baseAddress, let w0 = wp.baseAddress else { return }
                    for y in 0..<rect.h where needed[y] {
                        loadPadded(s0 + ((rect.y + y) * src.width + rect.x) * c, count: rect.w, channels: c,
                                   padLeft: tx.padLeft, padRight: tx.padRight, into: padded)
                        horizontal(padded + tx.padLeft * c, out: tmp + y * rowOut, width: width, channels: c, k: tx.k,
                                   first: f0, weights: w0)
                    }
                }
            }
        }
        return PixelImage<S>(width: width, height: height, channels: c) { out in
            guard let d0 = out.baseAddress else { return }
            let acc = UnsafeMutablePointer<Float>.allocate(capacity: rowOut)
            defer { acc.deallocate() }
            for y in 0..<height {
                acc.initialize(repeating: 0, count: rowOut)
                for k in 0..<ty.k {
                    let w = ty.weights[y * ty.k + k]
                    if w == 0 { continue }
                    let r = tmp + min(max(ty.first[y] + k, 0), rect.h - 1) * rowOut
                    for i in 0..<rowOut { acc[i] += w * r[i] }
                }
                S.convert(acc, to: d0 + y * rowOut, count: rowOut)
            }
        }
    }

    /// Converts `count` pixels to float into `out`, replicating the first and last pixel `padLeft`/`padRight` times.
    @inline(__always)
    private static func loadPadded<S: PixelComponent>(
        _ row: UnsafePointer<S>, count: Int, channels c: Int, padLeft: Int, padRight: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        let mid = out + padLeft &* c
        S.convert(row, to: mid, count: count &* c)
        for p in 0..<padLeft { for ch in 0..<c { out[p &* c &+ ch] = mid[ch] } }
        let last = mid + (count &- 1) &* c
        for p in 1...max(padRight, 1) where p <= padRight { for ch in 0..<c { last[p &* c &+ ch] = last[ch] } }
    }

    /// out[x] = sum over k of weights[x*k + j] * row[first[x] + j] (row may be indexed from -padLeft).
    @inline(__always)
    private static func horizontal(
        _ row: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, width: Int, channels c: Int, k: Int,
        first: UnsafePointer<Int>, weights: UnsafePointer<Float>
    ) {
        if c == 3 && k == 2 {
            for x in 0..<width {
                let p = row + first[x] &* 3, w = weights + x &* 2, o = out + x &* 3
                let (a, b) = (w[0], w[1])
                o[0] = a * p[0] + b * p[3]
                o[1] = a * p[1] + b * p[4]
                o[2] = a * p[2] + b * p[5]
            }
            return
        }
        if c == 3 {
            for x in 0..<width {
                let p = row + first[x] &* 3, w = weights + x &* k
                var a0: Float = 0, a1: Float = 0, a2: Float = 0
                for j in 0..<k {
                    let q = p + j &* 3
                    a0 += w[j] * q[0]
                    a1 += w[j] * q[1]
                    a2 += w[j] * q[2]
                }
                let o = out + x &* 3
                o[0] = a0
                o[1] = a1
                o[2] = a2
            }
            return
        }
        for x in 0..<width {
            let p = row + first[x] &* c, w = weights + x &* k, o = out + x &* c
            for ch in 0..<c {
                var a: Float = 0
                for j in 0..<k { a += w[j] * p[j &* c &+ ch] }
                o[ch] = a
            }
        }
    }
}
