import ClasConfig
import XCTest

/// `-o KEY=VALUE`: grammar, typing through YAML, list indexes, created keys and their errors.
final class OverrideTests: XCTestCase {
    private func mnv3(_ overrides: [String]) throws -> ConfigNode {
        try ConfigLoader.load(try Fixtures.path("MobileNetV3_large_x1_0.yaml"), overrides: overrides)
    }

    private func value(_ text: String) -> ConfigNode {
        Overrides.parseValue(text, at: .override(index: 1, text: "k=\(text)"))
    }

    func testValuesAreParsedAsYAMLNotEvaluated() throws {
        XCTAssertEqual(value("10"), .scalar("10"))
        XCTAssertEqual(value("0.1"), .scalar("0.1"))
        XCTAssertEqual(value("1e-3"), .scalar("1e-3"))
        XCTAssertEqual(value("True"), .scalar("True"))
        XCTAssertEqual(value("abc"), .scalar("abc"))
        XCTAssertEqual(value("'abc'"), .scalar("abc", quoted: true))
        XCTAssertEqual(value("./output/x/best_model"), .scalar("./output/x/best_model"))
        for null in ["None", "null", "~", ""] { XCTAssertTrue(value(null).isNull, null) }
        XCTAssertEqual(value("[3,224,224]"), .sequence([.scalar("3"), .scalar("224"), .scalar("224")]))
        XCTAssertEqual(value("{alpha: 0.2}").description, "{alpha: 0.2}")
        XCTAssertEqual(value("*.jpg"), .scalar("*.jpg", quoted: true))  // not YAML: kept as text
        XCTAssertEqual(value("[1, 2").scalar?.text, "[1, 2")
    }

    func testOverridesReplaceInOrderAndKeepTheirOrigin() throws {
        let tree = try mnv3(["Global.epochs=2", "Global.epochs=3", "DataLoader.Train.sampler.batch_size=8"])
        let epochs = try XCTUnwrap(tree.node(at: "Global.epochs"))
        XCTAssertEqual(epochs.scalar?.text, "3")
        XCTAssertEqual(epochs.location.description, "-o #2 'Global.epochs=3'")
        XCTAssertEqual(tree.node(at: "DataLoader.Train.sampler.batch_size")?.scalar?.text, "8")
        XCTAssertEqual(tree["Global"]?.keys.firstIndex(of: "epochs"), 7)  // replaced in place, order kept
    }

    func testValueMayContainEquals() throws {
        let tree = try mnv3(["Infer.infer_imgs=a=b.jpg"])
        XCTAssertEqual(tree.node(at: "Infer.infer_imgs")?.scalar?.text, "a=b.jpg")
    }

    func testListIndexesIncludingNegative() throws {
        let tree = try mnv3([
            "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=192",
            "DataLoader.Train.dataset.transform_ops.-1.NormalizeImage.order=chw",
        ])
        XCTAssertEqual(
            tree.node(at: "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size")?.scalar?.text, "192")
        XCTAssertEqual(
            tree.node(at: "DataLoader.Train.dataset.transform_ops.4.NormalizeImage.order")?.scalar?.text, "chw")
    }

    func testNullOpBecomesAMap() throws {
        let tree = try mnv3(["DataLoader.Train.dataset.transform_ops.3.AutoAugment.prob=0.5"])
        XCTAssertEqual(
            tree.node(at: "DataLoader.Train.dataset.transform_ops.3")?.description, "{AutoAugment: {prob: 0.5}}")
    }

    func testNullDeletesAKeyAnItemOrASection() throws {
        let ops = "DataLoader.Train.dataset.transform_ops"
        let tree = try mnv3([
            "DataLoader.Train.dataset.name=ImageFolderDataset", "DataLoader.Train.dataset.cls_label_path=null",
            "\(ops).2=None", "Global.pretrained_model=", "Optimizer.regularizer=~",
        ])
        XCTAssertEqual(tree.node(at: "DataLoader.Train.dataset")?.keys, ["name", "image_root", "transform_ops"])
        XCTAssertEqual(
            tree.node(at: ops)?.items?.compactMap { $0.keys.first },
            ["DecodeImage", "RandCropImage", "AutoAugment", "NormalizeImage"])
        XCTAssertNil(tree.node(at: "Global.pretrained_model"))
        XCTAssertNil(tree.node(at: "Optimizer.regularizer"))
        XCTAssertNil(try mnv3(["EMA.decay=1", "EMA=null"])["EMA"])
        // Quoted, 'null' is text.
        XCTAssertEqual(try mnv3(["Global.output_dir='null'"]).node(at: "Global.output_dir")?.scalar?.text, "null")
    }

    func testNullKeepsAComponentNameAndCreatesMissingKeys() throws {
        let ops = "DataLoader.Train.dataset.transform_ops"
        let tree = try mnv3(["\(ops).1.RandCropImage=null", "Global.auto_cast=null"])
        XCTAssertEqual(tree.node(at: "\(ops).1")?.description, "{RandCropImage: null}")
        XCTAssertTrue(tree.node(at: "Global.auto_cast")?.isNull ?? false)
        assertConfigError("-o #1 'Global.epoch=null': error: unknown key 'epoch' in Global. Did you mean 'epochs'?") {
            try RunConfig.load(
                try Fixtures.path("MobileNetV3_large_x1_0.yaml"), overrides: ["Global.epoch=null"],
                decoder: ConfigDecoder())
        }
    }

    func testMissingEqualsIsAnError() {
        assertConfigError("-o #2 'Global.epochs': error: expected KEY=VALUE, e.g. -o Global.epochs=10") {
            try mnv3(["Global.seed=1", "Global.epochs"])
        }
    }

    func testEmptyKeyAndEmptySegment() {
        assertConfigError("-o #1 '=5': error: missing KEY before '='; expected KEY=VALUE, e.g. -o Global.epochs=10") {
            try mnv3(["=5"])
        }
        assertConfigError(
            "-o #1 'Global..epochs=5': error: empty segment in key 'Global..epochs'; "
                + "expected KEY=VALUE, e.g. -o Global.epochs=10"
        ) {
            try mnv3(["Global..epochs=5"])
        }
    }

    func testIndexOutOfRange() {
        assertConfigError(
            "-o #1 'DataLoader.Train.dataset.transform_ops.7.RandCropImage.size=1': error: "
                + "index 7 out of range: DataLoader.Train.dataset.transform_ops has 5 items"
        ) {
            try mnv3(["DataLoader.Train.dataset.transform_ops.7.RandCropImage.size=1"])
        }
        assertConfigError("-o #1 'Loss.Train.-2.CELoss.weight=1': error: index -2 out of range: Loss.Train has 1 item")
        {
            try mnv3(["Loss.Train.-2.CELoss.weight=1"])
        }
    }

    func testNonNumericIndexSuggestsTheItemNamedLikeIt() {
        assertConfigError(
            "-o #1 'DataLoader.Train.dataset.transform_ops.RandCropImage.size=192': error: "
                + "DataLoader.Train.dataset.transform_ops is a list, so 'RandCropImage' must be an item index "
                + "(use 0…4 or -5…-1). Did you mean 'DataLoader.Train.dataset.transform_ops.1.RandCropImage.size'?"
        ) {
            try mnv3(["DataLoader.Train.dataset.transform_ops.RandCropImage.size=192"])
        }
        assertConfigError(
            "-o #1 'Metric.Eval.first=1': error: Metric.Eval is a list, so 'first' must be an item index "
                + "(use 0…0 or -1…-1)"
        ) {
            try mnv3(["Metric.Eval.first=1"])
        }
    }

    func testDescendingIntoAValueIsAnError() {
        assertConfigError(
            "-o #1 'Global.epochs.x=1': error: cannot set 'x' inside Global.epochs: "
                + "it is a value ('360'), not a map"
        ) {
            try mnv3(["Global.epochs.x=1"])
        }
    }

    func testMisspeltKeyIsCreatedThenRejectedWithItsOrigin() {
        assertConfigError("-o #2 'Global.epoch=5': error: unknown key 'epoch' in Global. Did you mean 'epochs'?") {
            try RunConfig.load(
                try Fixtures.path("MobileNetV3_large_x1_0.yaml"),
                overrides: ["Global.seed=1", "Global.epoch=5"], decoder: ConfigDecoder())
        }
        assertConfigError("-o #1 'Globl.epochs=5': error: unknown section 'Globl'. Did you mean 'Global'?") {
            try RunConfig.load(
                try Fixtures.path("MobileNetV3_large_x1_0.yaml"), overrides: ["Globl.epochs=5"],
                decoder: ConfigDecoder())
        }
        assertConfigError(
            "-o #1 'pretrained_model=./x': error: unknown section 'pretrained_model'. "
                + "Did you mean 'Global.pretrained_model'?"
        ) {
            try RunConfig.load(
                try Fixtures.path("MobileNetV3_large_x1_0.yaml"), overrides: ["pretrained_model=./x"],
                decoder: ConfigDecoder())
        }
    }

    func testNewKnownKeysAreAccepted() throws {
        let config = try RunConfig.load(
            try Fixtures.path("MobileNetV3_large_x1_0.yaml"),
            overrides: ["Global.seed=1234", "Global.num_threads=2", "EMA.decay=0.999"],
            decoder: ConfigDecoder())
        XCTAssertEqual(config.global.seed, 1234)
        XCTAssertEqual(config.global.numThreads, 2)
        XCTAssertEqual(config.ema?.decay, 0.999)
    }

    func testOverrideTypesAreCheckedLikeFileValues() {
        assertConfigError("-o #1 'Global.epochs=thirty': error: Global.epochs expects an integer, got 'thirty'") {
            try RunConfig.load(
                try Fixtures.path("MobileNetV3_large_x1_0.yaml"), overrides: ["Global.epochs=thirty"],
                decoder: ConfigDecoder())
        }
    }

    func testTIPCOverridesApply() throws {
        let overrides = [
            "Global.seed=1234", "DataLoader.Train.sampler.shuffle=False", "DataLoader.Train.loader.num_workers=0",
            "DataLoader.Train.loader.use_shared_memory=False", "Global.eval_during_train=False",
            "Global.save_interval=2", "Global.to_static=True", "Global.pretrained_model=",
            "Global.auto_cast=null", "Global.device=cpu",
        ]
        let decoder = ConfigDecoder()
        let config = try RunConfig.load(
            try Fixtures.path("MobileNetV3_large_x1_0.yaml"), overrides: overrides, decoder: decoder)
        XCTAssertEqual(config.dataLoader?.train?.shuffle, false)
        XCTAssertEqual(config.dataLoader?.train?.loader.numWorkers, 0)
        XCTAssertEqual(config.global.saveInterval, 2)
        XCTAssertNil(config.global.pretrainedModel)
        XCTAssertEqual(
            decoder.notices.map(\.description),
            [
                "-o #7 'Global.to_static=True': notice: Global.to_static is ignored: SwiftClas has no static-graph mode",
                "-o #4 'DataLoader.Train.loader.use_shared_memory=False': notice: DataLoader.Train.loader."
                    + "use_shared_memory: False is ignored: loader workers are threads, which share memory",
            ])
    }
}
