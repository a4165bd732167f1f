import ClasKernels
import ClasTensor

/// RMSProp in PaddlePaddle's form: ms = ρ·ms + (1−ρ)·g²; mom = μ·mom + lr·g/√(ms + ε); p −= mom.
public final class RMSProp: Optimizer {
    public let rho: Float, momentum: Float, epsilon: Float
    private var meanSquare: [Tensor?] = [], moment: [Tensor?] = []

    public init(parameters: [(String, Tensor)], learningRate: Float, rho: Float = 0.95, momentum: Float = 0,
                epsilon: Float = 1e-6, weightDecay: WeightDecayPolicy = .init()) {
        (self.rho, self.momentum, self.epsilon) = (rho, momentum, epsilon)
        super.init(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)
    }

    public override func update(index: Int, parameter: Tensor, gradient: Tensor, decay: Float, scale: Float) {
        clas_rmsprop_update(parameter.data, gradient.data, slot(&meanSquare, index).data, slot(&moment, index).data,
                            Int64(parameter.count), learningRate, rho, momentum, epsilon, decay, scale)
    }

    public override var state: [(String, Tensor)] { namedSlots("mean_square", meanSquare) + namedSlots("moment", moment) }

    public override func loadState(_ tensors: [String: Tensor]) -> Int {
        restoreSlots("mean_square", &meanSquare, from: tensors) + restoreSlots("moment", &moment, from: tensors)
    }
}
