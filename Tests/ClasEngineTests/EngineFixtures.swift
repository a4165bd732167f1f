import ClasData
import ClasEngine
import Foundation
import XCTest
import _ClasTestSupport

/// A tiny image-folder dataset and a config around it, written into a temporary folder.
struct TinyRun {
    let dir: String
    let config: String

    /// `classes` classes of `perClass` 32×32 RGB PNGs each; class k has a bright square at a class-specific place
    /// (so no flip augmentation: a flip would turn one class into another).
    init(classes: Int = 4, perClass: Int = 8, epochs: Int = 2, extraYAML: String = "", name: String = #function) throws {
        dir = temporaryDirectory(name)
        for split in ["train", "val"] {
            for k in 0..<classes {
                let folder = "\(dir)/\(split)/class_\(k)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for i in 0..<perClass {
                    var pixels = [UInt8](repeating: 20, count: 32 * 32 * 3)
                    let ox = (k % 2) * 16, oy = (k / 2 % 2) * 16
                    for y in 0..<16 { for x in 0..<16 { for c in 0..<3 {
                        pixels[((oy + y) * 32 + ox + x) * 3 + c] = UInt8(180 + (i * 7 + c * 13) % 60)
                    } } }
                    try ImageCodec.writePNG(Image(width: 32, height: 32, channels: 3, pixels: pixels),
                                            to: "\(folder)/\(i).png", durable: false)
                }
            }
        }
        config = "\(dir)/run.yaml"
        let yaml = """
        Global:
          output_dir: \(dir)/output
          epochs: \(epochs)
          print_batch_step: 2
          save_interval: 1
          seed: 7
        Arch:
          name: MobileNetV3_small_x0_35
          dropout_prob: 0.2
        Loss:
          Train:
            - CELoss: {weight: 1.0, epsilon: 0.1}
          Eval:
            - CELoss: {weight: 1.0}
        Optimizer:
          name: Momentum
          momentum: 0.9
          lr: {name: Cosine, learning_rate: 0.05, warmup_epoch: 1}
          regularizer: {name: L2, coeff: 0.0001}
        DataLoader:
          Train:
            dataset:
              name: ImageFolderDataset
              image_root: \(dir)/train
              transform_ops:
                - DecodeImage: {to_rgb: True}
                - NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}
            sampler: {name: DistributedBatchSampler, batch_size: 8, shuffle: True, drop_last: False}
            loader: {num_workers: 2, use_shared_memory: True}
          Eval:
            dataset:
              name: ImageFolderDataset
              image_root: \(dir)/val
              transform_ops:
                - DecodeImage: {to_rgb: True}
                - NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}
            sampler: {name: DistributedBatchSampler, batch_size: 16, shuffle: False}
            loader: {num_workers: 0, use_shared_memory: True}
        Infer:
          infer_imgs: \(dir)/val/class_1
          batch_size: 4
          transforms:
            - DecodeImage: {to_rgb: True}
            - NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}
            - ToCHWImage:
          PostProcess: {name: Topk, topk: 2}
        Metric:
          Train:
            - TopkAcc: {topk: [1, 2]}
          Eval:
            - TopkAcc: {topk: [1, 2]}
        \(extraYAML)
        """
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// Output folder of the model.
    var modelDir: String { "\(dir)/output/MobileNetV3_small_x0_35" }

    /// The model tensors of a checkpoint.
    func weights(_ name: String) throws -> [String: [Float]] {
        let c = try Checkpoint.read(prefix: "\(modelDir)/\(name)")
        return c.model.mapValues(\.scalars)
    }
}
