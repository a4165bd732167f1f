import ClasConfig
import ClasEngine
import ClasModels
import ClasNN
import ClasOptim
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// AM-softmax heads on zoo models, DistillationModel (mutual learning and distillation) end to end.
final class DistillationModelTests: XCTestCase {
    private func buildArch(_ yaml: String, classes: Int = 5) throws -> Module {
        let r = Registries.builtins(), decoder = ConfigDecoder()
        return try r.arch.build(specNode(yaml), context: ArchContext(classCount: classes, registry: r.arch, decoder: decoder),
                                path: "Arch", decoder: decoder)
    }

    // MARK: AM-softmax head

    func testAMSoftmaxHeadReplacesTheClassifierOfEveryFamily() throws {
        for (name, classifier) in [("MobileNetV3_small_x0_35", "classifier"), ("EfficientNetB0", "classifier"),
                                   ("ResNet18", "fc"), ("MobileOne_S0", "head.fc")] {
            let model = try buildArch("{name: \(name), head: {name: AMSoftmax, scale: 16}}")
            let names = Set(model.namedParameters().map(\.0))
            XCTAssertTrue(names.contains("\(classifier).weight"), name)
            XCTAssertFalse(names.contains("\(classifier).bias"), "\(name): a cosine classifier has no bias")
            let plain = try buildArch("{name: \(name)}")
            XCTAssertEqual(names.subtracting(["\(classifier).weight"]),
                           Set(plain.namedParameters().map(\.0)).subtracting(["\(classifier).weight", "\(classifier).bias"]),
                           "\(name): the backbone keeps its names")
        }
        let model = try buildArch("{name: MobileNetV3_small_x0_35, head: {name: AMSoftmax, scale: 16}}")
        model.eval()
        let logits = GradMode.withoutGrad { model(randn([2, 32, 32, 3])) }
        XCTAssertEqual(logits.shape, [2, 5])
        XCTAssertTrue(logits.scalars.allSatisfy { Swift.abs($0) <= 16.0001 }, "logits are s·cos θ")
        XCTAssertEqual(try buildArch("{name: MobileNetV3_small_x0_35, head: {name: FC}}").namedParameters().count,
                       try buildArch("{name: MobileNetV3_small_x0_35}").namedParameters().count)
    }

    func testHeadConfigErrors() {
        XCTAssertThrowsError(try buildArch("{name: ResNet18, head: {name: AMSoftmax, margin: 0.35}}")) {
            XCTAssertTrue("\($0)".contains("Arch.head.margin belongs to the loss: set it on AMSoftmaxLoss"), "\($0)")
        }
        XCTAssertThrowsError(try buildArch("{name: ResNet18, head: {name: ArcFace}}")) {
            XCTAssertTrue("\($0)".contains("'FC', 'AMSoftmax'"), "\($0)")
        }
    }

    func testAMSoftmaxTrainsAndChecksItsScale() throws {
        let run = try TinyRun(epochs: 1)
        let arch = "Arch={name: MobileNetV3_small_x0_35, head: {name: AMSoftmax, scale: 20}}"
        let engine = try Engine(configPath: run.config, overrides: [arch, "Loss.Train=[{AMSoftmaxLoss: {weight: 1.0, margin: 0.2}}]"],
                                mode: .train, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        try Trainer(engine: engine).run()
        XCTAssertTrue(lines.contains { $0.contains("[Train][Epoch 1/1][Avg]top1: ") && $0.contains("AMSoftmaxLoss: ") })
        XCTAssertTrue(lines.contains { $0.contains("[Eval][Epoch 1][Avg]CELoss: ") })
        XCTAssertThrowsError(try Trainer(engine: Engine(configPath: run.config, overrides: [
            arch, "Loss.Train=[{AMSoftmaxLoss: {weight: 1.0, scale: 30}}]"], mode: .train, quiet: true))) {
            XCTAssertTrue("\($0)".contains("AMSoftmaxLoss scale 30.0 differs from the head's scale 20.0"), "\($0)")
        }
    }

    // MARK: DistillationModel

    func testMutualLearningRecipeTrainsAndWritesTheStudent() throws {
        let run = try TinyRun(epochs: 2, extraYAML: "EMA: {decay: 0.9, use_warmup: True}")
        let overrides = [
            "Arch={name: DistillationModel, freeze_params_list: [False, False], infer_model_name: Student, models: ["
                + "{Student: {name: MobileNetV3_small_x0_35}}, "
                + "{Aux: {name: MobileNetV3_small_x0_35, head: {name: AMSoftmax, scale: 30}}}]}",
            "Loss.Train=[{DistillationGTCELoss: {weight: 1.0, model_names: [Student]}}, "
                + "{AMSoftmaxLoss: {weight: 1.0, model_name: Aux, margin: 0.35}}, "
                + "{DistillationDMLLoss: {weight: 1.0, model_name_pairs: [[Student, Aux]]}}]",
            "Metric.Train=[{DistillationTopkAcc: {model_key: Student, topk: [1, 2]}}]",
            "Metric.Eval=[{DistillationTopkAcc: {model_key: Student, topk: [1, 2]}}]",
            "Optimizer={name: SAM, rho: 0.05, base: {name: Momentum, momentum: 0.9, no_weight_decay_name: .bias, "
                + "one_dim_param_no_weight_decay: True}, lr: {name: ReduceOnPlateau, learning_rate: 0.02, mode: max}, "
                + "regularizer: {name: L2, coeff: 0.0001}}",
        ]
        let engine = try Engine(configPath: run.config, overrides: overrides, mode: .train, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        let model = try XCTUnwrap(engine.model as? DistillationModel)
        XCTAssertEqual(model.models.map(\.name), ["Student", "Aux"])
        let names = model.namedParameters().map(\.0)
        XCTAssertTrue(names.contains("Student.classifier.bias") && names.contains("Aux.classifier.weight"))
        XCTAssertFalse(names.contains("Aux.classifier.bias"))
        let trainer = try Trainer(engine: engine)
        XCTAssertTrue(trainer.optimizer is SAM)
        XCTAssertTrue(trainer.observers.contains { ($0 as AnyObject) === model }, "the distillation model observes")
        XCTAssertTrue(trainer.observers.contains { $0 is ReduceOnPlateau }, "the plateau schedule observes")
        try trainer.run()
        let avg = lines.first { $0.contains("[Train][Epoch 2/2][Avg]") } ?? ""
        for key in ["top1: ", "top2: ", "CELoss_Student: ", "AMSoftmaxLoss_Aux: ", "DMLLoss_Student_Aux_0: ", "loss: "] {
            XCTAssertTrue(avg.contains(key), "\(key) in \(avg)")
        }
        let dir = "\(run.dir)/output/DistillationModel"
        let student = try Checkpoint.read(prefix: "\(dir)/best_model_student")
        XCTAssertNil(student.state, "a weights file, not a training checkpoint")
        XCTAssertEqual(student.metadata["arch"], "MobileNetV3_small_x0_35")
        XCTAssertNotNil(student.model["classifier.bias"])
        XCTAssertEqual(Set(student.ema.keys), Set(student.model.keys))

        // The student alone, from its own file, evaluates exactly like the DistillationModel's inference model.
        let evalDML = try EvaluationReport(engine: Engine(configPath: run.config, overrides: overrides + [
            "Global.pretrained_model=\(dir)/best_model"], mode: .eval, quiet: true)).run()
        let evalStudent = try EvaluationReport(engine: Engine(configPath: run.config, overrides: [
            "Global.pretrained_model=\(dir)/best_model_student"], mode: .eval, quiet: true)).run()
        let top1DML = try XCTUnwrap(evalDML.first { $0.0 == "top1" }?.1, "top1 of the DistillationModel")
        let top1Student = try XCTUnwrap(evalStudent.first { $0.0 == "top1" }?.1, "top1 of the student")
        XCTAssertEqual(top1DML, top1Student)
    }

    func testSeedRecipeResumesExactly() throws {
        // Mutual learning + AM-softmax + SAM + EMA + ReduceOnPlateau, 2 epochs straight vs 1 + resume.
        let recipe = RecipeConfigTests.recipes + "/mobilenet_v3_small_dml.yaml"
        func run(_ name: String, _ body: (TinyRun, [String]) throws -> Void) throws -> [String: [Float]] {
            let data = try TinyRun(epochs: 2, name: name)
            let overrides = ["DataLoader.Train.dataset.image_root=\(data.dir)/train",
                             "DataLoader.Eval.dataset.image_root=\(data.dir)/val",
                             "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=32",
                             "DataLoader.Eval.dataset.transform_ops.1.ResizeImage.size=32",
                             "Global.output_dir=\(data.dir)/out", "Global.epochs=2", "Global.iter_per_epoch=3",
                             "Optimizer.lr.patience=0", "DataLoader.Train.sampler.batch_size=8"]
            try body(data, overrides)
            let c = try Checkpoint.read(prefix: "\(data.dir)/out/DistillationModel/latest")
            return c.model.merging(c.ema.map { ("ema." + $0.key, $0.value) }) { a, _ in a }.mapValues(\.scalars)
        }
        let straight = try run("dmlStraight") { data, o in
            try Trainer(engine: Engine(configPath: recipe, overrides: o, mode: .train, quiet: true)).run()
        }
        let resumed = try run("dmlResumed") { data, o in
            try Trainer(engine: Engine(configPath: recipe, overrides: o, mode: .train, quiet: true)).runEpochs(until: 1)
            try Trainer(engine: Engine(configPath: recipe, overrides: o + [
                "Global.checkpoints=\(data.dir)/out/DistillationModel/latest"], mode: .train, quiet: true)).run()
        }
        XCTAssertEqual(straight.count, resumed.count)
        XCTAssertTrue(straight == resumed, "bit-identical weights and averages after resuming")
    }

    func testDistillationFromAFrozenPretrainedTeacher() throws {
        let run = try TinyRun(epochs: 1)
        try Trainer(engine: Engine(configPath: run.config, mode: .train, quiet: true)).run()
        let teacherFile = "\(run.modelDir)/latest"
        let engine = try Engine(configPath: run.config, overrides: [
            "Arch={name: DistillationModel, freeze_params_list: [True, False], models: ["
                + "{Teacher: {name: MobileNetV3_small_x0_35, pretrained: \(teacherFile)}}, "
                + "{Student: {name: MobileNetV3_small_x0_35, dropout_prob: null}}]}",
            "Loss.Train=[{DistillationKLDivLoss: {weight: 1.0, model_name_pairs: [[Student, Teacher]], temperature: 2}}, "
                + "{DistillationGTCELoss: {weight: 0.5, model_names: [Student]}}]",
        ], mode: .train, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        let model = try XCTUnwrap(engine.model as? DistillationModel)
        XCTAssertEqual(model.frozen, [true, false])
        XCTAssertTrue(model.models[0].model.parameters().allSatisfy { !$0.requiresGrad })
        let teacher = try Checkpoint.read(prefix: teacherFile).model
        try Trainer(engine: engine).run()
        let after = try Checkpoint.read(prefix: "\(run.dir)/output/DistillationModel/latest").model
        for (name, t) in teacher where !name.contains("running") {
            XCTAssertEqual(after["Teacher.\(name)"]?.scalars, t.scalars, "frozen teacher \(name) unchanged")
        }
        XCTAssertEqual(after["Teacher.bn1.running_mean"]?.scalars, teacher["bn1.running_mean"]?.scalars,
                       "the frozen teacher runs in evaluation mode")
        XCTAssertTrue(lines.contains { $0.contains("loss_kl_Student_Teacher: ") && $0.contains("CELoss_Student: ") })
    }

    func testDistillationConfigErrors() throws {
        let run = try TinyRun(epochs: 1)
        func error(_ arch: String) -> String {
            do {
                _ = try Engine(configPath: run.config, overrides: ["Arch=\(arch)"], mode: .train, quiet: true)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(error("{name: DistillationModel, freeze_params_list: [True], models: [{A: {name: ResNet18}}, "
                            + "{B: {name: ResNet18}}]}").contains("Arch.freeze_params_list needs one flag per model (2), got 1"))
        XCTAssertTrue(error("{name: DistillationModel, models: [{A: {name: ResNet19}}]}").contains("no Arch named 'ResNet19'"))
        XCTAssertTrue(error("{name: DistillationModel, infer_model_name: C, models: [{A: {name: ResNet18}}]}")
            .contains("'C' is not one of the models"))
        XCTAssertTrue(error("{name: DistillationModel, models: [{name: ResNet18}]}").contains("must be a one-key map"))
    }

    /// PaddleClas's own DML config (copied unmodified into the config tests' fixtures) trains with overrides only.
    func testPaddleClasDMLConfigTrains() throws {
        let run = try TinyRun(epochs: 1)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ClasConfigTests/Fixtures/ppcls/PPLCNet_x2_5_dml.yaml").path
        let data = { (split: String) in "{name: ImageFolderDataset, image_root: \(run.dir)/\(split), transform_ops: "
            + "[{DecodeImage: {to_rgb: True}}, {NormalizeImage: {scale: 0.00392156862745098, mean: [0.5, 0.5, 0.5], "
            + "std: [0.5, 0.5, 0.5], order: ''}}]}" }
        let engine = try Engine(configPath: fixture, overrides: [
            "Global.output_dir=\(run.dir)/ppcls", "Global.epochs=1", "Global.device=cpu",
            "Arch.class_num=4", "Arch.models.0.Teacher.name=MobileNetV3_small_x0_35",
            "Arch.models.1.Student.name=MobileNetV3_small_x0_35",
            "DataLoader.Train.dataset=\(data("train"))", "DataLoader.Eval.dataset=\(data("val"))",
            "DataLoader.Train.sampler.batch_size=8", "DataLoader.Eval.sampler.batch_size=16",
            "DataLoader.Train.loader.num_workers=1", "DataLoader.Eval.loader.num_workers=0",
            "Optimizer.lr.learning_rate=0.02", "Optimizer.lr.warmup_epoch=0",
        ], mode: .train, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        XCTAssertEqual(engine.classCount, 4)
        try Trainer(engine: engine).run()
        let avg = lines.first { $0.contains("[Train][Epoch 1/1][Avg]") } ?? ""
        for key in ["top1: ", "CELoss_Student: ", "CELoss_Teacher: ", "DMLLoss_Student_Teacher_0: "] {
            XCTAssertTrue(avg.contains(key), "\(key) in \(avg)")
        }
        XCTAssertTrue(lines.contains { $0.contains("[Eval][Epoch 1][Avg]CELoss: ") })
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run.dir)/ppcls/DistillationModel/best_model_student.safetensors"))
    }

    // MARK: PULC keys of the models of a DistillationModel

    /// `return_stages` (PaddleClas's `stages_pattern`): True gives every stage, indices pick stages, and with
    /// `return_patterns` present the patterns win (as in PaddleClas); PP-LCNet answers to PaddleClas's `blocks2` …
    /// `blocks6`.
    func testReturnStages() throws {
        func outputs(_ model: String) throws -> [String: Set<String>] {
            let built = try buildArch("{name: DistillationModel, models: [{Student: \(model)}]}")
            return try XCTUnwrap(built as? DistillationModel).returnPatterns
        }
        XCTAssertEqual(try outputs("{name: PPLCNet_x0_25, return_stages: True}")["Student"],
                       ["blocks2", "blocks3", "blocks4", "blocks5", "blocks6"])
        XCTAssertEqual(try outputs("{name: ResNet18, return_stages: [1, 3]}")["Student"], ["blocks[3]", "blocks[7]"])
        XCTAssertEqual(try outputs("{name: MobileNetV3_small_x0_35, return_stages: 2}")["Student"], ["blocks[7]"])
        XCTAssertEqual(try outputs("{name: PPLCNet_x0_25, return_stages: True, return_patterns: [blocks4]}")["Student"], ["blocks4"])
        XCTAssertNil(try outputs("{name: ResNet18, return_stages: False}")["Student"])
        XCTAssertThrowsError(try outputs("{name: ResNet18, return_stages: [4]}")) {
            XCTAssertTrue("\($0)".contains("expects True, False or stage indices 0…3 of ResNet18"), "\($0)")
        }
        // blocks5 is the end of PaddleClas's blocks5 (timm's blocks.3 + blocks.4): the tapped output is that stage's.
        let model = try XCTUnwrap(buildArch("{name: DistillationModel, models: [{S: {name: PPLCNet_x0_25, return_patterns: [blocks5, blocks6]}}]}")
            as? DistillationModel)
        let out = GradMode.withoutGrad { model.forwardOutputs(randn([1, 64, 64, 3])) }
        XCTAssertEqual(out.features["S"]?["blocks5"]?.shape, [1, 4, 4, 64])
        XCTAssertEqual(out.features["S"]?["blocks6"]?.shape, [1, 2, 2, 128])
    }

    /// A model's own `lr_mult_list` (PULC language_classification's student) sets its parameters' learning-rate
    /// multipliers by PaddleClas's stages; the other model keeps 1; with 0 for the stem the stem does not move.
    func testLrMultListOfAModelInsideADistillationModel() throws {
        let run = try TinyRun(epochs: 1)
        let engine = try Engine(configPath: run.config, overrides: [
            "Arch={name: DistillationModel, freeze_params_list: [True, False], models: ["
                + "{Teacher: {name: MobileNetV3_small_x0_35}}, "
                + "{Student: {name: PPLCNet_x0_25, lr_mult_list: [0.0, 0.4, 0.4, 0.8, 0.8, 1.0]}}]}",
            "Loss.Train=[{DistillationDMLLoss: {weight: 1.0, model_name_pairs: [[Student, Teacher]]}}]",
            "Metric.Train=[]", "Global.eval_during_train=False",
        ], mode: .train, quiet: true)
        let trainer = try Trainer(engine: engine)
        let m = Dictionary(uniqueKeysWithValues: zip(trainer.optimizer.parameters.map(\.name), trainer.optimizer.learningRateMultipliers))
        XCTAssertEqual(m["Student.conv_stem.weight"], 0)
        XCTAssertEqual(m["Student.blocks.0.0.conv_dw.weight"], 0.4)
        XCTAssertEqual(m["Student.blocks.3.0.conv_dw.weight"], 0.8)
        XCTAssertEqual(m["Student.blocks.5.0.conv_pw.weight"], 1.0)
        XCTAssertEqual(m["Student.classifier.weight"], 1.0)
        let stem = engine.model.namedParameters().first { $0.0 == "Student.conv_stem.weight" }!.1.scalars
        let pw = engine.model.namedParameters().first { $0.0 == "Student.blocks.0.0.conv_pw.weight" }!.1.scalars
        try trainer.run()
        XCTAssertEqual(engine.model.namedParameters().first { $0.0 == "Student.conv_stem.weight" }!.1.scalars, stem)
        XCTAssertNotEqual(engine.model.namedParameters().first { $0.0 == "Student.blocks.0.0.conv_pw.weight" }!.1.scalars, pw)

        XCTAssertThrowsError(try buildArch("{name: DistillationModel, models: [{S: {name: PPLCNet_x0_25, lr_mult_list: [1, 1]}}]}")) {
            XCTAssertTrue("\($0)".contains("lr_mult_list has 2 values but expects 6"), "\($0)")
        }
        XCTAssertThrowsError(try buildArch("{name: DistillationModel, models: [{S: {name: ResNet18, freeze_stages: 2}}]}")) {
            XCTAssertTrue("\($0)".contains("freeze_stages is not read in a model of a DistillationModel"), "\($0)")
        }
    }

    /// Unlabelled data (`CustomLabelDataset` without `label_key`) with a loss that reads labels is a config error
    /// naming the loss's file and line; losses between models train on it.
    func testUnlabelledDataRefusesLossesThatReadLabels() throws {
        let run = try TinyRun(epochs: 1)
        var list = ""
        for k in 0..<4 { for i in 0..<8 { list += "class_\(k)/\(i).png\n" } }
        try list.write(toFile: "\(run.dir)/unlabelled.txt", atomically: true, encoding: .utf8)
        let unlabelled = "DataLoader.Train.dataset={name: CustomLabelDataset, image_root: \(run.dir)/train, "
            + "sample_list_path: \(run.dir)/unlabelled.txt, transform_ops: [{DecodeImage: {to_rgb: True}}, "
            + "{NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}}]}"
        let dml = "Arch={name: DistillationModel, class_num: 4, freeze_params_list: [True, False], models: ["
            + "{Teacher: {name: MobileNetV3_small_x0_35}}, {Student: {name: MobileNetV3_small_x0_35}}]}"
        let engine = try Engine(configPath: run.config, overrides: [unlabelled, dml, "Metric.Train=[]", "Global.eval_during_train=False",
            "Loss.Train=[{DistillationDMLLoss: {weight: 1.0, model_name_pairs: [[Student, Teacher]]}}, "
                + "{DistillationGTCELoss: {weight: 1.0, model_names: [Student]}}]"], mode: .train, quiet: true)
        XCTAssertThrowsError(try Trainer(engine: engine)) {
            XCTAssertTrue("\($0)".contains("Loss.Train.1 DistillationGTCELoss needs labels, but DataLoader.Train.dataset has none"), "\($0)")
            XCTAssertTrue("\($0)".contains("-o #"), "names where the loss was given: \($0)")
        }
        let ok = try Engine(configPath: run.config, overrides: [unlabelled, dml, "Metric.Train=[]", "Global.eval_during_train=False",
            "Loss.Train=[{DistillationDMLLoss: {weight: 1.0, model_name_pairs: [[Student, Teacher]]}}]"], mode: .train, quiet: true)
        var lines: [String] = []
        ok.logger.capture = { lines.append($0) }
        try Trainer(engine: ok).run()
        XCTAssertTrue(lines.contains { $0.contains("[Train][Epoch 1/1][Avg]DMLLoss_Student_Teacher_0: ") }, lines.joined(separator: "\n"))
    }
}
