import ArgumentParser
import ClasConfig
import ClasData
import ClasEngine
import ClasExport
import ClasModels
import ClasTensor
import Foundation

/// `tools predict IMAGES... --weights W`: classification without a config. The architecture, class count and names
/// come from the checkpoint's metadata; the preprocessing from the run folder's resolved `config.yaml` (its
/// `Infer.transforms`, else the Eval dataset's `transform_ops`) when there is one, else from the model card.
/// An exported `inference.onnx` (or its folder) runs through SwiftClas's ONNX importer (``OnnxModel``) with the
/// preprocessing and class names of the `inference.yml` beside it; `--model NAME --pretrained` takes ImageNet
/// weights by name (ClasHub) and the model card's preprocessing.
/// It builds the config `tools infer` would read and runs the same ``Predictor``, so the scores are the same.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict", abstract: "Classify images with a checkpoint or run folder; no config needed.",
        discussion: """
            The architecture, class count and class names come from the checkpoint;
            the preprocessing from the run folder's config.yaml (Infer.transforms,
            else DataLoader.Eval's transform_ops), else from the model card (resize,
            centre crop, mean/std). An exported inference.onnx (or its folder) is
            run by SwiftClas itself, with the inference.yml beside it. --model NAME
            --pretrained takes ImageNet weights by name (see tools weights).
            IMAGES are files, folders (searched recursively), globs, or - to read
            paths from stdin, one per line.
            Examples:
              tools predict coat.png --weights output/MobileNetV3_small_x1_0
              tools predict 'val/*.png' --weights output/M/best_model --format csv
              tools predict coat.png --weights inference/
              tools predict dog.jpg --model mobilenetv3_large_100 --pretrained
              find photos -name '*.jpg' | tools predict - --weights output/M
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

    @Argument(help: "Image files, folders, globs, or - (paths on stdin).")
    var images: [String]
    @Option(help: "A checkpoint or run folder (its best_model), or an exported inference.onnx or its folder.")
    var weights: String?
    @Option(help: "An architecture (tools list models), with --pretrained.")
    var model: String?
    @Flag(help: "With --model: the model card's ImageNet weights, downloaded and cached (tools weights).")
    var pretrained = false
    @Option(help: "How many classes to report per image.")
    var topk = 5
    @Option(help: "table, json (one line per image, as tools infer) or csv.")
    var format: Format = .table
    @Option(help: "Images per batch (default: the run's Infer.batch_size, else 8).")
    var batchSize: Int?

    func validate() throws {
        guard topk >= 1 else { throw ValidationError("--topk must be at least 1") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        switch (weights, model) {
        case (nil, nil): throw ValidationError("give --weights CHECKPOINT_OR_ONNX, or --model NAME --pretrained")
        case (.some, .some): throw ValidationError("give either --weights or --model, not both")
        case (nil, .some) where !pretrained:
            throw ValidationError("--model needs --pretrained (ImageNet weights by name); for your own weights use --weights")
        case (.some, nil) where pretrained: throw ValidationError("--pretrained goes with --model NAME")
        default: break
        }
    }

    /// The exported ONNX file `--weights` names (a `.onnx` file, or a folder holding `inference.onnx`), if any.
    var onnxFile: String? {
        guard let weights else { return nil }
        if weights.hasSuffix(".onnx") { return weights }
        let inFolder = (weights as NSString).appendingPathComponent("inference.onnx")
        return FileManager.default.fileExists(atPath: inFolder) ? inFolder : nil
    }

    func run() throws {
        try reportingErrors {
            let files = try collectImages()
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("swiftclas-predict-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let configPath = (scratch as NSString).appendingPathComponent("predict.yaml")
            let text = try onnxFile.map { try onnxConfigText($0, firstImage: files[0], scratch: scratch) }
                ?? configText(firstImage: files[0], outputDir: scratch)
            try text.write(toFile: configPath, atomically: true, encoding: .utf8)
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
        if let model { return try pretrainedConfigText(model, firstImage: firstImage, outputDir: outputDir) }
        let weights = self.weights ?? ""
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

    /// `--model NAME --pretrained`: the card's ImageNet weights (ClasHub) and preprocessing, 1000 classes.
    func pretrainedConfigText(_ name: String, firstImage: String, outputDir: String) throws -> String {
        guard let card = CommandContext.registries.arch.card(named: name) else {
            let known = CommandContext.registries.arch.contains(name)
            throw CommandError(known ? "\(name) has no model card, so no pretrained weights by name"
                               : "unknown model '\(name)' (tools list models)")
        }
        guard card.weights != nil else {
            throw CommandError("\(name) has no published ImageNet weights (tools list models shows the ones that do)")
        }
        return """
            Global:
              epochs: 1
              output_dir: \(quoted(outputDir))
            Arch:
              name: \(name)
              pretrained: True
              class_num: 1000
            Infer:
              infer_imgs: \(quoted(firstImage))
              batch_size: \(batchSize ?? 8)
              PostProcess: {name: Topk, topk: \(topk)}
              transforms:
            \(indent(try cardTransforms(name), by: 4))
            """
    }

    /// An exported model: `Arch: OnnxModel` on the file, preprocessing, class names and input size from the
    /// `inference.yml` beside it (PaddleClas's deployment format; DecodeImage's colour order from `color_order`).
    func onnxConfigText(_ onnx: String, firstImage: String, scratch: String) throws -> String {
        guard FileManager.default.fileExists(atPath: onnx) else { throw CommandError("\(onnx): no such file") }
        let ymlPath = ((onnx as NSString).deletingLastPathComponent as NSString).appendingPathComponent("inference.yml")
        guard FileManager.default.fileExists(atPath: ymlPath) else {
            throw CommandError("\(ymlPath) is missing: tools predict takes the preprocessing and class names of an "
                               + "exported model from the inference.yml tools export writes beside inference.onnx")
        }
        let yml = try ConfigLoader.loadFile(ymlPath)
        guard let ops = yml.node(at: "PreProcess.transform_ops") else {
            throw CommandError("\(ymlPath) has no PreProcess.transform_ops")
        }
        let program = try OnnxInterpreter(OnnxProgram(path: onnx))
        let size = program.inputSize
        let classes = try program.run(nhwc: Tensor.zeros([1, size.height, size.width, size.channels])).shape[1]
        var postProcess = "{name: Topk, topk: \(topk)}"
        if let labels = yml.node(at: "PostProcess.Topk.label_list")?.items {
            let names = labels.map { $0.scalar?.text ?? "" }
            guard names.count == classes else {
                throw CommandError("\(ymlPath) names \(names.count) classes, \(onnx) outputs \(classes)")
            }
            let map = (scratch as NSString).appendingPathComponent("label_list.txt")
            try ClassIDMap(names: names).write(to: map)
            postProcess = "{name: Topk, topk: \(topk), class_id_map_file: \(quoted(map))}"
        }
        let rgb = yml.node(at: "Global.color_order")?.scalar?.text != "BGR"
        return """
            Global:
              epochs: 1
              output_dir: \(quoted(scratch))
            Arch:
              name: OnnxModel
              path: \(quoted(onnx))
              class_num: \(classes)
            Infer:
              infer_imgs: \(quoted(firstImage))
              batch_size: \(batchSize ?? 8)
              PostProcess: \(postProcess)
              transforms:
                - DecodeImage: {to_rgb: \(rgb ? "True" : "False")}
            \(indent(try ConfigDump.yaml(ops), by: 4))
            """
    }

    /// The model card's evaluation preprocessing, as timm's `resolve_data_config` gives it.
    func cardTransforms(_ arch: String) throws -> String {
        guard let card = CommandContext.registries.arch.card(named: arch) else {
            throw CommandError("\(arch) has no model card and the run folder has no config.yaml; "
                               + "use tools infer -c CONFIG -o Global.pretrained_model=\(weights ?? "")")
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
