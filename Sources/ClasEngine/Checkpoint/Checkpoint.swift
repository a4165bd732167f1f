import ClasHub
import ClasModels
import ClasNN
import ClasOptim
import ClasTensor
import Foundation

/// Checkpoints as single safetensors files: the model's tensors under their own names (so any safetensors reader
/// can use them), the optimizer state under `optimizer.*`, the EMA weights under `ema.*`, trainable losses' tensors
/// under `loss.*`, and the training state
/// (epoch, step, best metric, …) in the metadata. One file means one atomic write: a crash or kill leaves either
/// the previous checkpoint or the new one, never a mix.
public enum Checkpoint {
    /// Marks files written by SwiftClas (timm/PyTorch files say `pt` or nothing).
    public static let format = "swiftclas"
    public static let fileExtension = "safetensors"

    /// The training state stored in a checkpoint's metadata.
    public struct State: Equatable {
        /// Last completed epoch (1-based).
        public var epoch: Int
        /// Optimizer steps taken.
        public var step: Int
        /// Best evaluation metric so far.
        public var bestMetric: Double
        /// Epoch that reached it.
        public var bestEpoch: Int
        /// Extra string values (scheduler state, architecture name, …).
        public var extra: [String: String]

        public init(epoch: Int, step: Int, bestMetric: Double, bestEpoch: Int, extra: [String: String] = [:]) {
            (self.epoch, self.step, self.bestMetric, self.bestEpoch, self.extra) = (epoch, step, bestMetric, bestEpoch, extra)
        }
    }

    /// Errors with the path and what is wrong.
    public struct LoadError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The file for a prefix: `output/M/latest` → `output/M/latest.safetensors` (an existing `.safetensors` or
    /// PyTorch extension is kept; PaddleClas's `.pdparams` is replaced). A run folder stands for its `best_model`.
    public static func path(for prefix: String) -> String {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: prefix, isDirectory: &isFolder), isFolder.boolValue {
            return ((prefix as NSString).appendingPathComponent("best_model") as NSString)
                .appendingPathExtension(fileExtension) ?? prefix
        }
        let ext = (prefix as NSString).pathExtension.lowercased()
        if ext == fileExtension || PretrainedWeights.pytorchExtensions.contains(ext) { return prefix }
        if prefix.hasSuffix(".pdparams") { return String(prefix.dropLast(".pdparams".count)) + ".\(fileExtension)" }
        return "\(prefix).\(fileExtension)"
    }

    /// Writes model, optimizer, EMA and state to `prefix.safetensors` atomically.
    /// `losses`: the trainable losses' tensors, named `loss.…`.
    public static func save(prefix: String, model: Module, optimizer: Optimizer?, ema: ModelEMA?, state: State,
                            losses: [(String, Tensor)] = []) throws {
        var tensors = model.stateDict() + losses
        if let optimizer { tensors += optimizer.state.map { ("optimizer.\($0.0)", $0.1) } }
        if let ema { tensors += ema.shadow.map { ("ema.\($0.0)", $0.1) } }
        var meta = state.extra
        meta["format"] = format
        meta["epoch"] = String(state.epoch)
        meta["step"] = String(state.step)
        meta["best_metric"] = String(state.bestMetric)
        meta["best_epoch"] = String(state.bestEpoch)
        if let ema { meta["ema_updates"] = String(ema.updates) }
        try Safetensors.write(tensors, metadata: meta, to: path(for: prefix))
    }

    /// A checkpoint or weights file read into memory.
    public struct Contents {
        /// Model tensors (plain names), in SwiftClas layout.
        public var model: [String: Tensor]
        /// Optimizer state (names without the `optimizer.` prefix).
        public var optimizer: [String: Tensor]
        /// EMA weights (names without the `ema.` prefix).
        public var ema: [String: Tensor]
        /// Trainable losses' tensors (names without the `loss.` prefix).
        public var loss: [String: Tensor] = [:]
        /// The training state, when the file is a SwiftClas checkpoint with one.
        public var state: State?
        /// Whether the file came from PyTorch/timm (converted to our layout).
        public var isForeign: Bool
        /// The metadata as stored.
        public var metadata: [String: String]
    }

    /// Reads a checkpoint or a weights file: ours, or a timm/PyTorch state dict saved as safetensors or as a
    /// PyTorch `.pth`/`.pt`/`.bin` file (read without running code, like `torch.load(weights_only=True)`), whose
    /// OIHW convolution weights are converted to OHWI and `num_batches_tracked` dropped.
    public static func read(prefix: String) throws -> Contents {
        let file = path(for: prefix)
        guard FileManager.default.fileExists(atPath: file) else {
            throw LoadError(message: "no checkpoint at \(file) (from '\(prefix)')")
        }
        if PretrainedWeights.pytorchExtensions.contains((file as NSString).pathExtension.lowercased()) {
            let tensors = TimmImport.convert(try TorchCheckpoint.read(file))
            return Contents(model: tensors, optimizer: [:], ema: [:], state: nil, isForeign: true, metadata: [:])
        }
        let (entries, meta) = try Safetensors.read(file)
        let foreign = meta["format"] != format
        var contents = Contents(model: [:], optimizer: [:], ema: [:], state: nil, isForeign: foreign, metadata: meta)
        if foreign { contents.model = TimmImport.convert(entries.map { ($0.name, $0.tensor) }) }
        for e in entries where !foreign {
            if e.name.hasPrefix("optimizer.") {
                contents.optimizer[String(e.name.dropFirst("optimizer.".count))] = e.tensor
            } else if e.name.hasPrefix("ema.") {
                contents.ema[String(e.name.dropFirst("ema.".count))] = e.tensor
            } else if e.name.hasPrefix("loss.") {
                contents.loss[String(e.name.dropFirst("loss.".count))] = e.tensor
            } else {
                contents.model[e.name] = e.tensor
            }
        }
        if !foreign, let epoch = meta["epoch"].flatMap(Int.init), let step = meta["step"].flatMap(Int.init) {
            let reserved: Set<String> = ["format", "epoch", "step", "best_metric", "best_epoch"]
            contents.state = State(epoch: epoch, step: step, bestMetric: meta["best_metric"].flatMap(Double.init) ?? 0,
                                   bestEpoch: meta["best_epoch"].flatMap(Int.init) ?? 0,
                                   extra: meta.filter { !reserved.contains($0.key) })
        }
        return contents
    }
}
