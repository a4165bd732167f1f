import ClasConfig
import ClasHub
import ClasModels
import Foundation

/// `Arch.pretrained` (PaddleClas's switch, timm's `pretrained=True`): ImageNet weights for the chosen architecture,
/// loaded before `Global.pretrained_model`.
///
/// - `True`: the weights the model card names (`timm/<model>.<tag>` on the Hugging Face hub, `model.safetensors`).
/// - a tag (`ra_in1k`, `lamb_in1k`): the same model with that tag (`timm/<model>.<tag>`).
/// - a repository (`timm/resnet50.a1_in1k`, `hf-hub:owner/name`), an http(s) URL, or a local `.safetensors`,
///   `.pth`, `.pt` or `.bin` file.
/// - `False`/null: none.
///
/// Downloads go through ``HubDownloader`` (verified cache, `HF_ENDPOINT`, `HF_HUB_OFFLINE`). `use_ssld: True` asks
/// for PaddleClas's SSLD-distilled weights, which the hub does not have: the card's weights are used, with a notice.
struct ArchPretrained {
    /// What `Arch.pretrained` resolved to (a repository spec, URL or path), nil for no weights.
    let source: String?
    /// Lines for the log (e.g. the `use_ssld` notice).
    let notices: [String]

    /// Reads `pretrained`/`use_ssld` from the Arch spec; returns the spec without them (the families never see them).
    static func read(_ spec: ComponentSpec, card: ModelCard?) throws -> (ArchPretrained, ComponentSpec) {
        let node = spec.args["pretrained"], ssld = spec.args["use_ssld"]?.scalar.flatMap { Scalars.bool($0.text) } ?? false
        let rest = spec.removingArgs(["pretrained", "use_ssld"])
        var notices: [String] = []
        guard let node, let scalar = node.scalar, !Scalars.isNull(scalar) else {
            return (ArchPretrained(source: nil, notices: []), rest)
        }
        let text = scalar.text.trimmingCharacters(in: .whitespaces)
        if let flag = Scalars.bool(text), !scalar.isQuoted {
            guard flag else { return (ArchPretrained(source: nil, notices: []), rest) }
            guard let weights = card?.weights else {
                throw ConfigError("Arch.pretrained: True, but \(spec.name) has no known pretrained weights; give a "
                                  + "repository (timm/<model>.<tag>), a URL or a weights file instead", at: node.location)
            }
            if ssld {
                notices.append("Arch.use_ssld: PaddleClas's SSLD-distilled weights are not on the Hugging Face hub; "
                               + "loading \(weights) instead")
            }
            return (ArchPretrained(source: weights, notices: notices), rest)
        }
        let isPath = FileManager.default.fileExists(atPath: (text as NSString).expandingTildeInPath)
        if isPath || text.contains("/") || text.contains(":") { return (ArchPretrained(source: text, notices: []), rest) }
        // A bare tag: the card's model with another tag.
        guard let weights = card?.weights, let dot = weights.firstIndex(of: ".") else {
            throw ConfigError("Arch.pretrained: '\(text)' is neither a file nor a repository, and \(spec.name) has no "
                              + "known weights to take a tag from", at: node.location)
        }
        return (ArchPretrained(source: "\(weights[..<dot]).\(text)", notices: []), rest)
    }

    /// Fetches (or finds in the cache) and reads the weights, converted to SwiftClas layout.
    func contents() throws -> (file: String, contents: Checkpoint.Contents)? {
        guard let source else { return nil }
        let url = try PretrainedWeights.localFile(for: source)
        return (url.path, try Checkpoint.read(prefix: url.path))
    }
}
