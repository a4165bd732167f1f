import ClasNN
import ClasTensor
import Foundation

/// The engine's inference mode: an evaluation-only forward pass compiled from the model (batch norms folded,
/// activations and residual additions fused into the convolutions, weights packed once, buffers planned per batch
/// size). `tools eval`, `tools infer`, evaluation during training and export's self-check run models through it.
///
/// The compiler lives above the engine (ClasExport's `InferencePlan`, which builds on the traced export graph) and
/// installs itself in ``compiler``; without it, or for a model it cannot compile (several outputs, an untraceable
/// forward), ``InferenceRunner`` uses the model's own forward. `CLAS_INFERENCE_MODE=0` turns the mode off.
public enum InferenceMode {
    /// Compiles `model` (in evaluation mode) for NHWC images of the given [H, W, C]; throws when it cannot.
    nonisolated(unsafe) public static var compiler: ((Module, [Int]) throws -> (Tensor) -> Tensor)?

    /// Whether runners compile models (off with `CLAS_INFERENCE_MODE=0`).
    nonisolated(unsafe) public static var isEnabled = ProcessInfo.processInfo.environment["CLAS_INFERENCE_MODE"] != "0"
}

/// Runs a model's evaluation forward pass through the inference mode, one compiled plan per image shape.
///
/// A plan is a snapshot of the weights at its compilation: make a new runner after the weights change (the evaluator
/// makes one per evaluation). The model must be in evaluation mode when ``outputs(_:)`` is called.
public final class InferenceRunner {
    /// The model run.
    public let model: Module
    private var plans: [[Int]: (Tensor) -> Tensor] = [:]
    private var refused: Set<[Int]> = []
    /// Why the last compilation failed (the runner then used the model's own forward).
    public private(set) var lastFailure: String?

    /// A runner for `model`.
    public init(model: Module) { self.model = model }

    /// The image shapes [H, W, C] compiled so far.
    public var compiledShapes: [[Int]] { Array(plans.keys) }

    /// Whether batches of this [N, H, W, C] shape run compiled.
    public func isCompiled(for shape: [Int]) -> Bool { plans[Array(shape.dropFirst())] != nil }

    /// The model's outputs for an NHWC batch, computed by the compiled plan when there is one.
    public func outputs(_ x: Tensor) -> ModelOutputs {
        guard InferenceMode.isEnabled, let compiler = InferenceMode.compiler, x.rank == 4,
              !(model is MultiOutputModel), !GradMode.isEnabled
        else { return model.outputs(x) }
        let key = Array(x.shape.dropFirst())
        if let plan = plans[key] { return ModelOutputs(logits: plan(x)) }
        if !refused.contains(key) {
            do {
                let plan = try compiler(model, key)
                plans[key] = plan
                return ModelOutputs(logits: plan(x))
            } catch {
                refused.insert(key)
                lastFailure = "\(error)"
            }
        }
        return model.outputs(x)
    }
}
