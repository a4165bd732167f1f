import ClasConfig
import ClasData
import ClasModels
import ClasNN
import ClasTensor
import Foundation
import XCTest

/// A reference written by `scripts/timm_fixtures.py` (Fixtures/timm/NAME.json + NAME.stats.safetensors): timm's
/// eval-mode logits for four photographs, on weights the test regenerates from the same portable generator (scaled
/// per tensor as timm initialises it), with BatchNorm statistics measured on real images. See the script's docstring
/// for the rules this file mirrors.
struct TimmFixture: Decodable {
    let fixture: String
    let timmModel: String
    let classes: Int
    let seed: UInt64
    let photos: [String]
    let inputShapeNCHW: [Int]
    let mean: [Double]
    let std: [Double]
    let names: [String]
    let scales: [String: Double]
    let logits: [Float]
    let fusedNames: [String]?
    let fusedLogits: [Float]?
    /// `Arch` options the model is built with (vision transformers: `img_size`, `patch_size`), numbers or lists.
    let archOptions: [String: OptionValue]?

    enum CodingKeys: String, CodingKey {
        case fixture, timmModel = "timm_model", classes, seed, photos, inputShapeNCHW = "input_shape_nchw", mean, std
        case names, scales, logits, fusedNames = "fused_names", fusedLogits = "fused_logits"
        case archOptions = "arch_options"
    }

    /// A number or a list of numbers.
    enum OptionValue: Decodable {
        case number(Int), list([Int])
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Int.self) { self = .number(n) } else { self = .list(try c.decode([Int].self)) }
        }
        var node: ConfigNode {
            switch self {
            case .number(let n): return .scalar("\(n)")
            case .list(let l): return .sequence(l.map { .scalar("\($0)") })
            }
        }
    }

    /// The model the fixture describes, built through the registry with the fixture's `Arch` options.
    func makeModel() throws -> Module {
        let registry = ModelRegistry.builtins()
        guard let archOptions else { return try registry.make(timmModel, classCount: classes) }
        let entries = [ConfigNode.Entry(key: "name", value: .scalar(timmModel))]
            + archOptions.sorted { $0.key < $1.key }.map { ConfigNode.Entry(key: $0.key, value: $0.value.node) }
        return try registry.build(.mapping(entries), context: ArchContext(classCount: classes, registry: registry),
                                  path: "Arch", decoder: ConfigDecoder())
    }

    static func url(_ relative: String, _ ext: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(relative)", withExtension: ext) else {
            throw XCTSkip("Fixtures/\(relative).\(ext) is missing from the test bundle; run scripts/timm_fixtures.py")
        }
        return url
    }

    static func load(_ name: String) throws -> TimmFixture {
        try JSONDecoder().decode(TimmFixture.self, from: Data(contentsOf: url("timm/\(name)", "json")))
    }

    /// The photographs, normalised with the fixture's mean/std, NHWC `[N, H, W, 3]` (exactly as the script computes
    /// them: float64, rounded once).
    func input() throws -> Tensor {
        let (n, h, w) = (inputShapeNCHW[0], inputShapeNCHW[2], inputShapeNCHW[3])
        precondition(photos.count == n)
        var values: [Float] = []
        values.reserveCapacity(n * h * w * 3)
        for photo in photos {
            let image = try ImageCodec.decodeFile(try Self.url("photos/\(photo)", "png").path)
            XCTAssertEqual([image.height, image.width, image.channels], [h, w, 3], photo)
            for (i, p) in image.pixels.enumerated() {
                let c = i % 3
                values.append(Float((Double(p) / 255.0 - mean[c]) / std[c]))
            }
        }
        return Tensor(shape: [n, h, w, 3], values: values)
    }

    /// Every tensor of the model in timm's layout (OIHW): the measured ones (BatchNorm statistics, the classifier's
    /// bias) from `<fixture>.stats.safetensors`, the rest from the generator; shapes are the model's, converted to
    /// PyTorch's layout.
    func timmTensors(for model: Module) throws -> [(String, Tensor)] {
        let stats = try Safetensors.read(try Self.url("timm/\(fixture).stats", "safetensors").path).entries
        let measured = Dictionary(uniqueKeysWithValues: stats.map { ($0.name, $0.tensor) })
        return try model.stateDict().map { name, t in
            let torchShape = t.rank == 4 ? [t.shape[0], t.shape[3], t.shape[1], t.shape[2]] : t.shape
            if let s = measured[name] { return (name, s) }
            if name.hasSuffix("running_mean") || name.hasSuffix("running_var") {
                throw FixtureError("\(fixture): no statistics for \(name)")
            }
            return (name, Tensor(shape: torchShape, values: try generated(name: name, shape: torchShape)))
        }
    }

    /// Loads the fixture's weights into `model` through ``TimmImport`` (the path timm checkpoints take).
    func fill(_ model: Module) throws -> LoadReport {
        model.load(TimmImport.convert(try timmTensors(for: model)))
    }

    /// Per image, the magnitude the tolerance is relative to: the largest |logit|, or the largest |logit − bias| of
    /// the classifier before its stored bias (which cancels the logits' image-independent part) if larger.
    func magnitudes(of logits: [Float]) throws -> [Float] {
        let stats = try Safetensors.read(try Self.url("timm/\(fixture).stats", "safetensors").path).entries
        guard let bias = stats.first(where: { $0.name.hasSuffix(".bias") })?.tensor.scalars, bias.count == classes else {
            throw FixtureError("\(fixture): no classifier bias in the statistics file")
        }
        return (0..<logits.count / classes).map { i in
            (0..<classes).reduce(Float(0)) { m, c in
                let l = logits[i * classes + c]
                return max(m, abs(l), abs(l - bias[c]))
            }
        }
    }

    func generated(name: String, shape: [Int]) throws -> [Float] {
        let g = uniformUnit(name: name, count: shape.reduce(1, *), seed: seed)
        if shape.count >= 2 {
            guard let scale = scales[name] else { throw FixtureError("\(fixture): no scale for \(name)") }
            return g.map { Float($0 * scale) }
        }
        // A 1-D tensor with a recorded scale (the damped last BatchNorm of deep ResNets' residual branches).
        let s = scales[name] ?? 1
        if name.hasSuffix("weight") { return g.map { Float((1.0 + 0.2 * $0) * s) } }
        if name.hasSuffix("bias") { return g.map { Float(0.1 * $0 * s) } }
        if name.hasSuffix("gamma") { return g.map { Float(0.1 * (1.0 + 0.2 * $0)) } }
        throw FixtureError("\(fixture): no rule for \(name) \(shape)")
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// g_i = (2u − 1)·√3 with u from splitmix64 over fnv1a64(name) ⊕ seed·φ (scripts/timm_fixtures.py).
func uniformUnit(name: String, count: Int, seed: UInt64) -> [Double] {
    let golden: UInt64 = 0x9E37_79B9_7F4A_7C15
    let key = fnv1a64(name) ^ (seed &* golden)
    let root3 = (3.0).squareRoot()
    return (0..<count).map { i in
        var z = key &+ UInt64(i + 1) &* golden
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z = z ^ (z >> 31)
        let u = Double(z >> 11) * 0x1p-53
        return (2.0 * u - 1.0) * root3
    }
}

/// FNV-1a, 64 bits, over UTF-8.
func fnv1a64(_ text: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in text.utf8 {
        h ^= UInt64(b)
        h = h &* 0x0000_0100_0000_01B3
    }
    return h
}

/// Largest absolute elementwise difference.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
