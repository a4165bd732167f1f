import ClasConfig
import ClasData
import ClasPlot
import Foundation

/// `tools visualize`: the first samples a split's loader gives in an epoch, after the configured `transform_ops`
/// (so with this epoch's augmentations), un-normalised with the split's `NormalizeImage` mean/std/scale and shown
/// in a grid labelled with class names.
public struct DataPreview {
    /// Which loader.
    public enum Split: String, CaseIterable, Sendable { case train, eval }

    public let config: RunConfig
    public let split: Split
    /// The images and captions, in loader order.
    public let tiles: [(image: Image, caption: String)]
    /// The image files of the tiles.
    public let paths: [String]
    /// Whether a `NormalizeImage` was undone for display.
    public let unnormalised: Bool
    /// The model's output folder (`Global.output_dir/<Arch.name>`), the default place for the grid.
    public let outputDir: String

    /// Loads `count` samples of `epoch` from the split's loader.
    public init(configPath: String, overrides: [String] = [], registries: Registries = .builtins(), split: Split,
                count: Int, epoch: Int = 1) throws {
        let decoder = ConfigDecoder()
        let config = try RunConfig.load(configPath, overrides: overrides, decoder: decoder)
        let which: DataBuilder.Split = split == .train ? .train : .eval
        guard (split == .train ? config.dataLoader?.train : config.dataLoader?.eval) != nil else {
            throw EngineError("the config has no DataLoader.\(which.rawValue) to visualize")
        }
        let seed = UInt64(truncatingIfNeeded: config.global.seed ?? 0)
        let data = try DataBuilder(config: config, registries: registries.data, decoder: decoder, seed: seed, splits: [which])
        let archClassNum = config.arch.args["class_num"].flatMap { $0.scalar.flatMap { Scalars.int($0.text) } }
        guard let stream = try data.stream(which, classCount: data.classCount ?? archClassNum ?? 1, log: { _ in }) as? LoaderStream
        else { throw EngineError("DataLoader.\(which.rawValue) gives no loader") }
        let loader = stream.loader
        let names = data.classNames ?? config.classMapNames ?? []
        let normalize = loader.transforms.compactMap { $0 as? NormalizeImage }.last
        let bgr = loader.transforms.compactMap { $0 as? DecodeImage }.last.map { !$0.toRGB } ?? false
        var tiles: [(image: Image, caption: String)] = [], paths: [String] = []
        for index in loader.sampler.indices(epoch: epoch).prefix(max(count, 0)) {
            let sample = try loader.sample(at: index, epoch: epoch)
            let image = Self.displayable(sample.image, normalize: normalize, bgr: bgr)
            let name = sample.label >= 0 && sample.label < names.count ? names[sample.label] : "label \(sample.label)"
            tiles.append((image, name))
            paths.append(sample.path)
        }
        self.config = config
        self.split = split
        self.tiles = tiles
        self.paths = paths
        unnormalised = normalize != nil
        outputDir = (config.global.outputDir as NSString).appendingPathComponent(config.arch.name)
    }

    /// The grid, titled with the split, epoch and transforms.
    public func render(epoch: Int = 1, columns: Int? = nil) -> Canvas {
        let splitConfig = split == .train ? config.dataLoader?.train : config.dataLoader?.eval
        let ops = (splitConfig?.transformOps ?? []).map(\.name).joined(separator: ", ")
        return ImageGrid(tiles: tiles, columns: columns, title: "DataLoader.\(split == .train ? "Train" : "Eval"), epoch \(epoch)",
                         subtitle: "after \(ops)" + (unnormalised ? ", shown un-normalised" : "")).render()
    }

    /// 8-bit RGB (or gray) pixels: `(x · std + mean) / scale`, clamped, in RGB order; a 4th channel is dropped.
    static func displayable(_ image: FloatImage, normalize: NormalizeImage?, bgr: Bool) -> Image {
        let shown = image.channels >= 3 ? 3 : 1
        return Image(width: image.width, height: image.height, channels: shown) { out in
            for p in 0..<(image.width * image.height) {
                for c in 0..<shown {
                    let source = bgr && shown == 3 ? 2 - c : c
                    var v = image.pixels[p * image.channels + source]
                    if let n = normalize {
                        let k = min(source, n.mean.count - 1)
                        v = (v * n.std[k] + n.mean[k]) / n.scale
                    }
                    out[p * shown + c] = UInt8.converting(v)
                }
            }
        }
    }
}
