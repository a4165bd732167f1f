import ClasConfig
import ClasEngine
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// A user's model, written against the public API only: conv → BN+ReLU → pool → linear.
final class TinyNet: Module {
    struct Options: ConfigOptions {
        var width: Int
        enum CodingKeys: String, CodingKey, CaseIterable { case width, classNum = "class_num" }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            width = try c.decode(.width, default: 8)
            _ = try c.decodeIfPresent(Int.self, forKey: .classNum)
        }
    }

    let conv: Conv2d
    let bn: BatchNorm
    let fc: Linear

    init(width: Int, classes: Int) {
        conv = Conv2d(3, width, kernelSize: 3, stride: 2)
        bn = BatchNorm(width, activation: .relu)
        fc = Linear(width, classes)
        super.init()
    }

    override func forward(_ x: Tensor) -> Tensor { fc(Tensor.globalAvgPool(bn(conv(x)), keepDims: false)) }
}

/// A user's loss: cross-entropy plus a small penalty on the logits' size, reported as two terms.
struct PenalisedCE: LossFunction {
    var penalty: Float
    struct Options: ConfigOptions {
        var penalty: Double
        enum CodingKeys: String, CodingKey, CaseIterable { case penalty }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            penalty = try decoder.container(keyedBy: CodingKeys.self).decode(.penalty, default: 0.01)
        }
    }
    func terms(_ outputs: ModelOutputs, _ targets: Targets) -> [(String, Tensor)] {
        [("CE", Tensor.crossEntropy(outputs.logits, labels: targets.labels)),
         ("LogitPenalty", outputs.logits.squared().mean() * penalty)]
    }
}

final class UserComponentTests: XCTestCase {
    func testUserRegisteredModelAndLossTrain() throws {
        var registries = Registries.builtins()
        registries.arch.register("TinyNet", summary: "a user's model", options: TinyNet.Options.self) { o, ctx in
            TinyNet(width: o.width, classes: ctx.classCount)
        }
        registries.loss.register("PenalisedCE", summary: "a user's loss", options: PenalisedCE.Options.self) { o, _ in
            PenalisedCE(penalty: Float(o.penalty))
        }
        let run = try TinyRun(epochs: 1)
        let overrides = ["Arch={name: TinyNet, width: 12}", "Loss.Train=[{PenalisedCE: {weight: 1.0, penalty: 0.05}}]"]
        let engine = try Engine(configPath: run.config, overrides: overrides, mode: .train, registries: registries, quiet: true)
        var lines: [String] = []
        engine.logger.capture = { lines.append($0) }
        XCTAssertTrue(engine.model is TinyNet)
        try Trainer(engine: engine).run()
        let avg = lines.first { $0.contains("[Train][Epoch 1/1][Avg]") } ?? ""
        XCTAssertTrue(avg.contains("CE: ") && avg.contains("LogitPenalty: ") && avg.contains("loss: "), avg)
        let saved = try Checkpoint.read(prefix: "\(run.dir)/output/TinyNet/latest")
        XCTAssertEqual(saved.model["conv.weight"]?.shape, [12, 3, 3, 3])
        XCTAssertEqual(saved.model["fc.weight"]?.shape, [4, 12])

        // A misspelt option of the user's model is caught like a built-in one.
        XCTAssertThrowsError(try Engine(configPath: run.config, overrides: ["Arch={name: TinyNet, widht: 12}"], mode: .train,
                                        registries: registries, quiet: true)) { error in
            XCTAssertTrue("\(error)".contains("unknown key 'widht' in Arch (TinyNet). Did you mean 'width'?"), "\(error)")
        }
    }
}
