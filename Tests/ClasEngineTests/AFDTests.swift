@testable import ClasEngine
import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// Attention-based feature distillation: the pooling, the two feature transforms and `AFDLoss` against direct
/// computations of PaddleClas's definitions, its gradients against finite differences, and an `AttentionModel`
/// built from a config.
final class AFDTests: XCTestCase {
    /// Adaptive average pooling (down, up and uneven) equals PaddleClas's bin definition computed directly.
    func testAdaptivePoolingMatchesBinDefinition() {
        var rng = RandomState(seed: 3)
        let x = Tensor.randomNormal([2, 5, 7], using: &rng)
        for (oh, ow) in [(3, 9), (10, 14), (1, 1), (5, 2)] {
            let y = x.adaptiveAvgPooled(oh, ow)
            XCTAssertEqual(y.shape, [2, oh, ow])
            var expected: [Float] = []
            for n in 0..<2 {
                for i in 0..<oh {
                    for j in 0..<ow {
                        let (h0, h1) = (i * 5 / oh, ((i + 1) * 5 + oh - 1) / oh)
                        let (w0, w1) = (j * 7 / ow, ((j + 1) * 7 + ow - 1) / ow)
                        var s: Float = 0
                        for a in h0..<h1 { for b in w0..<w1 { s += x.data[(n * 5 + a) * 7 + b] } }
                        expected.append(s / Float((h1 - h0) * (w1 - w0)))
                    }
                }
            }
            assertClose(Array(y.scalars), expected, tol: 1e-5, "\(oh)×\(ow)")
        }
    }

    /// The loss equals the formula of `afdloss.py` evaluated element by element in double precision.
    func testLossMatchesDirectComputation() {
        let shapes = [FeatureShape([4, 3, 3]), FeatureShape([4, 3, 3]), FeatureShape([8, 2, 2])]
        let (n, s, d) = (3, 2, 5)
        let afd = AFDAttention(teacherShapes: shapes, studentCount: s, qkDim: d)
        XCTAssertEqual(afd.teacherShapeIndex, [0, 0, 1])
        var rng = RandomState(seed: 11)
        let key = Tensor.randomNormal([n, s, 3, d], using: &rng), query = Tensor.randomNormal([n, 3, d], using: &rng)
        let sv = [Tensor.randomNormal([n, s, 9], using: &rng), Tensor.randomNormal([n, s, 4], using: &rng)]
        let tv = [Tensor.randomNormal([n, 9], using: &rng), Tensor.randomNormal([n, 9], using: &rng),
                  Tensor.randomNormal([n, 4], using: &rng)]
        let loss = afd.loss(bilinearKey: key, query: query, studentValues: sv, teacherValues: tv)

        var expected = 0.0
        for i in 0..<3 {
            var batch = 0.0
            for b in 0..<n {
                var logits = [Double](repeating: 0, count: s)
                for j in 0..<s {
                    var dot = 0.0, pos = 0.0
                    for q in 0..<d {
                        dot += Double(key.data[((b * s + j) * 3 + i) * d + q]) * Double(query.data[(b * 3 + i) * d + q])
                        pos += Double(afd.pT.data[i * d + q]) * Double(afd.pS.data[j * d + q])
                    }
                    logits[j] = (dot + pos) / Double(d).squareRoot()
                }
                let m = logits.max()!, z = logits.reduce(0) { $0 + exp($1 - m) }
                let hw = tv[i].shape[1], v = sv[afd.teacherShapeIndex[i]]
                for j in 0..<s {
                    var mse = 0.0
                    for p in 0..<hw {
                        let diff = Double(v.data[(b * s + j) * hw + p]) - Double(tv[i].data[b * hw + p])
                        mse += diff * diff
                    }
                    batch += exp(logits[j] - m) / z * mse / Double(hw)
                }
            }
            expected += batch / Double(n)
        }
        XCTAssertEqual(Double(loss.item), expected, accuracy: 1e-5 * max(1, expected))
    }

    /// Gradients of the loss with respect to its inputs and its own embeddings match finite differences.
    func testLossGradients() {
        let shapes = [FeatureShape([4, 2, 2]), FeatureShape([8, 1, 2])]
        let afd = AFDAttention(teacherShapes: shapes, studentCount: 3, qkDim: 4)
        var rng = RandomState(seed: 5)
        let key = Tensor.randomNormal([2, 3, 2, 4], using: &rng), query = Tensor.randomNormal([2, 2, 4], using: &rng)
        let sv = [Tensor.randomNormal([2, 3, 4], using: &rng), Tensor.randomNormal([2, 3, 2], using: &rng)]
        let tv = [Tensor.randomNormal([2, 4], using: &rng), Tensor.randomNormal([2, 2], using: &rng)]
        checkGradients([key, query, sv[0], sv[1], tv[0], tv[1], afd.pT, afd.pS], eps: 1e-3) { t in
            afd.loss(bilinearKey: t[0], query: t[1], studentValues: [t[2], t[3]], teacherValues: [t[4], t[5]])
        }
    }

    /// The transforms' outputs have PaddleClas's shapes and normalisation, and their parameters PaddleClas's names.
    func testTransformsShapesAndNames() {
        let t = [FeatureShape([8, 4, 4]), FeatureShape([8, 4, 4]), FeatureShape([16, 2, 2])]
        let s = [FeatureShape([4, 4, 4]), FeatureShape([6, 1, 1])]
        var rng = RandomState(seed: 9)
        let teacherMaps = ["a": Tensor.randomNormal([3, 4, 4, 8], using: &rng), "b": Tensor.randomNormal([3, 4, 4, 8], using: &rng),
                           "c": Tensor.randomNormal([3, 2, 2, 16], using: &rng)]
        let studentMaps = ["x": Tensor.randomNormal([3, 4, 4, 4], using: &rng), "y": Tensor.randomNormal([3, 1, 1, 6], using: &rng)]
        let teacher = LinearTransformTeacher(qkDim: 5, teacherShapes: t, keys: ["a", "b", "c"])
        let student = LinearTransformStudent(qkDim: 5, teacherShapes: t, studentShapes: s, keys: ["x", "y"])
        let to = teacher.transform(teacherMaps), so = student.transform(studentMaps)
        XCTAssertEqual(to["query"]?.shape, [3, 3, 5])
        XCTAssertEqual(to["value[2]"]?.shape, [3, 4])
        XCTAssertEqual(so["bilinear_key"]?.shape, [3, 2, 3, 5])
        XCTAssertEqual(Set(so.keys), ["bilinear_key", "value[0]", "value[1]"])
        XCTAssertEqual(so["value[0]"]?.shape, [3, 2, 16])
        XCTAssertEqual(so["value[1]"]?.shape, [3, 2, 4])
        // Unit L2 norm per row; the 1×1 student map pooled up is constant.
        let v = so["value[1]"]!.scalars
        for row in 0..<6 {
            let r = v[(row * 4)..<(row * 4 + 4)]
            XCTAssertEqual(r.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
            if row % 2 == 1 { XCTAssertEqual(r.max()! - r.min()!, 0, accuracy: 1e-6) }
        }
        XCTAssertEqual(Set(teacher.namedParameters().map(\.0)).subtracting(
            (0..<3).flatMap { ["query_layer.\($0).linear.weight", "query_layer.\($0).linear.bias",
                               "query_layer.\($0).bn.weight", "query_layer.\($0).bn.bias"] }), [])
        XCTAssertTrue(student.namedParameters().map(\.0).contains("bilinear.linear.weight"))
        XCTAssertEqual(student.parameterCount, (4 + 6) * 5 + 2 * 5 + 2 * 2 * 5 + 5 * 15 + 15 + 2 * 15)
    }
}
