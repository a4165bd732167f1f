import ClasNN
import ClasTensor

/// timm's `SwinTransformerBlock`: x + drop_path(window attention(LayerNorm(x))), then x + drop_path(MLP(LayerNorm(x))).
/// The window and shift are fixed at construction from the stage's planned resolution (timm's `_calc_window_shift`).
public final class SwinBlock: Module {
    public let norm1: LayerNorm
    public let attn: WindowAttention
    public let norm2: LayerNorm
    public let mlp: Mlp
    let dropPath: DropPath
    /// (height, width) of a window and of the cyclic shift.
    public let window: (Int, Int), shift: (Int, Int)
    private let masks = ShiftMaskCache()

    init(_ dim: Int, heads: Int, resolution: (Int, Int), window target: Int, shift targetShift: Int, mlpRatio: Int,
         dropPath rate: Float, attnDrop: Float = 0) {
        window = (min(resolution.0, target), min(resolution.1, target))
        shift = (resolution.0 <= target ? 0 : targetShift, resolution.1 <= target ? 0 : targetShift)
        norm1 = LayerNorm(dim, eps: 1e-5)
        attn = WindowAttention(dim, heads: heads, window: window, attnDrop: attnDrop)
        norm2 = LayerNorm(dim, eps: 1e-5)
        mlp = Mlp(dim, hidden: mlpRatio * dim)
        dropPath = DropPath(rate)
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let y = x + dropPath(windowAttention(norm1(x)))
        return y + dropPath(mlp(norm2(y)))
    }

    private func windowAttention(_ x: Tensor) -> Tensor {
        let (h, w) = (x.shape[1], x.shape[2])
        let shifted = shift == (0, 0) ? x : x.rolled([-shift.0, -shift.1], axes: [1, 2])
        let (hp, wp) = ((h + window.0 - 1) / window.0 * window.0, (w + window.1 - 1) / window.1 * window.1)
        let padded = (hp, wp) == (h, w) ? shifted : shifted.paddedSpatially(toHeight: hp, width: wp)
        let mask = shift == (0, 0) ? nil : masks.mask(height: hp, width: wp, window: window, shift: shift)
        let attended = attn(padded.windowPartitioned(window.0, window.1), mask: mask)
            .windowsReversed(window.0, window.1, height: hp, width: wp)
        let cropped = (hp, wp) == (h, w) ? attended
            : attended.narrowed(axis: 1, start: 0, length: h).narrowed(axis: 2, start: 0, length: w)
        return shift == (0, 0) ? cropped : cropped.rolled([shift.0, shift.1], axes: [1, 2])
    }
}

/// timm's `WindowAttention`: multi-head self-attention inside each window, with a learned bias per head for every
/// relative offset (`relative_position_bias_table`, (2·wh − 1)·(2·ww − 1) rows) added to the scaled scores.
public final class WindowAttention: Module {
    public let relativePositionBiasTable: Tensor
    public let qkv: Linear
    public let proj: Linear
    public let heads: Int
    /// Dropout on the attention probabilities in training (timm's `attn_drop`).
    public var attnDrop: Float
    /// For each (query, key) pair of a window, its row of the table (timm's `relative_position_index`).
    let relativeIndex: [Int32]

    public init(_ dim: Int, heads: Int, window: (Int, Int), attnDrop: Float = 0) {
        precondition(attnDrop >= 0 && attnDrop < 1, "attention dropout \(attnDrop) must be in [0, 1)")
        self.heads = heads
        self.attnDrop = attnDrop
        relativePositionBiasTable = Tensor.zeros([(2 * window.0 - 1) * (2 * window.1 - 1), heads], requiresGrad: true)
        qkv = Linear(dim, 3 * dim)
        proj = Linear(dim, dim)
        relativeIndex = WindowAttention.relativePositionIndex(window)
        super.init()
    }

    /// Row-major positions p = (y1, x1), q = (y2, x2): row (y1 − y2 + wh − 1)·(2·ww − 1) + (x1 − x2 + ww − 1).
    static func relativePositionIndex(_ window: (Int, Int)) -> [Int32] {
        let (wh, ww) = window
        var out: [Int32] = []
        out.reserveCapacity(wh * ww * wh * ww)
        for p in 0..<(wh * ww) {
            for q in 0..<(wh * ww) {
                let dy = p / ww - q / ww + wh - 1, dx = p % ww - q % ww + ww - 1
                out.append(Int32(dy * (2 * ww - 1) + dx))
            }
        }
        return out
    }

    /// The bias added to every window's scores: [heads, N, N].
    public func relativePositionBias() -> Tensor {
        let n = Int(Double(relativeIndex.count).squareRoot())
        return relativePositionBiasTable.gatheredRows(relativeIndex).reshaped([n, n, heads]).permuted([2, 0, 1])
    }

    /// - Parameters:
    ///   - x: windows [B·nW, N, C].
    ///   - mask: [nW, 1, N, N] additive mask (0 or −100) of the shifted windows, or nil.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let (bw, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        let bias = relativePositionBias()
        // Window w of every image (sample b·nW + w) adds group w: the bias plus that window's mask.
        let groups = mask.map { $0 + bias } ?? bias.reshaped([1, heads, n, n])
        let (p, seed) = attentionDropout(attnDrop, training: isTraining)
        let q = qkv(x)
        let attended = Profiler.measure("attention forward") {
            Tensor.multiHeadAttention(q, heads: heads, bias: groups, dropout: p, seed: seed)
        }
        return proj(attended.reshaped([bw, n, c]))
    }
}

/// The shifted-window masks of one block, by padded map size (they depend only on the geometry).
final class ShiftMaskCache {
    private var cache: [[Int]: Tensor] = [:]

    /// [nW, 1, N, N]: −100 where query and key come from different regions of the rolled map, else 0.
    func mask(height hp: Int, width wp: Int, window: (Int, Int), shift: (Int, Int)) -> Tensor {
        let key = [hp, wp]
        if let m = cache[key] { return m }
        // timm's slices [0, size − win), [size − win, size − shift), [size − shift, size); no shift: one region.
        func region(_ i: Int, _ size: Int, _ win: Int, _ s: Int) -> Int {
            s == 0 ? 0 : i < size - win ? 0 : i < size - s ? 1 : 2
        }
        let (wh, ww) = window
        let n = wh * ww, nW = (hp / wh) * (wp / ww)
        var values = [Float](repeating: 0, count: nW * n * n)
        var labels = [Int](repeating: 0, count: n)
        for wy in 0..<(hp / wh) {
            for wx in 0..<(wp / ww) {
                for p in 0..<n {
                    labels[p] = 3 * region(wy * wh + p / ww, hp, wh, shift.0) + region(wx * ww + p % ww, wp, ww, shift.1)
                }
                let base = (wy * (wp / ww) + wx) * n * n
                for p in 0..<n { for q in 0..<n where labels[p] != labels[q] { values[base + p * n + q] = -100 } }
            }
        }
        let m = Tensor(shape: [nW, 1, n, n], values: values)
        cache[key] = m
        return m
    }
}
