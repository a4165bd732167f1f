import ClasConfig
import ClasData
import ClasModels
@testable import ClasEngine
import Foundation
import XCTest
import _ClasTestSupport

/// Real PaddleClas configs (copied unmodified under `ClasConfigTests/Fixtures/ppcls`) for the components of issue 17
/// train one epoch on tiny generated data: DKD and DIST distillation (ResNet34 → ResNet18), HideAndSeek, PULC's
/// image-orientation (CustomLabelDataset + RandomRot90 labels) and clarity (BlurImage labels) tasks, and MobileViTV3's
/// MultiScaleDataset/MultiScaleSampler. Overridden: data paths, epochs, batch and crop sizes (for speed), and Arch
/// names SwiftClas does not have (MobileViTV3 → MobileNetV3_small_x0_35) or that are slow in a test
/// (ResNet34/50 → ResNet18, PPLCNet_x1_0 → PPLCNet_x0_25).
///
/// The PULC distillation recipes (a ResNet101_vd teacher with `stride_list`, a student's `lr_mult_list`,
/// `return_stages` with `return_patterns` and a feature distance), the trainable pair loss MGD and
/// ResNet50's 4-channel "ultra" input and ResNet18 with Diverse Branch Blocks run here too.
final class PaddleClasIssue17ConfigTests: XCTestCase {
    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ClasConfigTests/Fixtures/ppcls").path

    /// 4 classes × 3 RGB 24×20 PNGs; `train.txt`/`val.txt` (`path label`), `val2.txt` (labels mod 2), `images.txt`.
    private func makeData(_ dir: String) throws {
        var lists: [String: String] = ["train.txt": "", "val.txt": "", "val2.txt": "", "images.txt": ""]
        for k in 0..<4 {
            for i in 0..<3 {
                var pixels = [UInt8](repeating: UInt8(30 + k * 50), count: 24 * 20 * 3)
                for p in stride(from: i, to: pixels.count, by: 7) { pixels[p] = UInt8((p * 13 + k * 31) % 256) }
                let name = "img/\(k)_\(i).png"
                try FileManager.default.createDirectory(atPath: "\(dir)/img", withIntermediateDirectories: true)
                try ImageCodec.writePNG(Image(width: 24, height: 20, channels: 3, pixels: pixels), to: "\(dir)/\(name)",
                                        durable: false)
                lists["train.txt", default: ""] += "\(name) \(k)\n"
                lists["val.txt", default: ""] += "\(name) \(k)\n"
                lists["val2.txt", default: ""] += "\(name) \(k % 2)\n"
                lists["images.txt", default: ""] += "\(name)\n"
            }
        }
        for (file, text) in lists { try text.write(toFile: "\(dir)/\(file)", atomically: false, encoding: .utf8) }
    }

    /// Trains `fixture` one epoch with the common overrides plus `extra`; returns the log lines.
    @discardableResult
    private func train(_ fixture: String, _ extra: [String], trainList: String = "cls_label_path=train.txt",
                       evalList: String = "val.txt", name: String = #function) throws -> [String] {
        let dir = temporaryDirectory(name)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try makeData(dir)
        let (key, file) = { let p = trainList.split(separator: "="); return (String(p[0]), String(p[1])) }()
        let engine = try Engine(configPath: "\(Self.fixtures)/\(fixture)", overrides: [
            "Global.output_dir=\(dir)/out", "Global.epochs=1", "Global.eval_interval=1", "Global.device=cpu",
            "Global.print_batch_step=1",
            "DataLoader.Train.dataset.image_root=\(dir)", "DataLoader.Train.dataset.\(key)=\(dir)/\(file)",
            "DataLoader.Eval.dataset.image_root=\(dir)", "DataLoader.Eval.dataset.cls_label_path=\(dir)/\(evalList)",
            "DataLoader.Train.loader.num_workers=1", "DataLoader.Eval.loader.num_workers=0",
            "DataLoader.Eval.sampler.batch_size=6",
        ] + extra, mode: .train, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        try Trainer(engine: engine).run()
        XCTAssertTrue(lines.contains { $0.contains("[Eval][Epoch 1][Avg]") }, "\(fixture) evaluated")
        return lines
    }

    private func avg(_ lines: [String]) -> String { lines.first { $0.contains("[Train][Epoch 1/1][Avg]") } ?? "" }

    /// Evaluation crops of the ImageNet-style configs at 16 px.
    private let smallEval = ["DataLoader.Eval.dataset.transform_ops.1.ResizeImage.resize_short=18",
                             "DataLoader.Eval.dataset.transform_ops.2.CropImage.size=16"]

    func testDKDAndDISTDistillationConfigsTrain() throws {
        for (fixture, key) in [("resnet34_distill_resnet18_dkd.yaml", "loss_dkd_Student_Teacher: "),
                               ("resnet34_distill_resnet18_dist.yaml", "loss_dist_Student_Teacher: ")] {
            let lines = try train(fixture, smallEval + [
                "Arch.models.0.Teacher.name=ResNet18", "DataLoader.Train.sampler.batch_size=6",
                "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=16",
            ], name: fixture)
            XCTAssertTrue(avg(lines).contains(key), "\(key) in \(avg(lines))")
            XCTAssertTrue(avg(lines).contains("CELoss_Student: "), avg(lines))
        }
    }

    func testHideAndSeekConfigTrains() throws {
        let lines = try train("ResNet50_HideAndSeek.yaml", smallEval + [
            "Arch.name=ResNet18", "DataLoader.Train.sampler.batch_size=6",
            "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=16",
        ])
        XCTAssertTrue(avg(lines).contains("CELoss: "), avg(lines))
    }

    func testPULCOrientationAndClarityTakeTheirLabelsFromOps() throws {
        let orientation = try train("image_orientation_PPLCNet_x1_0.yaml", smallEval + [
            "Arch={name: MobileNetV3_small_x0_35, class_num: 4}", "DataLoader.Train.sampler.batch_size=6",
            "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=16",
            "DataLoader.Train.dataset.transform_ops.2.TimmAutoAugment.img_size=16",
        ], trainList: "sample_list_path=images.txt")
        XCTAssertTrue(avg(orientation).contains("CELoss: "), avg(orientation))
        let clarity = try train("clarity_assessment_PPLCNet_x1_0.yaml", smallEval + [
            "Arch={name: MobileNetV3_small_x0_35, class_num: 2}", "DataLoader.Train.sampler.batch_size=6",
            "DataLoader.Train.dataset.transform_ops.2.ResizeImage.size=16",
        ], trainList: "sample_list_path=images.txt", evalList: "val2.txt")
        XCTAssertTrue(avg(clarity).contains("CELoss: "), avg(clarity))
    }

    func testMultiScaleConfigTrainsWithPerBatchSizes() throws {
        let lines = try train("MobileViTV3_XS.yaml", smallEval + [
            "Arch={name: MobileNetV3_small_x0_35}", "AMP.use_amp=False",
            "DataLoader.Train.sampler.scales=[32, 64]", "DataLoader.Train.sampler.first_bs=4",
        ])
        XCTAssertTrue(avg(lines).contains("CELoss: "), avg(lines))
    }

    /// 160×80 text crops at 32×16: (vertical, horizontal) strides keep the width, so layer4 is 1 × 16.
    private let textCrops = ["DataLoader.Train.dataset.transform_ops.1.ResizeImage.size=[32, 16]",
                             "DataLoader.Eval.dataset.transform_ops.1.ResizeImage.size=[32, 16]",
                             "DataLoader.Train.sampler.batch_size=6"]

    func testPULCTextlineDistillationWithAStridedResNet101vdTeacher() throws {
        let lines = try train("textline_orientation_PPLCNet_x1_0_distillation.yaml", textCrops + [
            "DataLoader.Train.dataset.transform_ops.2.TimmAutoAugment.img_size=[32, 16]",
            "Arch.models.1.Student.name=PPLCNet_x0_25", "Global.start_eval_epoch=1",
        ], trainList: "cls_label_path=val2.txt", evalList: "val2.txt")
        XCTAssertTrue(avg(lines).contains("DMLLoss_Student_Teacher_0: "), avg(lines))
    }

    func testPULCLanguageDistillationReadsTheStudentsLrMultList() throws {
        let lines = try train("language_classification_PPLCNet_x1_0_distillation.yaml", textCrops + [
            "DataLoader.Train.dataset.transform_ops.3.TimmAutoAugment.img_size=[32, 16]",
            "Arch.models.0.Teacher.name=ResNet18_vd", "Arch.models.1.Student.name=PPLCNet_x0_25",
        ])
        XCTAssertTrue(avg(lines).contains("DMLLoss_Student_Teacher_0: "), avg(lines))
    }

    func testPULCSafetyHelmetDistillationComparesStageOutputs() throws {
        let lines = try train("safety_helmet_PPLCNet_x1_0_distillation.yaml", smallEval + [
            "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=16",
            "DataLoader.Train.dataset.transform_ops.3.TimmAutoAugment.img_size=16",
            "DataLoader.Train.sampler.batch_size=6",
            "Arch.models.0.Teacher.name=PPLCNet_x0_25", "Arch.models.1.Student.name=PPLCNet_x0_25",
        ], trainList: "cls_label_path=val2.txt", evalList: "val2.txt")
        XCTAssertTrue(avg(lines).contains("loss_l2_loss_l2_0: "), avg(lines))
        XCTAssertTrue(avg(lines).contains("CELoss_Student: "), avg(lines))
    }

    /// MGD (the PEFD config differs only in its loss, which `TrainableLossTests` trains end to end).
    func testMGDDistillationConfigTrains() throws {
        for (fixture, key) in [("resnet34_distill_resnet18_mgd.yaml", "loss_mgd_0_Student_Teacher: ")] {
            let lines = try train(fixture, smallEval + [
                "DataLoader.Train.sampler.batch_size=6", "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=16",
            ], name: fixture)
            XCTAssertTrue(avg(lines).contains(key), "\(key) in \(avg(lines))")
        }
    }

    /// AFD: two AttentionModels (ResNet34 → LinearTransformTeacher, ResNet18 → LinearTransformStudent) and AFDLoss,
    /// at 32 px (the config's feature shapes are 224 px's, so they are overridden too); the loss's embeddings are
    /// checkpointed and the student is written alone, loadable as a plain ResNet18.
    func testAFDDistillationConfigTrains() throws {
        func shapes(_ counts: [Int]) -> String {
            "[" + zip([64, 128, 256, 512], [8, 4, 2, 1]).enumerated().flatMap { i, cs in
                Array(repeating: "[\(cs.0), \(cs.1), \(cs.1)]", count: counts[i])
            }.joined(separator: ", ") + "]"
        }
        let (t, s) = (shapes([3, 4, 6, 3]), shapes([2, 2, 2, 2]))
        let fixture = "resnet34_distill_resnet18_afd.yaml"
        let dir = temporaryDirectory()
        let lines = try train(fixture, [
            "DataLoader.Eval.dataset.transform_ops.1.ResizeImage.resize_short=36",
            "DataLoader.Eval.dataset.transform_ops.2.CropImage.size=32",
            "DataLoader.Train.sampler.batch_size=6", "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=32",
            "Arch.models.0.Teacher.models.1.LinearTransformTeacher.t_shapes=\(t)",
            "Arch.models.1.Student.models.1.LinearTransformStudent.t_shapes=\(t)",
            "Arch.models.1.Student.models.1.LinearTransformStudent.s_shapes=\(s)",
            "Loss.Train.2.AFDLoss.t_shapes=\(t)", "Loss.Train.2.AFDLoss.s_shapes=\(s)",
            "Global.output_dir=\(dir)",
        ], name: fixture)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertTrue(avg(lines).contains("loss_afd: "), avg(lines))
        let saved = try Checkpoint.read(prefix: "\(dir)/DistillationModel/latest")
        XCTAssertEqual(saved.loss["2.p_t"]?.shape, [16, 128])
        XCTAssertNotNil(saved.model["Teacher.LinearTransformTeacher.query_layer.15.linear.weight"])
        let student = try Checkpoint.read(prefix: "\(dir)/DistillationModel/best_model_student")
        let resnet = try ModelRegistry.builtins().make("ResNet18", classCount: 4)
        let report = resnet.load(student.model)
        XCTAssertTrue(report.missing.isEmpty && report.mismatched.isEmpty && report.unexpected.isEmpty, "\(report)")
    }

    /// `ResNet18_dbb`: ResNet18 with Diverse Branch Blocks (`layer_type: DiverseBranchBlock`, ColorJitter with hue,
    /// PCALighting) trains and evaluates its unfused branches through the inference mode.
    func testDiverseBranchBlockResNetConfigTrains() throws {
        let lines = try train("ResNet18_dbb.yaml", smallEval + [
            "DataLoader.Train.sampler.batch_size=6", "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=16",
        ])
        XCTAssertTrue(avg(lines).contains("CELoss: "), avg(lines))
    }

    func testFourChannelUltraResNetConfigTrains() throws {
        let lines = try train("ResNet50_amp_O1_ultra.yaml", smallEval + [
            "Arch.name=ResNet18", "DataLoader.Train.sampler.batch_size=6",
            "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=16",
        ])
        XCTAssertTrue(avg(lines).contains("CELoss: "), avg(lines))
    }
}
