import ClasModels
import ClasNN
import ClasTensor
import Foundation
import XCTest

/// The reference fixtures written by `scripts/timm_fixtures.py` and the weight formula they share with it.
struct TimmFixture: Decodable {
    struct Formula: Decodable {
        let freq: Double
        let gain: Double
        let bnCenter: Double
        let hashModulus: Int
        let inputFreq: Double
        let inputPhase: Double

        enum CodingKeys: String, CodingKey {
            case freq, gain, bnCenter = "bn_center", hashModulus = "hash_modulus", inputFreq = "input_freq"
            case inputPhase = "input_phase"
        }
    }

    let fixture: String
    let timmModel: String
    let classes: Int
    let inputShapeNCHW: [Int]
    let reparameterized: Bool
    let formula: Formula
    let names: [String]
    let logits: [Float]

    enum CodingKeys: String, CodingKey {
        case fixture, timmModel = "timm_model", classes, inputShapeNCHW = "input_shape_nchw", reparameterized
        case formula, names, logits
    }

    static func load(_ name: String) throws -> TimmFixture {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "json") else {
            throw XCTSkip("fixture \(name).json is missing; run scripts/timm_fixtures.py")
        }
        return try JSONDecoder().decode(TimmFixture.self, from: Data(contentsOf: url))
    }

    /// The formula image, NHWC.
    func input() -> Tensor {
        let count = inputShapeNCHW.reduce(1, *)
        let values = sines(count: count, frequency: formula.inputFreq, phase: formula.inputPhase).map(Float.init)
        return Tensor(shape: inputShapeNCHW, values: values).permuted([0, 2, 3, 1])
    }

    /// Fills every parameter and buffer of `model` from the formula, by name (PyTorch layout, then OIHW → OHWI).
    func fill(_ model: Module) {
        for (name, t) in model.stateDict() {
            let torchShape = t.rank == 4 ? [t.shape[0], t.shape[3], t.shape[1], t.shape[2]] : t.shape
            let values = formulaValues(name: name, shape: torchShape)
            let source = Tensor(shape: torchShape, values: values)
            t.copy(from: t.rank == 4 ? source.permuted([0, 2, 3, 1]) : source)
        }
    }

    func formulaValues(name: String, shape: [Int]) -> [Float] {
        let n = shape.reduce(1, *)
        let phase = Double(fnv1a32(name) % UInt32(formula.hashModulus)) / Double(formula.hashModulus) * 2 * Double.pi
        let fanIn = shape.count >= 2 ? Double(n / shape[0]) : 1
        let transform: (Double) -> Double
        if name.hasSuffix("running_var") { transform = { 0.5 + 0.5 * abs($0) } }
        else if name.hasSuffix("running_mean") || name.hasSuffix("bias") { transform = { 0.1 * $0 } }
        else if shape.count >= 2 { let k = formula.gain / fanIn.squareRoot(); transform = { k * $0 } }
        else { let c = formula.bnCenter; transform = { c * (1 + 0.2 * $0) } }
        return sines(count: n, frequency: formula.freq, phase: phase).map { Float(transform($0)) }
    }
}

/// sin(frequency·i + phase) for i in 0..<count: exact every 64 elements, rotated in between (error ≪ float32 ulp).
func sines(count: Int, frequency: Double, phase: Double) -> [Double] {
    var out = [Double](repeating: 0, count: count)
    let (cs, sn) = (cos(frequency), sin(frequency))
    var i = 0
    while i < count {
        var (s, c) = (sin(frequency * Double(i) + phase), cos(frequency * Double(i) + phase))
        for j in i..<min(i + 64, count) {
            out[j] = s
            (s, c) = (s * cs + c * sn, c * cs - s * sn)
        }
        i += 64
    }
    return out
}

/// FNV-1a, 32 bits, over UTF-8.
func fnv1a32(_ text: String) -> UInt32 {
    var h: UInt32 = 0x811C_9DC5
    for b in text.utf8 {
        h ^= UInt32(b)
        h = h &* 0x0100_0193
    }
    return h
}

/// Largest absolute elementwise difference.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
