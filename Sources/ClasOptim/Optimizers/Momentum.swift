import ClasKernels
import ClasTensor

/// SGD with momentum (PaddlePaddle's `Momentum`): v = μ·v + g + λ·p; p −= lr·v, or with Nesterov p −= lr·(g + λ·p + μ·v).
/// Weight decay λ is coupled L2 (PaddleClas's `regularizer: {name: L2, coeff}`).
public final class Momentum: Optimizer {
    public let momentum: Float
    public let nesterov: Bool
    private var velocity: [Tensor?] = []

    public init(parameters: [(String, Tensor)], learningRate: Float, momentum: Float = 0.9, nesterov: Bool = false,
                weightDecay: WeightDecayPolicy = .init()) {
        self.momentum = momentum
        self.nesterov = nesterov
        super.init(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)
    }

    public override func update(index: Int, parameter: Tensor, gradient: Tensor, decay: Float, scale: Float) {
        let v = slot(&velocity, index)
        clas_sgd_update(parameter.data, gradient.data, v.data, Int64(parameter.count), learningRate, momentum, decay,
                        nesterov, scale)
    }

    public override var state: [(String, Tensor)] { namedSlots("velocity", velocity) }

    public override func loadState(_ tensors: [String: Tensor]) -> Int { restoreSlots("velocity", &velocity, from: tensors) }
}
