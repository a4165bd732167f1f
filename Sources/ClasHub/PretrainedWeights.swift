import ClasTensor
import Foundation

/// The entry point for pretrained weights: where they come from (a local file, a URL, or a hub repository fetched
/// into the verified cache) and how they are read (safetensors or a PyTorch checkpoint). Mapping architecture names
/// to repositories belongs to the model cards; this takes the repository.
public enum PretrainedWeights {
    /// The weight-file extensions `load` reads.
    public static let pytorchExtensions: Set<String> = ["pth", "pt", "bin", "ckpt"]

    /// A local file for `spec`: an existing path as is; otherwise an http(s) URL, `owner/name[@revision]`,
    /// `hf-hub:owner/name` or a bare timm name (`resnet50.a1_in1k`), fetched through `downloader` (the cache,
    /// verified; offline mode honoured).
    public static func localFile(for spec: String, filename: String = "model.safetensors", revision: String? = nil,
                                 sha256: String? = nil, downloader: HubDownloader = HubDownloader()) throws -> URL {
        let expanded = (spec as NSString).expandingTildeInPath
        if FileManager.default.fileExists(atPath: expanded) { return URL(fileURLWithPath: expanded) }
        let file = try HubFile.parse(spec, filename: filename, revision: revision,
                                     endpoint: downloader.environment.endpoint)
        return try downloader.fetch(file, sha256: sha256)
    }

    /// Reads a weights file by its extension: `.safetensors`, or a PyTorch checkpoint (`.pth`, `.pt`, `.bin`,
    /// `.ckpt`), as (name, Float32 tensor) pairs in file order.
    public static func load(_ path: URL) throws -> [(String, Tensor)] {
        if pytorchExtensions.contains(path.pathExtension.lowercased()) { return try TorchCheckpoint.read(path.path) }
        return try Safetensors.read(path.path).entries.map { ($0.name, $0.tensor) }
    }
}
