import ClasNN
import ClasTensor

/// Named intermediate outputs of a model (PaddleClas's `return_patterns`), for feature-level distillation losses.
///
/// Every ``LayeredModel`` has them, under two spellings:
/// - each step of ``LayeredModel/layers`` by its timm name (`layer2`, `blocks.3` — a whole stage —, `global_pool`,
///   also called `avg_pool`);
/// - `blocks[k]`, the k-th block counted across the stages: the elements of every step that is a `Sequential`
///   named `layer…`, `blocks…` or `stages…` (timm's stages) numbered in forward order, as PaddleClas's flat `self.blocks` list (ResNet18 `blocks[0]` …
///   `blocks[7]`, MobileNetV3_large `blocks[0]` … `blocks[14]`). A step that is not a `Sequential` is one block.
///
/// A new family gets the same names by being a ``LayeredModel``; a model whose forward pass is not a chain of
/// layers can conform to ``NamedOutputsModel`` itself.
public protocol NamedOutputsModel: Module {
    /// Every name ``forward(_:returning:)`` accepts, in forward order.
    var outputNames: [String] { get }
    /// The logits and the outputs named in `names` (each a name of ``outputNames``).
    func forward(_ x: Tensor, returning names: Set<String>) -> (logits: Tensor, outputs: [String: Tensor])
}

extension LayeredModel {
    /// The steps at block granularity, each with the names it answers to.
    private var namedSteps: [(names: [String], run: (Tensor) -> Tensor)] {
        var steps: [(names: [String], run: (Tensor) -> Tensor)] = []
        var block = 0
        for layer in layers {
            var names = [layer.name]
            if layer.name == "global_pool" { names.append("avg_pool") }
            if layer.modules.count == 1, let stage = layer.modules[0] as? Sequential, !stage.layers.isEmpty,
               ["layer", "blocks", "stages"].contains(where: layer.name.hasPrefix) {
                for (i, element) in stage.layers.enumerated() {
                    let isLast = i == stage.layers.count - 1
                    steps.append((["blocks[\(block)]"] + (isLast ? names : []), { element($0) }))
                    block += 1
                }
            } else {
                steps.append((names, layer.run))
            }
        }
        return steps
    }

    /// Every output name, in forward order.
    public var outputNames: [String] { namedSteps.flatMap(\.names) }

    /// Runs ``layers`` and keeps the outputs named in `names`.
    public func forward(_ x: Tensor, returning names: Set<String>) -> (logits: Tensor, outputs: [String: Tensor]) {
        var y = x
        var kept: [String: Tensor] = [:]
        for step in namedSteps {
            y = step.run(y)
            for name in step.names where names.contains(name) { kept[name] = y }
        }
        return (y, kept)
    }
}

extension ResNet: NamedOutputsModel {}
extension MobileNetV3: NamedOutputsModel {}
extension EfficientNet: NamedOutputsModel {}
extension MobileOne: NamedOutputsModel {}
