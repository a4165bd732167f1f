import ClasModels
import ClasNN
import ClasTensor

/// A small model family as a user's package would add it: the model, its options and its table of variants with
/// their cards, in one file; `PocketNet.register(into: &registries.arch)` is the one registration line.
///
/// conv (stride 2) → BN+ReLU → conv (stride 2) → BN+ReLU → global pool → `proj` (linear + ReLU) → `head`.
/// `head` is declared before `proj`, so "the last linear layer" would be the wrong guess for the classifier: only
/// the card says which it is.
final class PocketNet: Module, LayeredModel {
    struct Options: ArchOptions {
        var classNum = 1000
        var dropRate: Float = 0
        enum CodingKeys: String, CodingKey, CaseIterable { case classNum = "class_num", dropRate = "drop_rate" }
        static let knownKeys = CodingKeys.allCases.map(\.stringValue)
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            classNum = try c.decodeIfPresent(Int.self, forKey: .classNum) ?? 1000
            dropRate = try c.decodeIfPresent(Float.self, forKey: .dropRate) ?? 0
        }
    }

    /// The variants: name, width, default input size.
    static let variants: [(name: String, width: Int, inputSize: Int)] = [("S", 8, 40), ("M", 16, 48)]

    let stem: Conv2d
    let bn1: BatchNorm
    let stage: Conv2d
    let bn2: BatchNorm
    let head: Linear
    let proj: Linear
    let dropout: Dropout

    init(width: Int, options: Options) {
        stem = Conv2d(3, width, kernelSize: 3, stride: 2)
        bn1 = BatchNorm(width, activation: .relu)
        stage = Conv2d(width, 2 * width, kernelSize: 3, stride: 2)
        bn2 = BatchNorm(2 * width, activation: .relu)
        head = Linear(2 * width, options.classNum)
        proj = Linear(2 * width, 2 * width)
        dropout = Dropout(options.dropRate)
        super.init()
    }

    override func forward(_ x: Tensor) -> Tensor { forwardLayers(x) }

    var layers: [ModelLayer] {
        [ModelLayer("stem", [stem, bn1]) { [stem, bn1] in bn1(stem($0)) },
         ModelLayer("stage", [stage, bn2]) { [stage, bn2] in bn2(stage($0)) },
         ModelLayer("global_pool") { Tensor.globalAvgPool($0, keepDims: false) },
         ModelLayer("proj", [proj]) { [proj] in proj($0).relu() },
         ModelLayer("head", [head]) { [dropout, head] in head(dropout($0)) }]
    }

    static func register(into models: inout ModelRegistry) {
        for v in variants {
            let card = ModelCard(name: "PocketNet_\(v.name)", aliases: ["pocketnet_\(v.name.lowercased())"],
                                 family: "PocketNet", summary: "PocketNet \(v.name) (width \(v.width))",
                                 inputSize: v.inputSize, classifier: ["head."], featureChannels: 2 * v.width,
                                 stages: ["stem", "stage"])
            models.register(card, options: Options.self) { PocketNet(width: v.width, options: $0) }
        }
    }
}
