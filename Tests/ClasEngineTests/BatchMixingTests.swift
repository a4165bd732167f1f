@testable import ClasEngine
import ClasTensor
import XCTest

/// MixupOperator, CutmixOperator and OpSampler on hand-checkable batches: image `i` is the constant `10·(i+1)` and
/// has label `i`, so every output pixel must equal the target-weighted sum of the constants.
final class BatchMixingTests: XCTestCase {
    private let n = 4, classes = 6, side = 8

    private func batch() -> EngineBatch {
        let images = Tensor(uninitializedShape: [n, side, side, 3])
        let per = side * side * 3
        for i in 0..<n { for k in 0..<per { images.data[i * per + k] = Float(10 * (i + 1)) } }
        return EngineBatch(images: images, targets: Targets(labels: Array(0..<n)), paths: (0..<n).map { "\($0).png" })
    }

    private func softRow(_ b: EngineBatch, _ i: Int) -> [Float] {
        guard let soft = b.targets.soft else { return [] }
        return (0..<classes).map { soft.data[i * classes + $0] }
    }

    /// Checks soft rows sum to 1, labels are the row maxima, and pixels agree with the targets.
    private func checkConsistent(_ b: EngineBatch, file: StaticString = #filePath, line: UInt = #line) {
        let per = side * side * 3
        for i in 0..<n {
            let row = softRow(b, i)
            XCTAssertEqual(row.count, classes, file: file, line: line)
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5, file: file, line: line)
            XCTAssertTrue(row.allSatisfy { $0 >= 0 }, file: file, line: line)
            let top = row.indices.max { row[$0] < row[$1] } ?? -1
            XCTAssertEqual(row[b.targets.labels[i]], row[top], "label is the dominant image's", file: file, line: line)
            // The image's mean equals the target-weighted mean of the constants.
            var mean: Float = 0
            for k in 0..<per { mean += b.images.data[i * per + k] }
            mean /= Float(per)
            let expected = (0..<n).reduce(Float(0)) { $0 + row[$1] * Float(10 * ($1 + 1)) }
            XCTAssertEqual(mean, expected, accuracy: 1e-3, file: file, line: line)
        }
    }

    func testMixupBlendsImagesAndTargetsAlike() {
        for seed in 0..<6 as Range<UInt64> {
            var b = batch()
            var rng = RandomState(seed: seed)
            MixupOperator(alpha: 1).apply(&b, classCount: classes, rng: &rng)
            checkConsistent(b)
            // Mixup images are flat blends of two constants.
            XCTAssertEqual(Set((0..<(side * side * 3)).map { b.images.data[$0] }).count, 1)
            for i in 0..<n { XCTAssertLessThanOrEqual(softRow(b, i).filter { $0 > 0 }.count, 2) }
        }
        var a = batch(), c = batch()
        var r1 = RandomState(seed: 9), r2 = RandomState(seed: 9)
        MixupOperator(alpha: 0.2).apply(&a, classCount: classes, rng: &r1)
        MixupOperator(alpha: 0.2).apply(&c, classCount: classes, rng: &r2)
        XCTAssertEqual(a.images.scalars, c.images.scalars, "deterministic under a seed")
        XCTAssertEqual(a.targets.soft?.scalars, c.targets.soft?.scalars)
    }

    /// As alpha → 0, λ is 0 or 1: every image is one of the originals and its target is one-hot on its label.
    func testMixupWithTinyAlphaIsIdentityOnTargets() {
        for seed in 0..<6 as Range<UInt64> {
            var b = batch()
            var rng = RandomState(seed: seed)
            MixupOperator(alpha: 1e-4).apply(&b, classCount: classes, rng: &rng)
            for i in 0..<n {
                let row = softRow(b, i), label = b.targets.labels[i]
                XCTAssertEqual(row[label], 1, accuracy: 1e-3)
                XCTAssertEqual(b.images.data[i * side * side * 3], Float(10 * (label + 1)), accuracy: 0.01)
            }
        }
    }

    func testCutmixPastesOneBoxWithTheExactAreaWeight() {
        var pasted = 0
        for seed in 0..<10 as Range<UInt64> {
            var b = batch()
            var rng = RandomState(seed: seed)
            CutmixOperator(alpha: 1).apply(&b, classCount: classes, rng: &rng)
            checkConsistent(b)
            let per = side * side * 3
            for i in 0..<n {
                let values = (0..<per).map { b.images.data[i * per + $0] }
                XCTAssertLessThanOrEqual(Set(values).count, 2, "pixels are the image's own or its partner's")
                if Set(values).count == 2 { pasted += 1 }
            }
        }
        XCTAssertGreaterThan(pasted, 0)
        XCTAssertEqual(CutmixOperator(alpha: 0.2).alpha, 0.2)
    }

    func testOpSamplerPicksOneOpPerBatchOrNone() {
        let sampler = OpSampler([(MixupOperator(alpha: 0.8), 0.5), (CutmixOperator(alpha: 1), 0.5)])
        var kinds: Set<String> = []
        for seed in 0..<20 as Range<UInt64> {
            var b = batch()
            var rng = RandomState(seed: seed)
            sampler.apply(&b, classCount: classes, rng: &rng)
            checkConsistent(b)
            let first = (0..<(side * side * 3)).map { b.images.data[$0] }
            kinds.insert(Set(first).count == 1 && (first[0] / 10).rounded() != first[0] / 10 ? "mixup" : "cutmix-or-whole")
        }
        XCTAssertEqual(kinds.count, 2, "both operators are used")
        let never = OpSampler([(MixupOperator(alpha: 1), 0), (CutmixOperator(alpha: 1), 0)])
        for seed in 0..<5 as Range<UInt64> {
            var b = batch()
            var rng = RandomState(seed: seed)
            never.apply(&b, classCount: classes, rng: &rng)
            XCTAssertNil(b.targets.soft, "leftover probability 1 leaves the batch alone")
            XCTAssertEqual(b.images.scalars, batch().images.scalars)
        }
    }

    func testChainedOpsMixSoftTargets() {
        var b = batch()
        var rng = RandomState(seed: 3)
        MixupOperator(alpha: 1).apply(&b, classCount: classes, rng: &rng)
        CutmixOperator(alpha: 1).apply(&b, classCount: classes, rng: &rng)
        checkConsistent(b)
    }
}
