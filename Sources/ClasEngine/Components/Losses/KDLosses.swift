import ClasTensor
import Foundation

/// The knowledge-distillation losses of PaddleClas's `ppcls/loss` (DKD, DIST, WSL, SKD, DistanceLoss) on logits
/// [N, classes] (or, for `distance`, on any two tensors of one shape). Gradients reach both inputs, as in
/// PaddleClas: a frozen teacher simply has none to receive.
public enum KDLoss {
    /// Decoupled knowledge distillation (Zhao et al., https://arxiv.org/abs/2203.08679; `DKDLoss`):
    /// α·TCKD + β·NCKD, where TCKD is T²·KL between the binary (target, rest) probabilities of teacher and student
    /// and NCKD is T²·KL between their distributions over the non-target classes, both summed and divided by N.
    public static func dkd(student s: Tensor, teacher t: Tensor, target: [Int], temperature: Float, alpha: Float,
                           beta: Float) -> Tensor {
        let (n, classes) = (s.shape[0], s.shape[1])
        let gt = oneHot(target, classes: classes), other = 1 - gt
        let ps = (s * (1 / temperature)).softmax(), pt = (t * (1 / temperature)).softmax()
        func binary(_ p: Tensor) -> Tensor {
            Tensor.concat([(p * gt).sum(axes: [1], keepDims: true), (p * other).sum(axes: [1], keepDims: true)], axis: 1)
        }
        let bs = binary(ps), bt = binary(pt)
        let tckd = (bt * (bt.log() - bs.log())).sum()
        let logPt = (t * (1 / temperature) - gt * 1000).logSoftmax()
        let logPs = (s * (1 / temperature) - gt * 1000).logSoftmax()
        let nckd = (logPt.exp() * (logPt - logPs)).sum()
        let scale = temperature * temperature / Float(n)
        return (tckd * alpha + nckd * beta) * scale
    }

    /// DIST (Huang et al., https://arxiv.org/abs/2205.10536; `DISTLoss`): β·(1 − mean Pearson correlation of the
    /// rows of softmax(s), softmax(t)) + γ·(the same over columns, i.e. per class across the batch).
    public static func dist(student s: Tensor, teacher t: Tensor, beta: Float, gamma: Float) -> Tensor {
        let ys = s.softmax(), yt = t.softmax()
        let inter = 1 - pearson(ys, yt).mean()
        let intra = 1 - pearson(ys.transposed(), yt.transposed()).mean()
        return inter * beta + intra * gamma
    }

    /// Weighted soft labels (Zhou et al., https://arxiv.org/abs/2102.00650; `WSLLoss`): T²·mean over rows of
    /// w·CE(softmax(t/T), s/T), with w = 1 − exp(−max(CE_s/(CE_t + 1e-7), 0)) from the detached hard-label
    /// cross-entropies of student and teacher (at temperature 1).
    public static func wsl(student s: Tensor, teacher t: Tensor, target: [Int], temperature: Float) -> Tensor {
        let (n, classes) = (s.shape[0], s.shape[1])
        let logS = s.detached().logSoftmax(), logT = t.detached().logSoftmax()
        var weights = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let ratio = max(-logS.data[i * classes + target[i]] / (-logT.data[i * classes + target[i]] + 1e-7), 0)
            weights[i] = 1 - exp(-ratio)
        }
        let kd = -((t * (1 / temperature)).softmax() * (s * (1 / temperature)).logSoftmax()).sum(axes: [1], keepDims: true)
        return (kd * Tensor(shape: [n, 1], values: weights)).mean() * (temperature * temperature)
    }

    /// Spherical knowledge distillation (Guo et al., https://arxiv.org/abs/2010.07485; `SKDLoss`): both logits
    /// layer-normalised (ε 1e-7, no affine) and scaled by `multiplier`; then α·T²·CE(softmax(t'/T), s'/T) +
    /// (1 − α)·CE(s', target), each averaged over rows.
    public static func skd(student s: Tensor, teacher t: Tensor, target: [Int], temperature: Float, multiplier: Float,
                           alpha: Float) -> Tensor {
        let ls = layerNormalized(s) * multiplier, lt = layerNormalized(t) * multiplier
        let kd = Tensor.softCrossEntropy(ls * (1 / temperature), target: (lt * (1 / temperature)).softmax())
        let ce = Tensor.crossEntropy(ls, labels: target)
        return kd * (alpha * temperature * temperature) + ce * (1 - alpha)
    }

    /// `DistanceLoss`: the mean of |a − b| (`l1`), (a − b)² (`l2`) or the smooth-L1 of a − b with δ = 1
    /// (`smooth_l1`: ½d² below 1, |d| − ½ above).
    public static func distance(_ a: Tensor, _ b: Tensor, mode: DistanceMode) -> Tensor {
        precondition(a.shape == b.shape, "DistanceLoss: shapes \(a.shape) and \(b.shape)")
        let d = a - b
        switch mode {
        case .l1: return d.abs().mean()
        case .l2: return d.squared().mean()
        case .smoothL1:
            let m = d.abs() - (d.abs() - 1).relu()   // min(|d|, 1)
            return (m.squared() * 0.5 + (d.abs() - m)).mean()
        }
    }

    /// The teacher's argmax per row (the target when labels are not used).
    public static func argmax(_ t: Tensor) -> [Int] {
        let classes = t.shape[1]
        return (0..<t.shape[0]).map { i in
            var best = 0
            for j in 1..<classes where t.data[i * classes + j] > t.data[i * classes + best] { best = j }
            return best
        }
    }

    static func oneHot(_ labels: [Int], classes: Int) -> Tensor {
        let m = Tensor.zeros([labels.count, classes])
        for (i, label) in labels.enumerated() {
            precondition(label >= 0 && label < classes, "label \(label) out of range 0..<\(classes)")
            m.data[i * classes + label] = 1
        }
        return m
    }

    /// Pearson correlation of each row of `a` with the same row of `b` (cosine of the centred rows, ε 1e-8).
    static func pearson(_ a: Tensor, _ b: Tensor) -> Tensor {
        let ca = a - a.mean(axes: [1], keepDims: true), cb = b - b.mean(axes: [1], keepDims: true)
        let dot = (ca * cb).sum(axes: [1])
        let norms = ca.squared().sum(axes: [1]).sqrt() * cb.squared().sum(axes: [1]).sqrt()
        return dot / (norms + 1e-8)
    }

    /// Layer norm over the last axis without affine parameters (ε 1e-7, biased variance).
    static func layerNormalized(_ x: Tensor) -> Tensor {
        let centred = x - x.mean(axes: [1], keepDims: true)
        return centred / (centred.squared().mean(axes: [1], keepDims: true) + 1e-7).sqrt()
    }
}

/// `mode` of `DistanceLoss`.
public enum DistanceMode: String, Decodable, Sendable, CaseIterable {
    case l1, l2, smoothL1 = "smooth_l1"
}
