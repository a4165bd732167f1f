import Foundation

/// The taps of one resize axis: output sample `o` is `sum_j weights[o*k + j] * source[first[o] + j]`, with source
/// indices outside `0 ..< src` meaning the nearest edge sample (`padLeft`/`padRight` say how far they reach).
///
/// - nearest: source `min(floor(d * src/dst), src-1)` (OpenCV's INTER_NEAREST, not half-pixel).
/// - bilinear: half-pixel centres `s = (d+0.5)*src/dst - 0.5`; taps floor(s), +1, clamped like OpenCV.
/// - bicubic: the same centres, Keys kernel with a = -0.75 over floor(s)-1 ... floor(s)+2.
/// - lanczos: 8-tap Lanczos (a = 4) over floor(s)-3 ... floor(s)+4, normalised.
/// - area (`areaBox`, shrinking on both axes): each output is the exact box average of the source span it covers
///   (OpenCV's `computeResizeAreaTab`; integer factors give plain block means); otherwise OpenCV's area-flavoured
///   bilinear (`s = floor(d*scale)`, `f = (d+1) - (s+1)/scale` wrapped into [0, 1)).
struct ResampleTaps {
    let k: Int
    let first: [Int]
    let weights: [Float]
    let padLeft: Int
    let padRight: Int

    init(src: Int, dst: Int, mode: Interpolation, areaBox: Bool) {
        // OpenCV's scale_x = 1 / inv_scale_x with inv_scale_x = dst / src; computing src / dst directly rounds
        // differently and moves floor(d * scale) at exact integers (e.g. 56 * 300/224 = 75 vs 74.999...).
        let scale = 1.0 / (Double(dst) / Double(src))
        let k: Int
        switch mode {
        case .nearest: k = 1
        case .area where areaBox: k = Int(scale.rounded(.up)) + 2
        case .bilinear, .area, .random, .box, .hamming: k = 2
        case .bicubic: k = 4
        case .lanczos: k = 8
        }
        var first = [Int](repeating: 0, count: dst)
        var weights = [Float](repeating: 0, count: dst * k)
        weights.withUnsafeMutableBufferPointer { wbuf in
            guard let wp = wbuf.baseAddress else { return }
            for d in 0..<dst {
                let w = wp + d * k
                switch mode {
                case .nearest:
                    first[d] = min(Int(Double(d) * scale), src - 1)
                    w[0] = 1
                case .area where areaBox:
                    let fs1 = Double(d) * scale, fs2 = fs1 + scale
                    let cell = min(scale, Double(src) - fs1)
                    let s2 = min(Int(fs2.rounded(.down)), src - 1)
                    let s1 = min(Int(fs1.rounded(.up)), s2)
                    var n = 0
                    first[d] = s1
                    if Double(s1) - fs1 > 1e-3 {
                        first[d] = s1 - 1
                        w[n] = Float((Double(s1) - fs1) / cell)
                        n += 1
                    }
                    if s1 < s2 {
                        for _ in s1..<s2 {
                            w[n] = Float(1 / cell)
                            n += 1
                        }
                    }
                    if fs2 - Double(s2) > 1e-3 { w[n] = Float(min(min(fs2 - Double(s2), 1), cell) / cell) }
                case .bilinear, .area, .random, .box, .hamming:
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
                    first[d] = sx
                    w[0] = 1 - fx
                    w[1] = fx
                case .bicubic:
                    let f = Float((Double(d) + 0.5) * scale - 0.5)
                    let sx = Int(f.rounded(.down))
                    first[d] = sx - 1
                    Self.cubicWeights(f - Float(sx), into: w)
                case .lanczos:
                    let f = Float((Double(d) + 0.5) * scale - 0.5)
                    let sx = Int(f.rounded(.down))
                    first[d] = sx - 3
                    Self.lanczos4Weights(f - Float(sx), into: w)
                }
            }
        }
        self.k = k
        self.first = first
        self.weights = weights
        padLeft = max(0, -(first.min() ?? 0))
        padRight = max(0, (first.max() ?? 0) + k - src)
    }

    /// OpenCV's `interpolateCubic` (a = -0.75) for the taps at -1, 0, 1, 2.
    static func cubicWeights(_ x: Float, into w: UnsafeMutablePointer<Float>) {
        let a: Float = -0.75
        w[0] = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a
        w[1] = ((a + 2) * x - (a + 3)) * x * x + 1
        w[2] = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1
        w[3] = 1 - w[0] - w[1] - w[2]
    }

    /// OpenCV's `interpolateLanczos4` for the taps at -3 ... 4, normalised to sum 1.
    static func lanczos4Weights(_ x: Float, into w: UnsafeMutablePointer<Float>) {
        if x < Float.ulpOfOne {
            for i in 0..<8 { w[i] = i == 3 ? 1 : 0 }
            return
        }
        var sum: Float = 0
        for i in 0..<8 {
            let y = (Double(x) + 3 - Double(i)) * Double.pi
            w[i] = Float(4 * sin(y) * sin(y / 4) / (y * y))
            sum += w[i]
        }
        for i in 0..<8 { w[i] /= sum }
    }
}
