import ClasKernels
import Foundation
import ClasTensor

/// Adam (Kingma & Ba, https://arxiv.org/abs/1412.6980) and AdamW (Loshchilov & Hutter,
/// https://arxiv.org/abs/1711.05101): with `decoupled`, weight decay shrinks the weights directly (p −= lr·λ·p)
/// instead of entering the gradient.
public final class Adam: Optimizer {
    public let beta1: Float, beta2: Float, epsilon: Float
    public let decoupled: Bool
    private var m: [Tensor?] = [], v: [Tensor?] = []
    /// Steps per parameter (bias correction), saved with the state.
    private var steps: [Int] = []

    public init(parameters: [(String, Tensor)], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, decoupled: Bool = false, weightDecay: WeightDecayPolicy = .init()) {
        (self.beta1, self.beta2, self.epsilon, self.decoupled) = (beta1, beta2, epsilon, decoupled)
        super.init(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)
        steps = [Int](repeating: 0, count: parameters.count)
    }

    public override func update(index: Int, parameter: Tensor, gradient: Tensor, decay: Float, scale: Float) {
        steps[index] += 1
        let t = Float(steps[index])
        let bc1 = 1 - powf(beta1, t), bc2 = 1 - powf(beta2, t)
        clas_adam_update(parameter.data, gradient.data, slot(&m, index).data, slot(&v, index).data,
                         Int64(parameter.count), learningRate, beta1, beta2, epsilon, decay, decoupled, bc1, bc2, scale)
    }

    public override var state: [(String, Tensor)] {
        namedSlots("moment1", m) + namedSlots("moment2", v)
            + [("steps", Tensor(shape: [steps.count], values: steps.map(Float.init)))]
    }

    public override func loadState(_ tensors: [String: Tensor]) -> Int {
        // Step counts are whole, non-negative numbers; anything else (a corrupt file) leaves the counts alone.
        if let s = tensors["steps"], s.count == steps.count {
            let counts = s.scalars.compactMap { Int(exactly: $0) }
            if counts.count == steps.count, counts.allSatisfy({ $0 >= 0 }) { steps = counts }
        }
        return restoreSlots("moment1", &m, from: tensors) + restoreSlots("moment2", &v, from: tensors)
    }
}
