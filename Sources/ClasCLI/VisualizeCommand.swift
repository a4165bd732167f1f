import ArgumentParser
import ClasEngine
import Foundation

/// `tools visualize`: a labelled grid of training (or evaluation) images after the configured transforms.
struct VisualizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visualize", abstract: "Write a grid PNG of images after the configured transforms.",
        discussion: """
            Shows what the model sees: the first --count samples of an epoch, after transform_ops (with that
            epoch's random augmentations), un-normalised with the split's NormalizeImage mean/std, labelled with
            class names. Default output: Global.output_dir/<Arch.name>/visualize_<split>.png.
            Example: tools visualize -c configs/mobilenet_v3_small_fmnist.yaml --split train --count 16
            """)

    @OptionGroup var options: ConfigArguments
    @Option(help: "train or eval.")
    var split = "train"
    @Option(help: "Number of images.")
    var count = 16
    @Option(help: "Epoch whose augmentations to show (training epochs start at 1).")
    var epoch = 1
    @Option(help: "Images per row (default: a square grid).")
    var columns: Int?
    @Option(help: "Output PNG path.")
    var out: String?

    func validate() throws {
        guard DataPreview.Split(rawValue: split) != nil else { throw ValidationError("--split must be train or eval, got '\(split)'") }
        guard count >= 1, epoch >= 0, (columns ?? 1) >= 1 else { throw ValidationError("--count and --columns must be positive") }
    }

    func run() throws {
        try reportingErrors {
            let preview = try DataPreview(configPath: options.config, overrides: options.overrides,
                                          registries: CommandContext.registries,
                                          split: DataPreview.Split(rawValue: split) ?? .train, count: count, epoch: epoch)
            let path = out ?? (preview.outputDir as NSString).appendingPathComponent("visualize_\(split).png")
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            try preview.render(epoch: epoch, columns: columns).writePNG(to: path)
            print("wrote \(path) (\(preview.tiles.count) images)")
        }
    }
}
