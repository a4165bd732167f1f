import ClasKernels
import ClasNN
import ClasTensor

/// Which parameters receive weight decay (PaddleClas's `no_weight_decay_name` and `one_dim_param_no_weight_decay`).
public struct WeightDecayPolicy: Sendable {
    /// The decay coefficient.
    public var coefficient: Float
    /// Parameters whose name contains any of these substrings get no decay.
    public var excludedNameParts: [String]
    /// Parameters with one dimension (biases, norm scales) get no decay.
    public var excludeOneDimensional: Bool

    public init(coefficient: Float = 0, excludedNameParts: [String] = [], excludeOneDimensional: Bool = false) {
        self.coefficient = coefficient
        self.excludedNameParts = excludedNameParts
        self.excludeOneDimensional = excludeOneDimensional
    }

    /// The decay applied to a named parameter.
    public func decay(for name: String, shape: [Int]) -> Float {
        if excludeOneDimensional && shape.count <= 1 { return 0 }
        if excludedNameParts.contains(where: { !$0.isEmpty && name.contains($0) }) { return 0 }
        return coefficient
    }
}

/// Base class of the optimizers: owns the parameter list, per-parameter decay and named state tensors.
///
/// `step(gradientScale:)` updates every parameter that has a gradient in one fused pass per parameter; the
/// gradient is multiplied by `gradientScale` first (global-norm clipping, accumulation averaging).
open class Optimizer {
    /// Parameters with their names, in model order.
    public let parameters: [(name: String, tensor: Tensor)]
    /// Weight decay per parameter.
    public let decays: [Float]
    /// The learning rate of the next step (set by the schedule).
    public var learningRate: Float
    /// Optimisation steps taken.
    public var stepCount = 0
    /// Factor on every parameter's decay for the next step (a ``WeightDecaySchedule``); 1 keeps the configured decay.
    public var weightDecayScale: Float = 1
    /// Learning-rate factor per parameter, in `parameters` order (PaddleClas's `lr_mult_list`); empty: 1 for all.
    /// During `update` the parameter's `learningRate` is the scheduled rate times its factor, so every optimizer's
    /// update of the parameter scales by exactly that factor.
    public var learningRateMultipliers: [Float] = [] {
        willSet { precondition(newValue.isEmpty || newValue.count == parameters.count, "one multiplier per parameter") }
    }
    /// The largest configured decay coefficient (0 when nothing decays).
    public var weightDecay: Float { decays.max() ?? 0 }

    /// - Parameters:
    ///   - parameters: named parameters (frozen ones are skipped at each step).
    ///   - learningRate: initial rate.
    ///   - weightDecay: which parameters decay, and how much.
    public init(parameters: [(String, Tensor)], learningRate: Float, weightDecay: WeightDecayPolicy) {
        self.parameters = parameters.map { (name: $0.0, tensor: $0.1) }
        self.decays = parameters.map { weightDecay.decay(for: $0.0, shape: $0.1.shape) }
        self.learningRate = learningRate
    }

    /// Applies one update to every parameter with a gradient.
    public func step(gradientScale: Float = 1) {
        let scheduled = learningRate
        defer { learningRate = scheduled }
        for (i, p) in parameters.enumerated() {
            guard p.tensor.requiresGrad, let g = p.tensor.grad else { continue }
            if !learningRateMultipliers.isEmpty { learningRate = scheduled * learningRateMultipliers[i] }
            update(index: i, parameter: p.tensor, gradient: g, decay: decays[i] * weightDecayScale, scale: gradientScale)
        }
        stepCount += 1
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() {
        for p in parameters { p.tensor.grad = nil }
    }

    /// Updates one parameter in place. Subclasses implement their rule here.
    open func update(index: Int, parameter: Tensor, gradient: Tensor, decay: Float, scale: Float) {
        preconditionFailure("\(type(of: self)) does not implement update")
    }

    /// Named state tensors (momenta etc.) for checkpoints.
    open var state: [(String, Tensor)] { [] }

    /// A state tensor for parameter `index`, created as zeros on first use.
    public func slot(_ slots: inout [Tensor?], _ index: Int) -> Tensor {
        if slots.isEmpty { slots = [Tensor?](repeating: nil, count: parameters.count) }
        if let t = slots[index] { return t }
        let t = Tensor.zeros(parameters[index].tensor.shape)
        slots[index] = t
        return t
    }

    /// Named state of the given slots (only those created).
    public func namedSlots(_ prefix: String, _ slots: [Tensor?]) -> [(String, Tensor)] {
        slots.enumerated().compactMap { i, t in t.map { ("\(prefix).\(parameters[i].name)", $0) } }
    }

    /// Restores state saved from `state` (names must match); returns how many tensors were restored.
    @discardableResult
    open func loadState(_ tensors: [String: Tensor]) -> Int { 0 }

    /// Restores slots named `prefix.<parameter name>`.
    public func restoreSlots(_ prefix: String, _ slots: inout [Tensor?], from tensors: [String: Tensor]) -> Int {
        var n = 0
        for (i, p) in parameters.enumerated() {
            if let t = tensors["\(prefix).\(p.name)"], t.shape == p.tensor.shape {
                slot(&slots, i).copy(from: t)
                n += 1
            }
        }
        return n
    }

    /// Global L2 norm of all gradients (for clipping).
    public func gradientNorm() -> Float {
        var s = 0.0
        for p in parameters where p.tensor.requiresGrad {
            if let g = p.tensor.grad { s += clas_sum_squares(g.data, Int64(g.count)) }
        }
        return Float(s.squareRoot())
    }
}
