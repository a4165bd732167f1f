import ClasConfig
import Foundation
import XCTest

/// Every key a config section reads has a decision: it has an effect, or it is accepted with a one-line notice,
/// or it is refused with the reason. A key added to a section without an entry here fails
/// ``testEverySectionKeyHasADecision``.
final class KeyAuditTests: XCTestCase {
    enum Decision {
        /// Read by the engine: the Swift property is used outside ClasConfig.
        case effect(property: String)
        /// `-o` text that gives a notice mentioning the key.
        case notice(override: String)
        /// `-o` text that is refused with a message mentioning the key.
        case refused(override: String)
    }

    /// (section path, the type's known keys, decision per key).
    static let sections: [(String, [String], [String: Decision])] = [
        ("", RunConfig.knownKeys, [
            "Global": .effect(property: "global"), "Arch": .effect(property: "arch"),
            "Loss": .effect(property: "loss"), "Optimizer": .effect(property: "optimizer"),
            "DataLoader": .effect(property: "dataLoader"), "Metric": .effect(property: "metric"),
            "Infer": .effect(property: "infer"), "EMA": .effect(property: "ema"),
            "AMP": .effect(property: "amp"), "Slim": .effect(property: "slim"),
            "LRFinder": .effect(property: "lrFinder"),
        ]),
        ("Global", GlobalConfig.knownKeys, [
            "checkpoints": .effect(property: "checkpoints"), "pretrained_model": .effect(property: "pretrainedModel"),
            "output_dir": .effect(property: "outputDir"), "device": .notice(override: "Global.device=gpu"),
            "epochs": .effect(property: "epochs"), "save_interval": .effect(property: "saveInterval"),
            "eval_during_train": .effect(property: "evalDuringTrain"),
            "eval_interval": .effect(property: "evalInterval"), "start_eval_epoch": .effect(property: "startEvalEpoch"),
            "print_batch_step": .effect(property: "printBatchStep"), "use_visualdl": .effect(property: "useVisualDL"),
            "image_shape": .effect(property: "imageShape"), "save_inference_dir": .effect(property: "saveInferenceDir"),
            "eval_mode": .refused(override: "Global.eval_mode=retrieval"), "seed": .effect(property: "seed"),
            "class_num": .notice(override: "Global.class_num=10"), "update_freq": .effect(property: "updateFreq"),
            "iter_per_epoch": .effect(property: "iterPerEpoch"),
            "train_mode": .effect(property: "trainMode"),
            "num_threads": .effect(property: "numThreads"), "skip_bad_images": .effect(property: "skipBadImages"),
            "max_image_pixels": .effect(property: "maxImagePixels"),
            "collective_timeout": .effect(property: "collectiveTimeout"),
            "overwrite": .effect(property: "overwrite"), "use_multilabel": .effect(property: "useMultilabel"),
        ]),
        ("Optimizer", OptimizerConfig.knownKeys, [
            "name": .effect(property: "name"), "lr": .effect(property: "lr"),
            "regularizer": .effect(property: "regularizer"), "clip_norm": .effect(property: "clipNorm"),
            "clip_grad": .effect(property: "clipNorm"),
            "weight_decay_schedule": .effect(property: "weightDecaySchedule"),
        ]),
        ("DataLoader", DataLoaderConfig.knownKeys, ["Train": .effect(property: "train"), "Eval": .effect(property: "eval")]),
        ("DataLoader.Train", DataLoaderSplit.knownKeys, [
            "dataset": .effect(property: "dataset"), "sampler": .effect(property: "sampler"),
            "loader": .effect(property: "loader"), "batch_size": .effect(property: "batchSize"),
            "shuffle": .effect(property: "shuffle"), "drop_last": .effect(property: "dropLast"),
        ]),
        ("DataLoader.Train.loader", LoaderOptions.knownKeys, [
            "num_workers": .effect(property: "numWorkers"),
            "use_shared_memory": .notice(override: "DataLoader.Train.loader.use_shared_memory=False"),
        ]),
        ("Metric", PhaseComponents.knownKeys, ["Train": .effect(property: "train"), "Eval": .effect(property: "eval")]),
        ("Infer", InferConfig.knownKeys, [
            "infer_imgs": .effect(property: "inferImgs"), "infer_list": .effect(property: "inferList"),
            "batch_size": .effect(property: "batchSize"), "transforms": .effect(property: "transforms"),
            "PostProcess": .effect(property: "postProcess"), "save_dir": .effect(property: "saveDir"),
        ]),
        ("EMA", EMAConfig.knownKeys, ["decay": .effect(property: "decay"), "use_warmup": .effect(property: "useWarmup")]),
        ("AMP", AMPConfig.knownKeys, [
            "use_amp": .effect(property: "useAmp"), "level": .notice(override: "AMP={use_amp: True, level: O2}"),
            "scale_loss": .notice(override: "AMP={use_amp: True, scale_loss: 128}"),
            "use_dynamic_loss_scaling": .notice(override: "AMP={use_amp: True, use_dynamic_loss_scaling: True}"),
            "use_fp16_test": .notice(override: "AMP={use_amp: True, use_fp16_test: True}"),
            "use_promote": .notice(override: "AMP={use_amp: True, use_promote: True}"),
        ]),
        ("Slim", SlimConfig.knownKeys, [
            "quant": .effect(property: "slim?.node[\"quant\"]"), "prune": .notice(override: "Slim.prune={name: fpgm}"),
        ]),
        ("LRFinder", LRFinderConfig.knownKeys, Dictionary(uniqueKeysWithValues: [
            ("mode", "mode"), ("auto", "auto"), ("stop_after", "stopAfter"), ("min_lr", "minLR"), ("max_lr", "maxLR"),
            ("num_iter", "numIter"), ("warmup_iter", "warmupIter"), ("warmup_epoch", "warmupEpoch"),
            ("smooth_f", "smoothF"), ("diverge_th", "divergeTh"), ("skip_start", "skipStart"), ("skip_end", "skipEnd"),
            ("path_to_savefig", "pathToSavefig"), ("num_trials", "numTrials"), ("trial_epochs", "trialEpochs"),
            ("trial_iters", "trialIters"), ("seed", "seed"),
        ].map { ($0.0, Decision.effect(property: $0.1)) })),
    ]

    func testEverySectionKeyHasADecision() {
        for (path, known, decisions) in Self.sections {
            let undecided = Set(known).subtracting(decisions.keys).sorted()
            XCTAssertEqual(undecided, [], "\(path): keys with no decision (effect, notice or refusal)")
            XCTAssertEqual(Set(decisions.keys).subtracting(known).sorted(), [], "\(path): decisions for unknown keys")
        }
    }

    /// Swift sources outside ClasConfig, where an effect must be.
    private static let engineSources: String = {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        var text = ""
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        while let url = files?.nextObject() as? URL {
            guard url.pathExtension == "swift", !url.path.contains("/Sources/ClasConfig/") else { continue }
            text += (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        }
        return text
    }()

    func testEffectsAreReadOutsideTheConfigModule() {
        XCTAssertFalse(Self.engineSources.isEmpty, "Sources not found")
        for (path, _, decisions) in Self.sections {
            for (key, decision) in decisions {
                guard case .effect(let property) = decision else { continue }
                XCTAssertTrue(Self.engineSources.contains(".\(property)"), "\(path).\(key): '.\(property)' is never read")
            }
        }
    }

    func testNoticesAndRefusals() throws {
        let fixture = try Fixtures.path("MobileNetV3_large_x1_0.yaml")
        for (path, _, decisions) in Self.sections {
            for (key, decision) in decisions.sorted(by: { $0.key < $1.key }) {
                let decoder = ConfigDecoder()
                switch decision {
                case .effect: continue
                case .notice(let text):
                    XCTAssertNoThrow(try RunConfig.load(fixture, overrides: [text], decoder: decoder), text)
                    let word = path.isEmpty ? key : key.components(separatedBy: "_").first!
                    XCTAssertTrue(
                        decoder.notices.contains { $0.message.contains(word) || $0.message.contains(path) },
                        "\(text): no notice in \(decoder.notices)")
                case .refused(let text):
                    XCTAssertThrowsError(try RunConfig.load(fixture, overrides: [text], decoder: decoder), text) {
                        XCTAssertTrue("\($0)".contains("\(path).\(key)"), "\($0)")
                    }
                }
            }
        }
    }

    func testIgnoredKeysGiveANotice() throws {
        let fixture = try Fixtures.path("MobileNetV3_large_x1_0.yaml")
        for key in GlobalConfig.ignoredKeys.keys.sorted() {
            let decoder = ConfigDecoder()
            _ = try RunConfig.load(fixture, overrides: ["Global.\(key)=True"], decoder: decoder)
            XCTAssertTrue(decoder.notices.contains { $0.message.contains("Global.\(key) is ignored") }, key)
        }
    }

    func testRetrievalAndUnknownTrainModesAreRefusedWithTheReason() throws {
        let fixture = try Fixtures.path("MobileNetV3_large_x1_0.yaml")
        assertConfigError(
            "-o #1 'Global.eval_mode=adaface': error: Global.eval_mode 'adaface' is not supported: SwiftClas "
                + "evaluates classifiers only (image retrieval and face recognition are out of scope); remove the key "
                + "or set it to classification"
        ) { try RunConfig.load(fixture, overrides: ["Global.eval_mode=adaface"], decoder: ConfigDecoder()) }
        assertConfigError(
            "-o #1 'Global.train_mode=fixmatch': error: Global.train_mode 'fixmatch' is not supported: "
                + "semi-supervised training is not supported. Without the key, training is standard"
        ) { try RunConfig.load(fixture, overrides: ["Global.train_mode=fixmatch"], decoder: ConfigDecoder()) }
        XCTAssertNoThrow(
            try RunConfig.load(
                fixture, overrides: ["Global.eval_mode=classification", "Global.train_mode=null"],
                decoder: ConfigDecoder()))
    }
}
