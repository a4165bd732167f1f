import Foundation
import XCTest

/// Multi-label and attribute tasks through the real binary: `tools dataset` makes a tiny derived Fashion-MNIST set,
/// the repository's PULC-style configs train one epoch on it, `tools eval` writes per-attribute figures and
/// `tools infer` prints JSON lines; PaddleClas's own multi-label, PULC person_attribute and binary PULC configs train
/// with only data paths (and the epoch budget) overridden.
final class MultiLabelCommandTests: ReliabilityTestCase {
    private static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    private static let paddleConfigs = repo + "/Tests/ClasConfigTests/Fixtures/ppcls"

    /// `tools dataset <name>` into a scratch folder (skips without Fashion-MNIST).
    private func derived(_ name: String, train: Int, test: Int) throws -> String {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
            throw XCTSkip("Fashion-MNIST (Debian dataset-fashion-mnist) is absent")
        }
        let out = scratchDirectory() + "/" + name
        let r = try ToolsProcess.run(["dataset", name, "--out", out, "--train-count", "\(train)", "--test-count", "\(test)",
                                      "--seed", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return out
    }

    private func dataOverrides(_ data: String, train: String = "train_list.txt", test: String = "test_list.txt") -> [String] {
        ["-o", "DataLoader.Train.dataset.image_root=\(data)/", "-o", "DataLoader.Train.dataset.cls_label_path=\(data)/\(train)",
         "-o", "DataLoader.Eval.dataset.image_root=\(data)/", "-o", "DataLoader.Eval.dataset.cls_label_path=\(data)/\(test)"]
    }

    /// Trains one epoch, evaluates and infers with a repository config; returns metrics.yaml and the JSON lines.
    private func trainEvalInfer(_ config: String, data: String, extra: [String] = []) throws -> (String, [[String: Any]]) {
        let out = (data as NSString).deletingLastPathComponent + "/output"
        let common = ["-c", Self.repo + "/configs/pulc/" + config] + dataOverrides(data)
            + ["-o", "Global.output_dir=\(out)", "-o", "Global.epochs=1", "-o", "DataLoader.Train.sampler.batch_size=16",
               "-o", "Infer.infer_imgs=\(data)/images/test", "-o", "Infer.PostProcess.class_id_map_file=\(data)/label_list.txt"]
            + extra
        let train = try ToolsProcess.run(["train"] + common)
        XCTAssertEqual(train.status, 0, train.stderr)
        let weights = ["-o", "Global.pretrained_model=\(out)/MobileNetV3_small_x1_0/best_model"]
        let eval = try ToolsProcess.run(["eval"] + common + weights)
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let metrics = try String(contentsOfFile: "\(out)/MobileNetV3_small_x1_0/eval/metrics.yaml", encoding: .utf8)
        let infer = try ToolsProcess.run(["infer"] + common + weights)
        XCTAssertEqual(infer.status, 0, infer.stderr)
        let lines = infer.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }
        let json = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        return (metrics, json)
    }

    private func perAttribute(_ metrics: String) -> [String] {
        metrics.split(separator: "\n").map(String.init).filter { $0.hasPrefix("  - {index: ") }
    }

    func testMultiLabelFashionMNISTTrainsEvaluatesAndInfers() throws {
        let data = try derived("fashion-mnist-multilabel", train: 48, test: 12)
        let (metrics, json) = try trainEvalInfer("multilabel_fmnist.yaml", data: data)
        for key in ["MultiLabelLoss:", "MultiLabelMAP:", "AccuracyScore:", "HammingDistance:", "mAP:", "label_accuracy:",
                    "per_attribute:", "samples: 12"] {
            XCTAssertTrue(metrics.contains(key), "\(key) in\n\(metrics)")
        }
        let rows = perAttribute(metrics)
        XCTAssertEqual(rows.count, 10, metrics)
        XCTAssertTrue(rows[9].contains("name: \"Ankle boot\"") && rows[9].contains("precision: ") && rows[9].contains("recall: ")
                      && rows[9].contains("accuracy: "), rows[9])
        XCTAssertEqual(json.count, 12)
        let first = try XCTUnwrap(json.first)
        let ids = try XCTUnwrap(first["class_ids"] as? [Int]), scores = try XCTUnwrap(first["scores"] as? [Double])
        XCTAssertEqual(ids.count, scores.count)
        XCTAssertTrue(scores.allSatisfy { $0 >= 0.5 && $0 <= 1 }, "\(first)")
        XCTAssertEqual((first["label_names"] as? [String])?.count, ids.count)
    }

    func testAttributeFashionMNISTWritesATTRMetricAndPerAttributeFigures() throws {
        let data = try derived("fashion-mnist-attributes", train: 48, test: 12)
        let (metrics, json) = try trainEvalInfer("attributes_fmnist.yaml", data: data,
                                                 extra: ["-o", "Infer.PostProcess.threshold=0.0"])
        for key in ["ma:", "label_f1:", "instance_acc:", "instance_prec:", "instance_recall:", "MultiLabelMAP:"] {
            XCTAssertTrue(metrics.contains("\n" + key), "\(key) in\n\(metrics)")
        }
        let rows = perAttribute(metrics)
        XCTAssertEqual(rows.count, 9, metrics)
        XCTAssertTrue(rows[8].contains("name: \"light_colored\""), rows[8])
        // With threshold 0 every attribute is listed with its name and score.
        XCTAssertEqual(json.first?["label_names"] as? [String], ["upper_body", "covers_legs", "footwear", "long_sleeves",
                                                                "cold_weather", "open_footwear", "accessory", "one_piece",
                                                                "light_colored"])
    }

    /// A list of `count` images of `data` with random 0/1 targets of width `classes`.
    private func randomList(_ data: String, classes: Int, count: Int, name: String) throws {
        var rng = SystemRandomNumberGenerator()
        let lines = (0..<count).map { i in
            "images/train/\(String(format: "%06d", i)).png\t" + (0..<classes).map { _ in String(Int.random(in: 0...1, using: &rng)) }
                .joined(separator: ",")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: "\(data)/\(name)", atomically: true, encoding: .utf8)
    }

    func testPaddleClasMultiLabelConfigTrainsOneEpoch() throws {
        // quick_start/professional/MobileNetV1_multilabel.yaml (NUS-WIDE-SCENE, 33 labels), MobileNetV1 at 224 px.
        let data = try derived("fashion-mnist-multilabel", train: 16, test: 4)
        try randomList(data, classes: 33, count: 16, name: "nus_train.txt")
        try randomList(data, classes: 33, count: 8, name: "nus_test.txt")
        let out = scratchDirectory() + "/out"
        let r = try ToolsProcess.run(["train", "-c", Self.paddleConfigs + "/MobileNetV1_multilabel.yaml"]
                                     + dataOverrides(data, train: "nus_train.txt", test: "nus_test.txt")
                                     + ["-o", "Global.output_dir=\(out)", "-o", "Global.epochs=1",
                                        "-o", "DataLoader.Train.sampler.batch_size=8", "-o", "DataLoader.Eval.sampler.batch_size=8",
                                        "-o", "Arch.pretrained=False", "-o", "Global.device=cpu"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let log = try String(contentsOfFile: "\(out)/MobileNetV1/train.log", encoding: .utf8)
        XCTAssertTrue(log.contains("[Eval][Epoch 1][Avg]MultiLabelLoss: "), log)
        XCTAssertTrue(log.contains("AccuracyScore: ") && log.contains("HammingDistance: "), log)
    }

    func testPaddleClasPersonAttributeConfigTrainsOneEpoch() throws {
        // PULC/person_attribute/MobileNetV3_small_x0_35.yaml: 26 PA-100K attributes, label_ratio, weight_ratio,
        // ATTRMetric, PersonAttribute; Padv2 + RandomCropImage augmentation.
        let data = try derived("fashion-mnist-multilabel", train: 8, test: 4)
        try randomList(data, classes: 26, count: 8, name: "pa_train.txt")
        let out = scratchDirectory() + "/out"
        let args = ["-c", Self.paddleConfigs + "/person_attribute_MobileNetV3_small_x0_35.yaml"]
            + dataOverrides(data, train: "pa_train.txt", test: "pa_train.txt")
            + ["-o", "Global.output_dir=\(out)", "-o", "Global.epochs=1", "-o", "DataLoader.Train.sampler.batch_size=4",
               "-o", "DataLoader.Eval.sampler.batch_size=4", "-o", "Arch.pretrained=False", "-o", "Global.device=cpu"]
        let r = try ToolsProcess.run(["train"] + args, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let log = try String(contentsOfFile: "\(out)/MobileNetV3_small_x0_35/train.log", encoding: .utf8)
        XCTAssertTrue(log.contains("ma: ") && log.contains("instance_f1: "), log)
        let infer = try ToolsProcess.run(["infer"] + args + ["-o", "Infer.infer_imgs=\(data)/images/test",
                                                             "-o", "Global.pretrained_model=\(out)/MobileNetV3_small_x0_35/best_model"])
        XCTAssertEqual(infer.status, 0, infer.stderr)
        XCTAssertTrue(infer.stdout.contains("\"attributes\":[\"") && infer.stdout.contains("HoldObjectsInFront: "), infer.stdout)
    }

    func testPaddleClasBinaryPULCConfigReportsTprAtFprAndThreshOutput() throws {
        // PULC/car_exists/MobileNetV3_small_x0_35.yaml (shared configs, when present): TprAtFpr drives the best
        // model, ThreshOutput labels the images. Data: "does the mosaic show a trouser" from the derived set.
        let config = "/work/shared/ppcls-configs/ppcls/configs/PULC/car_exists/MobileNetV3_small_x0_35.yaml"
        guard FileManager.default.fileExists(atPath: config) else { throw XCTSkip("\(config) is absent") }
        let data = try derived("fashion-mnist-multilabel", train: 16, test: 8)
        for split in ["train", "test"] {
            let lines = try String(contentsOfFile: "\(data)/\(split)_list.txt", encoding: .utf8).split(separator: "\n")
            let binary = lines.map { line -> String in
                let fields = line.split(separator: "\t")
                return "\(fields[0]) \(fields[1].split(separator: ",")[1])"
            }
            try (binary.joined(separator: "\n") + "\n").write(toFile: "\(data)/binary_\(split).txt", atomically: true, encoding: .utf8)
        }
        let out = scratchDirectory() + "/out"
        let args = ["-c", config] + dataOverrides(data, train: "binary_train.txt", test: "binary_test.txt")
            + ["-o", "Global.output_dir=\(out)", "-o", "Global.epochs=1", "-o", "DataLoader.Train.sampler.batch_size=8",
               "-o", "Arch.pretrained=False", "-o", "Global.device=cpu", "-o", "Global.start_eval_epoch=0"]
        let r = try ToolsProcess.run(["train"] + args, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let log = try String(contentsOfFile: "\(out)/MobileNetV3_small_x0_35/train.log", encoding: .utf8)
        XCTAssertTrue(log.contains("tpr: ") && log.contains("threshold: ") && log.contains("fpr: "), log)
        let infer = try ToolsProcess.run(["infer"] + args + ["-o", "Infer.infer_imgs=\(data)/images/test",
                                                             "-o", "Global.pretrained_model=\(out)/MobileNetV3_small_x0_35/best_model"])
        XCTAssertEqual(infer.status, 0, infer.stderr)
        let labels = infer.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }
        XCTAssertEqual(labels.count, 8, infer.stdout)
        XCTAssertTrue(labels.allSatisfy { $0.contains("\"label_names\":[\"contains_car\"]") || $0.contains("\"label_names\":[\"no_car\"]") },
                      infer.stdout)
    }

    func testMultiLabelDataRefusesSingleLabelComponents() throws {
        let data = try derived("fashion-mnist-multilabel", train: 8, test: 4)
        let r = try ToolsProcess.run(["train", "-c", Self.repo + "/configs/pulc/multilabel_fmnist.yaml"] + dataOverrides(data)
                                     + ["-o", "Global.output_dir=\(scratchDirectory())", "-o", "DataLoader.Train.sampler.batch_size=4",
                                        "-o", "Metric.Eval=[{TopkAcc: {topk: [1]}}]"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("TopkAcc needs one integer label per image") && r.stderr.contains("MultiLabelMAP"), r.stderr)
        let mixup = try ToolsProcess.run(["train", "-c", Self.repo + "/configs/pulc/multilabel_fmnist.yaml"] + dataOverrides(data)
                                         + ["-o", "Global.output_dir=\(scratchDirectory())",
                                            "-o", "DataLoader.Train.dataset.batch_transform_ops=[{MixupOperator: {alpha: 0.2}}]"])
        XCTAssertEqual(mixup.status, 2, mixup.stderr)
        XCTAssertTrue(mixup.stderr.contains("multi-label data (MultiLabelDataset) takes no batch transforms"), mixup.stderr)
    }
}
