import ArgumentParser
import ClasConfig
import ClasData
import ClasEngine
import ClasModels
import Foundation

/// `tools predict IMAGES... --weights W`: classification without a config. The architecture, class count and names
/// come from the checkpoint's metadata; the preprocessing from the run folder's resolved `config.yaml` (its
/// `Infer.transforms`, else the Eval dataset's `transform_ops`) when there is one, else from the model card.
/// It builds the config `tools infer` would read and runs the same ``Predictor``, so the scores are the same.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict", abstract: "Classify images with a checkpoint or run folder; no config needed.",
        discussion: """
            The architecture, class count and class names come from the checkpoint;
            the preprocessing from the run folder's config.yaml (Infer.transforms,
            else DataLoader.Eval's transform_ops), else from the model card (resize,
            centre crop, mean/std). IMAGES are files, folders (searched
            recursively), globs, or - to read paths from stdin, one per line.
            Examples:
              tools predict coat.png --weights output/MobileNetV3_small_x1_0
              tools predict 'val/*.png' --weights output/M/best_model --format csv
              find photos -name '*.jpg' | tools predict - --weights output/M
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

    @Argument(help: "Image files, folders, globs, or - (paths on stdin).")
    var images: [String]
    @Option(help: "A checkpoint (output/M/best_model) or a run folder (its best_model).")
    var weights: String
    @Option(help: "How many classes to report per image.")
    var topk = 5
    @Option(help: "table, json (one line per image, as tools infer) or csv.")
    var format: Format = .table
    @Option(help: "Images per batch (default: the run's Infer.batch_size, else 8).")
    var batchSize: Int?

    func validate() throws {
        guard topk >= 1 else { throw ValidationError("--topk must be at least 1") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let files = try collectImages()
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("swiftclas-predict-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let configPath = (scratch as NSString).appendingPathComponent("predict.yaml")
            try configText(firstImage: files[0], outputDir: scratch).write(toFile: configPath, atomically: true, encoding: .utf8)
            let engine = try Engine(config: RunConfig.load(configPath), mode: .infer,
                                    registries: CommandContext.registries, quiet: true)
            let results = try Predictor(engine: engine).run(print: false, files: files)
            print(PredictOutput.render(results, format: format), terminator: "")
        }
    }

    /// The images named on the command line, in order (folders expanded sorted, globs expanded sorted).
    func collectImages() throws -> [String] {
        var files: [String] = []
        for arg in images {
            if arg == "-" {
                while let line = readLine() {
                    let path = line.trimmingCharacters(in: .whitespaces)
                    if !path.isEmpty { files += try ImageFiles.collect(path) }
                }
            } else if arg.contains(where: { "*?[".contains($0) }) && !FileManager.default.fileExists(atPath: arg) {
                let matches = PredictOutput.glob(arg)
                guard !matches.isEmpty else { throw CommandError("no file matches \(arg)") }
                for m in matches { files += try ImageFiles.collect(m) }
            } else {
                files += try ImageFiles.collect(arg)
            }
        }
        guard !files.isEmpty else { throw CommandError("no images given (stdin was empty)") }
        return files
    }

    /// The config `tools infer` would need for these weights.
    func configText(firstImage: String, outputDir: String) throws -> String {
        let file = Checkpoint.path(for: weights)
        let meta = try Checkpoint.read(prefix: weights).metadata
        guard let arch = meta["arch"] else {
            throw CommandError("\(file) does not name its architecture (no 'arch' in its metadata; not a SwiftClas "
                               + "checkpoint?): use tools infer -c CONFIG -o Global.pretrained_model=\(weights)")
        }
        let runConfig = ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent("config.yaml")
        let root = FileManager.default.fileExists(atPath: runConfig) ? try ConfigLoader.loadFile(runConfig) : nil
        var archNode = "  name: \(arch)\n"
        if let node = root?.node(at: "Arch"), node.node(at: "name")?.scalar?.text == arch {
            // The run's own Arch options (widths, heads) shape the model; ImageNet weights are not needed.
            archNode = try indent(ConfigDump.yaml(node.removing(["pretrained", "class_num"])), by: 2)
        }
        if let n = meta["class_num"] { archNode += "  class_num: \(n)\n" }
        let transforms = try root.flatMap { $0.node(at: "Infer.transforms") ?? $0.node(at: "DataLoader.Eval.dataset.transform_ops") }
            .map { try ConfigDump.yaml($0) } ?? cardTransforms(arch)
        let batch = batchSize ?? root?.node(at: "Infer.batch_size")?.scalar.flatMap { Int($0.text) } ?? 8
        return """
            Global:
              epochs: 1
              output_dir: \(quoted(outputDir))
              pretrained_model: \(quoted(weights))
            Arch:
            \(archNode)Infer:
              infer_imgs: \(quoted(firstImage))
              batch_size: \(batch)
              PostProcess: {name: Topk, topk: \(topk)}
              transforms:
            \(indent(transforms, by: 4))
            """
    }

    /// The model card's evaluation preprocessing, as timm's `resolve_data_config` gives it.
    func cardTransforms(_ arch: String) throws -> String {
        guard let card = CommandContext.registries.arch.card(named: arch) else {
            throw CommandError("\(arch) has no model card and the run folder has no config.yaml; "
                               + "use tools infer -c CONFIG -o Global.pretrained_model=\(weights)")
        }
        let short = Int((Double(card.inputSize) / card.cropFraction).rounded(.down))
        return """
            - DecodeImage: {to_rgb: True}
            - ResizeImage: {resize_short: \(short), interpolation: \(card.interpolation)}
            - CropImage: {size: \(card.inputSize)}
            - NormalizeImage: {scale: 1.0/255.0, mean: \(card.mean), std: \(card.std), order: ''}
            """
    }

    private func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    private func indent(_ text: String, by n: Int) -> String {
        let pad = String(repeating: " ", count: n)
        return text.split(separator: "\n").map { pad + $0 }.joined(separator: "\n") + "\n"
    }
}
