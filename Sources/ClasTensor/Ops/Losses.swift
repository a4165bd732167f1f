import ClasKernels
import Foundation

/// Classification losses on logits [N, classes].
extension Tensor {
    /// Mean cross-entropy against integer labels, with label smoothing `epsilon` (0 = none): the target is
    /// (1 − ε)·onehot + ε/classes, as PaddleClas's CELoss and PyTorch's `label_smoothing`.
    public static func crossEntropy(_ logits: Tensor, labels: [Int], labelSmoothing epsilon: Float = 0) -> Tensor {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count, "crossEntropy: logits \(logits.shape), \(labels.count) labels")
        let classes = logits.shape[1]
        let target = Tensor(shape: logits.shape, repeating: epsilon / Float(classes))
        for (i, label) in labels.enumerated() {
            precondition(label >= 0 && label < classes, "label \(label) out of range 0..<\(classes)")
            target.data[i * classes + label] += 1 - epsilon
        }
        return softCrossEntropy(logits, target: target)
    }

    /// Mean over rows of −Σ target·log_softmax(logits) (soft targets: mixup, distillation).
    public static func softCrossEntropy(_ logits: Tensor, target: Tensor) -> Tensor {
        precondition(logits.shape == target.shape, "softCrossEntropy: logits \(logits.shape), target \(target.shape)")
        let rows = logits.shape[0]
        return -(logits.logSoftmax() * target).sum() * (1 / Float(rows))
    }

    /// Kullback–Leibler divergence KL(p ‖ q) = Σ p·(log p − log q), averaged over rows, from log-probabilities.
    public static func klDivergence(logP: Tensor, logQ: Tensor) -> Tensor {
        precondition(logP.shape == logQ.shape, "klDivergence shapes \(logP.shape) vs \(logQ.shape)")
        let rows = logP.shape[0]
        return (logP.exp() * (logP - logQ)).sum() * (1 / Float(rows))
    }
}

extension Tensor {
    /// Elementwise binary cross-entropy of `logits` against `target` (same shape, no reduction), computed stably as
    /// max(x, 0) − x·y + log(1 + e^−|x|) (PyTorch's `binary_cross_entropy_with_logits`, `reduction='none'`).
    /// The gradient is σ(x) − y; the target is a constant.
    public static func binaryCrossEntropyWithLogits(_ logits: Tensor, target: Tensor) -> Tensor {
        precondition(logits.shape == target.shape, "binaryCrossEntropyWithLogits: logits \(logits.shape), target \(target.shape)")
        let out = Tensor(uninitializedShape: logits.shape)
        for i in 0..<logits.count {
            let x = logits.data[i], y = target.data[i]
            out.data[i] = Swift.max(x, 0) - x * y + Foundation.log1p(Foundation.exp(-Swift.abs(x)))
        }
        guard Tensor.needsGrad(logits) else { return out }
        let x = logits.detached(), y = target.detached()
        return out.record("bce_with_logits", [logits]) { g in
            let r = Tensor(uninitializedShape: g.shape)
            for i in 0..<g.count { r.data[i] = g.data[i] * (1 / (1 + Foundation.exp(-x.data[i])) - y.data[i]) }
            return [r]
        }
    }
}
