import ClasConfig
import ClasEngine
import ClasOptim
import Foundation
import XCTest
import _ClasTestSupport

/// Every recipe in configs/recipes trains one epoch on a folder dataset given only its two image roots, as
/// `tools train` runs it: the learning-rate finder first where the recipe has one (here 2 trials of 1 iteration),
/// then training. Small sizes keep it quick: 32-px inputs, 2 iterations, ImageNet weights not downloaded.
final class RecipeConfigTests: XCTestCase {
    static let recipes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("configs/recipes").path

    static func recipeNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: recipes).filter { $0.hasSuffix(".yaml") }
            .map { String($0.dropLast(5)) }.sorted()
    }

    /// The overrides that point `recipe` at the tiny folders and shrink it.
    private func overrides(_ path: String, data: TinyRun, output: String) throws -> [String] {
        let node = try Inheritance.resolve(path)
        var result = ["DataLoader.Train.dataset.image_root=\(data.dir)/train", "DataLoader.Eval.dataset.image_root=\(data.dir)/val",
                      "Global.output_dir=\(output)", "Global.epochs=1", "Global.iter_per_epoch=2",
                      "DataLoader.Train.sampler.batch_size=8", "Infer.infer_imgs=\(data.dir)/val/class_1"]
        if node.node(at: "Arch.pretrained") != nil { result.append("Arch.pretrained=False") }
        if node.node(at: "Arch.class_num") != nil { result.append("Arch.class_num=null") }  // from the folders
        for split in ["Train", "Eval"] where node.node(at: "DataLoader.\(split).dataset.cls_label_path") != nil {
            // A list-file recipe (Fashion-MNIST) switched to the folders, as README shows.
            result += ["DataLoader.\(split).dataset.name=ImageFolderDataset", "DataLoader.\(split).dataset.cls_label_path=null"]
        }
        if node.node(at: "LRFinder") != nil {
            result += ["LRFinder.num_trials=2", "LRFinder.trial_epochs=1", "LRFinder.trial_iters=1", "LRFinder.warmup_epoch=0"]
        }
        for split in ["Train", "Eval"] {
            for (i, op) in (node.node(at: "DataLoader.\(split).dataset.transform_ops")?.items ?? []).enumerated() {
                for (name, key) in [("RandCropImage", "size"), ("ResizeImage", "size"), ("ResizeImage", "resize_short"),
                                    ("CropImage", "size")] where op[name]?[key] != nil {
                    result.append("DataLoader.\(split).dataset.transform_ops.\(i).\(name).\(key)=32")
                }
            }
        }
        return result
    }

    func testEveryRecipeTrainsOnAFolderDataset() throws {
        let data = try TinyRun(epochs: 1)
        let names = try Self.recipeNames()
        XCTAssertGreaterThanOrEqual(names.count, 19, names.joined(separator: ", "))
        for recipe in names {
            let path = "\(Self.recipes)/\(recipe).yaml"
            let config = try RunConfig.load(path, overrides: try overrides(path, data: data, output: "\(data.dir)/\(recipe)"))
            guard let engine = try LRFinder.trainingEngine(config: config, registries: .builtins(), quiet: true) else {
                return XCTFail("\(recipe): the finder stopped the run")
            }
            XCTAssertEqual(engine.classCount, 4, "\(recipe): classes from the folders")
            let trainer = try Trainer(engine: engine)
            let openVINO = recipe.hasSuffix("_dml") || recipe == "efficientnet_b0_recipe"
            XCTAssertEqual(trainer.optimizer is SAM, openVINO, recipe)
            XCTAssertEqual(trainer.schedule is ReduceOnPlateau, openVINO, recipe)
            if openVINO { XCTAssertEqual(trainer.ema?.warmup, true, recipe) }
            if openVINO {
                // The finder ran: its choice, inside the template's range, replaced the configured rate.
                let configured = try Inheritance.resolve(path).node(at: "Optimizer.lr.learning_rate")?.scalar?.text
                let chosen = engine.config.root.node(at: "Optimizer.lr.learning_rate")?.scalar.flatMap { Double($0.text) }
                let range = recipe.hasPrefix("efficientnet") ? 0.001...0.01 : 0.005...0.03
                XCTAssertTrue(chosen.map { range.contains($0) } ?? false, "\(recipe): finder chose \(String(describing: chosen))")
                XCTAssertNotEqual(chosen.map { "\($0)" }, configured, recipe)
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(engine.outputDir)/lr_find.png"),
                              "\(recipe): the finder's figure in \(engine.outputDir)")
            }
            let best = try trainer.run()
            XCTAssertTrue(best.isFinite && best >= 0 && best <= 1, "\(recipe): \(best)")
            if recipe.hasSuffix("_dml") {
                XCTAssertTrue(FileManager.default.fileExists(
                    atPath: "\(data.dir)/\(recipe)/DistillationModel/best_model_student.safetensors"), recipe)
            }
            try? FileManager.default.removeItem(atPath: "\(data.dir)/\(recipe)")  // checkpoints add up to gigabytes
        }
    }
}
