import ClasConfig
import XCTest

/// Registries: both component forms, unknown names, options checking, listings.
final class RegistryTests: XCTestCase {
    struct WeightOptions: ConfigOptions {
        var weight: Double
        var epsilon: Double?
        static let knownKeys = ["weight", "epsilon"]
    }

    struct Built: Equatable {
        var name: String
        var value: Double
    }

    private func losses() -> Registry<Built, Double> {
        var registry = Registry<Built, Double>(kind: "loss", listCommand: "tools list losses")
        registry.register("CELoss", aliases: ["CrossEntropy"], summary: "Cross entropy", options: WeightOptions.self) {
            o, scale in
            Built(name: "CELoss", value: o.weight * scale)
        }
        registry.register("AutoAugment", summary: "no options", options: NoOptions.self) { _, _ in
            Built(name: "AA", value: 0)
        }
        registry.register("Broken", summary: "always fails", options: NoOptions.self) { _, _ in
            throw CocoaError(.featureUnsupported)
        }
        return registry
    }

    private func models() -> Registry<String, Void> {
        var registry = Registry<String, Void>(kind: "Arch", listCommand: "tools list models")
        for scale in ["x0_35", "x0_5", "x0_75", "x1_0", "x1_25"] {
            let name = "MobileNetV3_small_\(scale)"
            registry.register(
                name, aliases: scale == "x1_0" ? ["MobileNetV3_small"] : [], summary: name,
                options: NoOptions.self
            ) { _, _ in name }
        }
        registry.register("ResNet50_vd", summary: "ResNet-50-D", options: NoOptions.self) { _, _ in "ResNet50_vd" }
        return registry
    }

    func testBothComponentForms() throws {
        let root = try parse(
            """
            Loss:
              Train:
                - CELoss: {weight: 2.0}
                - {name: CrossEntropy, weight: 0.5}
                - AutoAugment:
                - AutoAugment
            """)
        let items = try XCTUnwrap(root.node(at: "Loss.Train")?.items)
        let built = try items.enumerated().map {
            try losses().build($1, context: 10, path: "Loss.Train.\($0)", decoder: ConfigDecoder())
        }
        XCTAssertEqual(
            built,
            [
                Built(name: "CELoss", value: 20), Built(name: "CELoss", value: 5), Built(name: "AA", value: 0),
                Built(name: "AA", value: 0),
            ])
    }

    func testUnknownNameFromAnOverrideSuggestsTheCanonicalName() throws {
        let tree = try ConfigLoader.load(
            try Fixtures.path("MobileNetV3_large_x1_0.yaml"),
            overrides: ["Global.epochs=1", "Arch.name=MobileNetV3_smal"])
        let config = try ConfigDecoder().decode(RunConfig.self, from: tree)
        assertConfigError(
            "-o #2 'Arch.name=MobileNetV3_smal': error: no Arch named 'MobileNetV3_smal'. "
                + "Did you mean 'MobileNetV3_small_x1_0'? ('tools list models' shows all)"
        ) {
            try models().build(config.arch, context: (), decoder: ConfigDecoder())
        }
    }

    func testTiedSuggestionsAreListed() throws {
        let node = try parse("Arch:\n  name: MobileNetV3_small_x0_05\n")
        assertConfigError(
            "cfg.yaml:2:9: error: no Arch named 'MobileNetV3_small_x0_05'. Did you mean one of "
                + "'MobileNetV3_small_x0_35', 'MobileNetV3_small_x0_5', 'MobileNetV3_small_x0_75'? "
                + "('tools list models' shows all)"
        ) {
            try models().build(try XCTUnwrap(node["Arch"]), context: (), path: "Arch", decoder: ConfigDecoder())
        }
    }

    func testUnknownNameInOneKeyForm() throws {
        let node = try parse("Loss:\n  Train:\n    - CELos:\n        weight: 1.0\n")
        assertConfigError(
            "cfg.yaml:3:7: error: no loss named 'CELos'. Did you mean 'CELoss'? ('tools list losses' shows all)"
        ) {
            try losses().build(
                try XCTUnwrap(node.node(at: "Loss.Train.0")), context: 1, path: "Loss.Train.0", decoder: ConfigDecoder()
            )
        }
    }

    func testOptionsAreCheckedWithTheComponentLabel() throws {
        let node = try parse("Loss:\n  Train:\n    - CELoss:\n        wieght: 1.0\n")
        assertConfigError("cfg.yaml:4:9: error: unknown key 'wieght' in Loss.Train.0 (CELoss). Did you mean 'weight'?")
        {
            try losses().build(
                try XCTUnwrap(node.node(at: "Loss.Train.0")), context: 1, path: "Loss.Train.0", decoder: ConfigDecoder()
            )
        }
        let empty = try parse("Loss:\n  Train:\n    - CELoss: {epsilon: 0.1}\n")
        assertConfigError("cfg.yaml:3:15: error: missing required key 'weight' in Loss.Train.0 (CELoss)") {
            try losses().build(
                try XCTUnwrap(empty.node(at: "Loss.Train.0")), context: 1, path: "Loss.Train.0",
                decoder: ConfigDecoder())
        }
        let extra = try parse("Ops:\n  - AutoAugment: {prob: 0.5}\n")
        assertConfigError("cfg.yaml:2:19: error: unknown key 'prob' in Ops.0 (AutoAugment), which takes no options.") {
            try losses().build(
                try XCTUnwrap(extra.node(at: "Ops.0")), context: 1, path: "Ops.0", decoder: ConfigDecoder())
        }
    }

    func testCheckValidatesWithoutBuilding() throws {
        let tree = try ConfigLoader.load(
            try Fixtures.path("MobileNetV3_large_x1_0.yaml"),
            overrides: ["Loss.Eval.0.CELoss.epsilon=0.1", "Loss.Eval.0.CELoss.epsiln=0.1"])
        let config = try ConfigDecoder().decode(RunConfig.self, from: tree)
        let eval = try XCTUnwrap(config.loss?.eval?.first)
        assertConfigError(
            "-o #2 'Loss.Eval.0.CELoss.epsiln=0.1': error: unknown key 'epsiln' in Loss.Eval.0 (CELoss). "
                + "Did you mean 'epsilon'?"
        ) {
            try losses().check(eval, decoder: ConfigDecoder())
        }
        XCTAssertNoThrow(try losses().check(try XCTUnwrap(config.loss?.train?.first), decoder: ConfigDecoder()))
    }

    func testFactoryErrorsAreLocated() throws {
        let node = try parse("Loss:\n  Train:\n    - Broken:\n")
        do {
            _ = try losses().build(
                try XCTUnwrap(node.node(at: "Loss.Train.0")), context: 1, path: "Loss.Train.0", decoder: ConfigDecoder()
            )
            XCTFail("expected an error")
        } catch let error as ConfigError {
            XCTAssertTrue(
                error.headline.hasPrefix("cfg.yaml:3:7: error: cannot build loss 'Broken' at Loss.Train.0: "),
                error.headline)
        }
    }

    func testMalformedComponents() throws {
        let root = try parse(
            """
            a: {weight: 1.0, epsilon: 0.1}
            b: {CELoss: 1.0}
            c: 1.0/255.0
            d: {name: }
            """)
        assertConfigError(
            "cfg.yaml:1:4: error: a expects a component: `name: <Name>` with options, or `<Name>: {options}`; "
                + "this map has 2 keys and no `name`"
        ) {
            try ComponentSpec(node: try XCTUnwrap(root["a"]), path: "a")
        }
        assertConfigError(
            "cfg.yaml:2:13: error: b expects a component: `name: <Name>` with options, or `<Name>: {options}`; "
                + "the options of 'CELoss' must be a map, got '1.0'"
        ) {
            try ComponentSpec(node: try XCTUnwrap(root["b"]), path: "b")
        }
        assertConfigError(
            "cfg.yaml:3:4: error: c expects a component: `name: <Name>` with options, or `<Name>: {options}`; "
                + "got '1.0/255.0'"
        ) {
            try ComponentSpec(node: try XCTUnwrap(root["c"]), path: "c")
        }
        assertConfigError("cfg.yaml:4:5: error: d.name expects a component name, got null") {
            try ComponentSpec(node: try XCTUnwrap(root["d"]), path: "d")
        }
    }

    func testListings() {
        let registry = models()
        XCTAssertEqual(registry.names.first, "MobileNetV3_small_x0_35")
        XCTAssertEqual(registry.names.count, 6)
        XCTAssertEqual(registry.entry(named: "MobileNetV3_small")?.name, "MobileNetV3_small_x1_0")
        XCTAssertTrue(registry.contains("ResNet50_vd"))
        XCTAssertFalse(registry.contains("resnet50_vd"))
        let entry = losses().entries.first
        XCTAssertEqual(entry?.name, "CELoss")
        XCTAssertEqual(entry?.aliases, ["CrossEntropy"])
        XCTAssertEqual(entry?.summary, "Cross entropy")
        XCTAssertEqual(entry?.optionKeys, ["weight", "epsilon"])
    }
}
