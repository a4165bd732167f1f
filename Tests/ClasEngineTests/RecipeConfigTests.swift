import ClasEngine
import ClasOptim
import Foundation
import XCTest
import _ClasTestSupport

/// Every recipe in configs/recipes trains on a folder dataset given only its two image roots (plus small sizes).
final class RecipeConfigTests: XCTestCase {
    static let recipes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("configs/recipes").path

    func testRecipesTrainOnAFolderDataset() throws {
        let data = try TinyRun(epochs: 1)
        for recipe in ["baseline_mobilenet_v3_small", "baseline_efficientnet_b0", "mobilenet_v3_small_dml",
                       "efficientnet_b0_recipe"] {
            let engine = try Engine(configPath: "\(Self.recipes)/\(recipe).yaml", overrides: [
                "DataLoader.Train.dataset.image_root=\(data.dir)/train", "DataLoader.Eval.dataset.image_root=\(data.dir)/val",
                "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=32",
                "DataLoader.Eval.dataset.transform_ops.1.ResizeImage.size=32",
                "Global.output_dir=\(data.dir)/\(recipe)", "Global.epochs=1", "Global.iter_per_epoch=2",
            ], mode: .train, quiet: true)
            XCTAssertEqual(engine.classCount, 4, "\(recipe): classes from the folders")
            let trainer = try Trainer(engine: engine)
            let isRecipe = !recipe.hasPrefix("baseline")
            XCTAssertEqual(trainer.optimizer is SAM, isRecipe, recipe)
            XCTAssertEqual(trainer.schedule is ReduceOnPlateau, isRecipe, recipe)
            XCTAssertEqual(trainer.ema?.warmup, isRecipe ? true : nil, recipe)
            let best = try trainer.run()
            XCTAssertTrue(best >= 0 && best <= 1, "\(recipe): \(best)")
        }
        XCTAssertTrue(FileManager.default.fileExists(
            atPath: "\(data.dir)/mobilenet_v3_small_dml/DistillationModel/best_model_student.safetensors"))
    }
}
