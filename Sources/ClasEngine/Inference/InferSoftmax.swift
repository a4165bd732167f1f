import ClasConfig

/// `Arch.infer_add_softmax: True` (PaddleClas): the exported model ends with a softmax, so it outputs
/// probabilities (`tools export --softmax` does the same). Read from `Arch` for any model; the key is removed
/// before the model's options are decoded. Training, evaluation and `tools infer` are unchanged.
enum InferSoftmax {
    static let key = "infer_add_softmax"

    /// The switch and the spec the model factory should see.
    static func read(_ spec: ComponentSpec) throws -> (Bool, ComponentSpec) {
        guard let node = spec.args[key] else { return (false, spec) }
        guard node.isNull || node.scalar.flatMap({ Scalars.bool($0.text) }) != nil else {
            throw ConfigError("\(spec.path).\(key) expects a boolean, got \(node.summary)", at: node)
        }
        let value = node.scalar.flatMap { Scalars.bool($0.text) } ?? false
        return (value, spec.removingArgs([key]))
    }
}
