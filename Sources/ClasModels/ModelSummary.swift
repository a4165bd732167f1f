import ClasNN
import ClasTensor
import Foundation

/// One step of a model's forward pass at the granularity a summary shows (stem, each stage, head).
public struct ModelLayer {
    /// timm-style name (`conv_stem`, `blocks.3`, `global_pool`).
    public let name: String
    /// The modules whose parameters belong to this step (none for pooling).
    public let modules: [Module]
    /// Runs the step.
    public let run: (Tensor) -> Tensor

    public init(_ name: String, _ modules: [Module] = [], _ run: @escaping (Tensor) -> Tensor) {
        (self.name, self.modules, self.run) = (name, modules, run)
    }

    /// A step that is one module.
    public init(_ name: String, _ module: Module) {
        self.init(name, [module]) { module($0) }
    }
}

/// A model whose forward pass is a chain of named steps; the built-in families run `forward` through
/// ``layers``, so a summary shows exactly what runs.
public protocol LayeredModel: Module {
    /// The forward pass, in order.
    var layers: [ModelLayer] { get }
}

extension LayeredModel {
    /// Runs ``layers`` in order.
    public func forwardLayers(_ x: Tensor) -> Tensor { layers.reduce(x) { $1.run($0) } }
}

/// Per-layer output shapes, parameters and multiply-accumulates of a model on one input size (`tools summary`).
///
/// MACs count convolutions and linear layers as timm/fvcore do (``MACCounter``). Models that are not
/// ``LayeredModel``s give one row. The model runs once in evaluation mode without a graph; its training mode is
/// restored afterwards and its weights are untouched (batch-norm statistics are not updated in evaluation mode).
public struct ModelSummary: CustomStringConvertible {
    public struct Row: Equatable {
        public let name: String
        /// Output shape (NHWC, batch 1) of this step.
        public let outputShape: [Int]
        public let parameters: Int
        public let macs: Int
    }

    /// The input shape used: [1, size, size, channels].
    public let inputShape: [Int]
    public let rows: [Row]
    /// Trainable parameters as the model is now.
    public let parameters: Int
    /// Parameters after `reparameterize()`, for ``Reparameterizable`` models.
    public let reparameterizedParameters: Int?
    /// MACs of one image at the input size, as the model is now (fused or not).
    public let macs: Int

    /// Summarises `model` on a `inputSize`×`inputSize` image with `inChannels` channels.
    public init(_ model: Module, inputSize: Int, inChannels: Int = 3) {
        inputShape = [1, inputSize, inputSize, inChannels]
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let x = Tensor.zeros(inputShape)
        var rows: [Row] = []
        GradMode.withoutGrad {
            if let layered = model as? LayeredModel {
                var y = x
                for layer in layered.layers {
                    let macs = MACCounter.count { y = layer.run(y) }
                    let params = layer.modules.reduce(0) { $0 + $1.parameterCount }
                    rows.append(Row(name: layer.name, outputShape: y.shape, parameters: params, macs: macs))
                }
            } else {
                var y = x
                let macs = MACCounter.count { y = model(x) }
                rows.append(Row(name: "\(type(of: model))", outputShape: y.shape, parameters: model.parameterCount,
                                macs: macs))
            }
        }
        self.rows = rows
        parameters = model.parameterCount
        reparameterizedParameters = (model as? Reparameterizable)?.reparameterizedParameterCount
        macs = rows.reduce(0) { $0 + $1.macs }
    }

    /// A table: one line per row, then the totals.
    public var description: String {
        func group(_ n: Int) -> String {
            let s = String(n)
            var out = ""
            for (i, ch) in s.enumerated() {
                if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
                out.append(ch)
            }
            return out
        }
        let nameWidth = max(12, rows.map(\.name.count).max() ?? 0)
        func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, w - s.count))
            return left ? s + fill : fill + s
        }
        var lines = [pad("layer", nameWidth, left: true) + "  " + pad("output", 20, left: true) + pad("params", 14)
                     + pad("MACs", 17)]
        for r in rows {
            let shape = "[" + r.outputShape.map(String.init).joined(separator: ", ") + "]"
            lines.append(pad(r.name, nameWidth, left: true) + "  " + pad(shape, 20, left: true)
                         + pad(group(r.parameters), 14) + pad(group(r.macs), 17))
        }
        lines.append("input \(inputShape) (NHWC)")
        lines.append("parameters: \(group(parameters))")
        if let fused = reparameterizedParameters { lines.append("parameters after reparameterize(): \(group(fused))") }
        lines.append(String(format: "MACs: %@ (%.1f M)", group(macs), Double(macs) / 1e6))
        return lines.joined(separator: "\n")
    }
}
