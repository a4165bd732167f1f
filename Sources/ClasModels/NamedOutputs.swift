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
/// A family whose PaddleClas layer names differ from timm's adds them as ``outputAliases`` (PP-LCNet's `blocks2` …
/// `blocks6`), and ``stageOutputNames`` lists PaddleClas's `stages_pattern`, what `return_stages` selects from.
///
/// A new family gets the same names by being a ``LayeredModel``; a model whose forward pass is not a chain of
/// layers can conform to ``NamedOutputsModel`` itself.
public protocol NamedOutputsModel: Module {
    /// Every name ``forward(_:returning:)`` accepts, in forward order.
    var outputNames: [String] { get }
    /// The logits and the outputs named in `names` (each a name of ``outputNames``).
    func forward(_ x: Tensor, returning names: Set<String>) -> (logits: Tensor, outputs: [String: Tensor])
    /// Further names of outputs: alias → the step name it stands for (PaddleClas names where timm's differ).
    var outputAliases: [String: String] { get }
    /// PaddleClas's `stages_pattern`: the outputs `return_stages: True` returns (`return_stages: [i, …]` picks
    /// those); empty when the family has none.
    var stageOutputNames: [String] { get }
}

extension NamedOutputsModel {
    public var outputAliases: [String: String] { [:] }
    public var stageOutputNames: [String] { [] }
}

extension NamedOutputsModel where Self: LayeredModel {
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
        let aliases = outputAliases
        guard !aliases.isEmpty else { return steps }
        return steps.map { step in
            (step.names + aliases.filter { step.names.contains($0.value) }.keys.sorted(), step.run)
        }
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

extension ResNet: NamedOutputsModel {
    /// The last block of each layer (ResNet50: `blocks[2]`, `blocks[6]`, `blocks[12]`, `blocks[15]`).
    public var stageOutputNames: [String] {
        var end = 0
        return [layer1, layer2, layer3, layer4].map { end += $0.layers.count; return "blocks[\(end - 1)]" }
    }
}

extension MobileNetV3: NamedOutputsModel {
    /// PaddleClas's `MODEL_STAGES_PATTERN` (its flat block list is timm's).
    public var stageOutputNames: [String] {
        outputNames.contains("blocks[14]") ? ["blocks[0]", "blocks[2]", "blocks[5]", "blocks[11]", "blocks[14]"]
            : ["blocks[0]", "blocks[2]", "blocks[7]", "blocks[10]"]
    }
}

extension PPLCNet: NamedOutputsModel {
    /// PaddleClas's stage names: `blocks2` … `blocks6` are timm's `blocks.0` … `blocks.2`, `blocks.4` (the end of
    /// PaddleClas's blocks5, timm's `blocks.3` + `blocks.4`) and `blocks.5`.
    public var outputAliases: [String: String] {
        ["blocks2": "blocks.0", "blocks3": "blocks.1", "blocks4": "blocks.2", "blocks5": "blocks.4", "blocks6": "blocks.5"]
    }
    public var stageOutputNames: [String] { ["blocks2", "blocks3", "blocks4", "blocks5", "blocks6"] }
}
extension EfficientNet: NamedOutputsModel {}
extension MobileOne: NamedOutputsModel {}
