import ClasNN
import ClasTensor

/// Loads timm (PyTorch) weights saved as safetensors into a SwiftClas model of the same architecture.
///
/// Names are timm's already (see each family), so the conversion is layout only: 4-D convolution weights go from
/// OIHW to OHWI, `num_batches_tracked` counters are dropped, everything else is copied as is. To produce a file:
/// `safetensors.torch.save_file(timm.create_model('resnet50d', pretrained=True).state_dict(), 'resnet50d.safetensors')`.
public enum TimmImport {
    /// timm tensors converted to SwiftClas layout, by name (the one conversion: `load` and `Checkpoint.read` use it).
    public static func convert(_ tensors: [(String, Tensor)]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, t) in tensors where !name.hasSuffix("num_batches_tracked") {
            // PyTorch conv weights are [out, in, kh, kw]; ours are [out, kh, kw, in].
            out[name] = t.rank == 4 ? GradMode.withoutGrad { t.permuted([0, 2, 3, 1]) } : t
        }
        return out
    }

    /// Fuses a ``Reparameterizable`` model when `names` are those of fused weights (`reparam_conv`), so they load.
    public static func prepare(_ model: Module, for names: some Sequence<String>) {
        if let fusable = model as? Reparameterizable, names.contains(where: { $0.contains("reparam_conv.") }) {
            fusable.reparameterize()
        }
    }

    /// Reads `path` and copies every tensor into `model` by name; returns what was missing, unexpected or of the
    /// wrong shape. A file of fused MobileOne weights (`reparam_conv`) fuses a ``Reparameterizable`` model first.
    @discardableResult
    public static func load(_ path: String, into model: Module) throws -> LoadReport {
        let entries = try Safetensors.read(path).entries
        let tensors = convert(entries.map { ($0.name, $0.tensor) })
        prepare(model, for: tensors.keys)
        return model.load(tensors)
    }

    /// The model's state dict in timm's layout (OHWI → OIHW), e.g. to save for PyTorch.
    public static func timmStateDict(of model: Module) -> [(String, Tensor)] {
        model.stateDict().map { name, t in (name, t.rank == 4 ? GradMode.withoutGrad { t.permuted([0, 3, 1, 2]) } : t) }
    }
}
