import ClasConfig
import XCTest

/// Test option structs, written the way the engine will write its own.
struct CosineOptions: ConfigOptions, Equatable {
    var learningRate: Double
    var etaMin: Double
    var warmupEpoch: Int

    enum CodingKeys: String, CodingKey, CaseIterable {
        case learningRate = "learning_rate"
        case etaMin = "eta_min"
        case warmupEpoch = "warmup_epoch"
    }

    static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        etaMin = try c.decode(.etaMin, default: 0)
        warmupEpoch = try c.decode(.warmupEpoch, default: 0)
        try decoder.configCheck(learningRate > 0, CodingKeys.learningRate, "must be positive, got \(learningRate)")
    }
}

struct MomentumOptions: ConfigOptions {
    var momentum: Double
    var useNesterov: Bool

    enum CodingKeys: String, CodingKey, CaseIterable {
        case momentum
        case useNesterov = "use_nesterov"
    }

    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    static let ignoredKeys = ["multi_precision": "SwiftClas keeps float32 weights"]

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        momentum = try c.decode(Double.self, forKey: .momentum)
        useNesterov = try c.decode(.useNesterov, default: false)
    }
}

/// A plain Decodable with synthesized keys: still strict.
struct Plain: Decodable, Equatable {
    var topk: [Int]
    var scale: Float?
    var mode: Mode?
    var extra: ConfigNode?

    enum Mode: String, Decodable, CaseIterable { case const, rand, pixel }
}

final class DecoderTests: XCTestCase {
    private let decoder = ConfigDecoder()

    private func decode<T: Decodable>(
        _ type: T.Type, _ yaml: String, at path: String = "", label: String? = nil
    ) throws -> T {
        let root = try parse(yaml, path: "configs/mnv3.yaml")
        let node = path.isEmpty ? root : try XCTUnwrap(root.node(at: path))
        return try decoder.decode(type, from: node.removing(["name"]), path: path, label: label)
    }

    func testDecodesWithPaddleClasHabits() throws {
        let options = try decode(CosineOptions.self, "learning_rate: 2e-3\neta_min: 1.0/255.0\nwarmup_epoch: '5'\n")
        XCTAssertEqual(options.learningRate, 2e-3)
        XCTAssertEqual(options.etaMin, 1.0 / 255.0)
        XCTAssertEqual(options.warmupEpoch, 5)
        XCTAssertEqual(try decode(MomentumOptions.self, "momentum: 1\nuse_nesterov: yes\n").useNesterov, true)
    }

    func testUnknownKeyWithSuggestion() {
        let yaml = """
            Optimizer:
              name: Momentum
              momentum: 0.9
              lr:
                name: Cosine
                lerning_rate: 0.1
            """
        assertConfigError(
            "configs/mnv3.yaml:6:5: error: unknown key 'lerning_rate' in Optimizer.lr (Cosine). "
                + "Did you mean 'learning_rate'?"
        ) {
            try decode(CosineOptions.self, yaml, at: "Optimizer.lr", label: "Cosine")
        }
    }

    func testSeveralUnknownKeysAreAllNamed() {
        assertConfigError(
            "configs/mnv3.yaml:2:1: error: unknown key 'eta_mn' at the top level. Did you mean 'eta_min'? "
                + "Also unknown: 'zzz'."
        ) {
            try decode(CosineOptions.self, "learning_rate: 0.1\neta_mn: 0\nzzz: 1\n")
        }
    }

    func testWrongType() {
        assertConfigError("configs/mnv3.yaml:3:17: error: Global.warmup_epoch expects an integer, got 'thirty'") {
            try decode(CosineOptions.self, "Global:\n  learning_rate: 0.1\n  warmup_epoch: thirty\n", at: "Global")
        }
        assertConfigError("configs/mnv3.yaml:1:16: error: learning_rate expects a number, got 'fast'") {
            try decode(CosineOptions.self, "learning_rate: fast\n")
        }
        assertConfigError("configs/mnv3.yaml:1:15: error: use_nesterov expects a boolean (true or false), got 'maybe'")
        {
            try decode(MomentumOptions.self, "use_nesterov: maybe\nmomentum: 0.9\n")
        }
    }

    func testIntRejectsFractionsAndNullIsNotAValue() {
        assertConfigError("configs/mnv3.yaml:2:15: error: warmup_epoch expects an integer, got '10.5'") {
            try decode(CosineOptions.self, "learning_rate: 0.1\nwarmup_epoch: 10.5\n")
        }
        assertConfigError("configs/mnv3.yaml:1:1: error: learning_rate expects a number, got null") {
            try decode(CosineOptions.self, "learning_rate:\n")
        }
    }

    func testMissingRequiredKeyPointsAtTheEnclosingMap() {
        let yaml = """
            Global:
              epochs: 1
            Optimizer:
              name: Momentum
              use_nesterov: true
            """
        assertConfigError("configs/mnv3.yaml:4:3: error: missing required key 'momentum' in Optimizer (Momentum)") {
            try decode(MomentumOptions.self, yaml, at: "Optimizer", label: "Momentum")
        }
    }

    func testNullMapsAreEmptyMaps() {
        assertConfigError("configs/mnv3.yaml:1:11: error: missing required key 'momentum' in Optimizer (Momentum)") {
            try decode(MomentumOptions.self, "Optimizer:\n", at: "Optimizer", label: "Momentum")
        }
    }

    func testIgnoredKeysGiveNoticesUnlessFalseOrNull() throws {
        _ = try decode(MomentumOptions.self, "momentum: 0.9\nmulti_precision: true\n")
        _ = try decode(MomentumOptions.self, "momentum: 0.9\nmulti_precision: false\n")
        XCTAssertEqual(
            decoder.notices.map(\.description),
            ["configs/mnv3.yaml:2:1: notice: multi_precision is ignored: SwiftClas keeps float32 weights"])
    }

    func testRangeChecksAreLocated() {
        assertConfigError("configs/mnv3.yaml:2:23: error: Optimizer.lr.learning_rate must be positive, got -0.1") {
            try decode(CosineOptions.self, "Optimizer:\n  lr: {learning_rate: -0.1}\n", at: "Optimizer.lr")
        }
    }

    func testListsTupleStringsFloatsEnumsAndRawNodes() throws {
        let plain = try decode(Plain.self, "topk: [1, 5]\nscale: 1./255.\nmode: pixel\nextra: {anything: [1]}\n")
        XCTAssertEqual(plain.topk, [1, 5])
        XCTAssertEqual(plain.scale, Float(1.0 / 255.0))
        XCTAssertEqual(plain.mode, .pixel)
        XCTAssertEqual(plain.extra?.description, "{anything: [1]}")
        XCTAssertEqual(try decode(Plain.self, "topk: '1,5'\n").topk, [1, 5])
        XCTAssertEqual(try decode(Plain.self, "topk: (1, 5)\nscale: 'None'\n"), Plain(topk: [1, 5]))
    }

    func testListAndMapShapeErrors() {
        assertConfigError("configs/mnv3.yaml:1:7: error: topk expects a list, got '5'") {
            try decode(Plain.self, "topk: 5\n")
        }
        assertConfigError("configs/mnv3.yaml:1:11: error: topk.1 expects an integer, got 'x'") {
            try decode(Plain.self, "topk: [1, x]\n")
        }
        assertConfigError("configs/mnv3.yaml:3:5: error: Metric.Eval.0 expects a map, got 'TopkAcc'") {
            try decode([Plain].self, "Metric:\n  Eval:\n  - TopkAcc\n", at: "Metric.Eval")
        }
    }

    func testEnumValuesAreListedWithASuggestion() {
        assertConfigError(
            "configs/mnv3.yaml:2:7: error: mode expects one of 'const', 'rand', 'pixel', got 'pixl'. "
                + "Did you mean 'pixel'?"
        ) {
            try decode(Plain.self, "topk: [1]\nmode: pixl\n")
        }
    }

    func testPlainDecodableIsStrictToo() {
        assertConfigError("configs/mnv3.yaml:2:1: error: unknown key 'topK' at the top level. Did you mean 'topk'?") {
            try decode(Plain.self, "topk: [1]\ntopK: [5]\n")
        }
    }

    func testNestedPathsInMessages() throws {
        struct Split: Decodable { var loader: Loader }
        struct Loader: Decodable { var num_workers: Int }
        assertConfigError(
            "configs/mnv3.yaml:4:7: error: unknown key 'num_worker' in DataLoader.Train.loader. "
                + "Did you mean 'num_workers'?"
        ) {
            try decode(
                Split.self, "DataLoader:\n  Train:\n    loader:\n      num_worker: 1\n      num_workers: 2\n",
                at: "DataLoader.Train")
        }
        struct Losses: Decodable { var Train: [Weighted] }
        struct Weighted: Decodable { var weight: Double }
        assertConfigError("configs/mnv3.yaml:4:14: error: Loss.Train.1.weight expects a number, got 'heavy'") {
            try decode(Losses.self, "Loss:\n  Train:\n  - {weight: 1.0}\n  - {weight: heavy}\n", at: "Loss")
        }
    }

    func testForeignDecodingErrorsAreLocated() {
        struct Picky: Decodable {
            enum CodingKeys: String, CodingKey { case size }
            init(from decoder: Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                _ = try c.decode(Int.self, forKey: .size)
                throw DecodingError.dataCorruptedError(forKey: .size, in: c, debugDescription: "size must be even")
            }
        }
        assertConfigError("configs/mnv3.yaml:2:9: error: Op.size: size must be even") {
            try decode(Picky.self, "Op:\n  size: 3\n", at: "Op")
        }
    }
}
