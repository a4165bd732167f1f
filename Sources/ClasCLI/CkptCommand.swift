import ArgumentParser
import ClasEngine
import ClasTensor
import Foundation

/// `tools ckpt info|strip`: what a checkpoint holds, and a weights-only copy for deployment.
struct CkptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ckpt", abstract: "Inspect checkpoints, or write a weights-only copy.",
        subcommands: [Info.self, Strip.self])

    /// `tools ckpt info PATH` (alias `ls`).
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "info",
            abstract: "Show a checkpoint's architecture, classes, epoch, best metric, history and size.",
            discussion: """
                PATH is a checkpoint prefix or file (output/M/best_model, …/latest.safetensors) or a run folder \
                (its best_model).

                Examples:
                  tools ckpt info output/MobileNetV3_small_x1_0
                  tools ckpt info output/MobileNetV3_small_x1_0/latest --json
                """,
            aliases: ["ls"])

        @Argument(help: "Checkpoint prefix, file or run folder.")
        var path: String

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() throws {
            let file = Checkpoint.path(for: path)
            let c = try Checkpoint.read(prefix: path)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            let parameters = c.model.values.reduce(0) { $0 + $1.count }
            let meta = c.metadata
            let classes = meta["class_names"].map { $0.components(separatedBy: "\n") } ?? []
            let history = meta["history"].flatMap { try? JSONDecoder().decode([[String: Double]].self, from: Data($0.utf8)) } ?? []
            if json {
                var o: [String: Any] = [
                    "file": file, "bytes": bytes, "format": c.isForeign ? "foreign (PyTorch/timm layout)" : "swiftclas",
                    "tensors": c.model.count, "parameters": parameters, "optimizer_tensors": c.optimizer.count,
                    "ema_tensors": c.ema.count, "class_names": classes, "history": history,
                ]
                if let arch = meta["arch"] { o["arch"] = arch }
                if let n = meta["class_num"].flatMap(Int.init) { o["class_num"] = n }
                if let s = c.state {
                    o["epoch"] = s.epoch
                    o["step"] = s.step
                    o["best_metric"] = s.bestMetric
                    o["best_epoch"] = s.bestEpoch
                }
                let data = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .prettyPrinted])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("file:        \(file) (\(ByteCountFormatter.string(fromByteCount: Int64(bytes), countStyle: .file)))")
            print("format:      \(c.isForeign ? "foreign weights (PyTorch/timm layout, converted on load)" : c.state == nil ? "SwiftClas weights only" : "SwiftClas training checkpoint")")
            if let arch = meta["arch"] { print("arch:        \(arch)") }
            print("tensors:     \(c.model.count) model (\(parameters.formatted()) values), \(c.optimizer.count) optimizer, \(c.ema.count) EMA")
            if let n = meta["class_num"] {
                let shown = classes.prefix(10).joined(separator: ", ") + (classes.count > 10 ? ", …" : "")
                print("classes:     \(n)\(classes.isEmpty ? "" : " (\(shown))")")
            }
            if let s = c.state {
                print("epoch:       \(s.epoch), step \(s.step)")
                if s.bestEpoch > 0 { print(String(format: "best:        %.5f at epoch %d", s.bestMetric, s.bestEpoch)) }
            }
            guard !history.isEmpty else { return }
            let keys = ["epoch"] + Set(history.flatMap(\.keys)).subtracting(["epoch"]).sorted()
            print("history:")
            print("  " + keys.map { $0.padding(toLength: max(8, $0.count), withPad: " ", startingAt: 0) }.joined(separator: " "))
            for r in history {
                print("  " + keys.map { k -> String in
                    let text = r[k].map { k == "epoch" ? String(Int($0)) : String(format: "%.4g", $0) } ?? "-"
                    return text.padding(toLength: max(8, k.count), withPad: " ", startingAt: 0)
                }.joined(separator: " "))
            }
        }
    }

    /// `tools ckpt strip PATH OUT`: model weights (or the EMA weights) with architecture and class names, no
    /// optimizer state or training progress.
    struct Strip: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "strip", abstract: "Write a weights-only copy of a checkpoint (no optimizer state).",
            discussion: """
                Examples:
                  tools ckpt strip output/MobileNetV3_small_x1_0 deploy/model
                  tools ckpt strip output/M/best_model deploy/model.safetensors --ema
                """)

        @Argument(help: "Checkpoint prefix, file or run folder.")
        var path: String

        @Argument(help: "Output prefix or .safetensors file.")
        var output: String

        @Flag(help: "Keep the EMA (averaged) weights instead of the raw ones.")
        var ema = false

        func run() throws {
            let c = try Checkpoint.read(prefix: path)
            guard !c.isForeign else {
                throw ValidationError("\(Checkpoint.path(for: path)) holds foreign weights only; nothing to strip")
            }
            var weights = c.model
            if ema {
                guard !c.ema.isEmpty else { throw ValidationError("\(Checkpoint.path(for: path)) has no EMA weights") }
                for (name, t) in c.ema { weights[name] = t }
            }
            var meta: [String: String] = ["format": Checkpoint.format]
            for key in ["arch", "class_num", "class_names"] { meta[key] = c.metadata[key] }
            if let s = c.state { meta["stripped_from"] = "epoch \(s.epoch), step \(s.step)" + (ema ? ", EMA" : "") }
            let out = Checkpoint.path(for: output)
            try Safetensors.write(weights.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: meta, to: out)
            let before = (try? FileManager.default.attributesOfItem(atPath: Checkpoint.path(for: path))[.size] as? Int) ?? 0
            let after = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            print("wrote \(out): \(weights.count) tensors, \(ByteCountFormatter.string(fromByteCount: Int64(after), countStyle: .file)) "
                  + "(from \(ByteCountFormatter.string(fromByteCount: Int64(before), countStyle: .file)))")
        }
    }
}
