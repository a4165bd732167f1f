@testable import ClasData
import ClasTensor
import Foundation
import XCTest

/// `RandomAffine`: torchvision's inverse matrix, Pillow's pixel conventions, the ranges it draws from, option errors.
final class RandomAffineTests: XCTestCase {
    /// One bright pixel at (x, y) on a dark 40×30 RGB image.
    private func dot(_ x: Int, _ y: Int) -> Image {
        var pixels = [UInt8](repeating: 10, count: 40 * 30 * 3)
        for c in 0..<3 { pixels[(y * 40 + x) * 3 + c] = 250 }
        return Image(width: 40, height: 30, channels: 3, pixels: pixels)
    }

    private func brightest(_ image: Image) -> (x: Int, y: Int)? {
        for y in 0..<image.height { for x in 0..<image.width where image.pixels[(y * image.width + x) * 3] == 250 {
            return (x, y)
        } }
        return nil
    }

    func testInverseMatrixIsTorchvisions() {
        // torchvision.transforms.functional._get_inverse_affine_matrix([24, 20], 30, [3, -2], 1.2, [10, -5])
        let m = RandomAffine.inverseMatrix(center: (24, 20), angle: 30, translate: (3, -2), scale: 1.2, shear: (10, -5))
        let torch = [0.6370850630356901, 0.5374919489360557, -2.876151782812638,
                     -0.47980617096383266, 0.6852342266845639, 20.620550535701334]
        for (a, b) in zip(m, torch) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    }

    func testWholePixelTranslationMovesEveryPixel() {
        let m = RandomAffine.inverseMatrix(center: (20, 15), angle: 0, translate: (2, 1), scale: 1, shear: (0, 0))
        let image = PILOpsTests.pattern(40, 30)
        let out = PIL.affine(image, m, resample: .nearest, fill: [0, 0, 0])
        for y in 0..<30 { for x in 0..<40 { for c in 0..<3 {
            let expected: UInt8 = (x >= 2 && y >= 1) ? image.pixels[((y - 1) * 40 + x - 2) * 3 + c] : 0
            XCTAssertEqual(out.pixels[(y * 40 + x) * 3 + c], expected, "(\(x), \(y)) channel \(c)")
        } } }
    }

    func testTranslationStaysWithinItsFractionsAndGoesBothWays() throws {
        let op = try RandomAffine(.init(degrees: [0], translate: [0.1, 0.1]))
        var shifts = Set<[Int]>()
        for seed in 0..<200 as Range<UInt64> {
            var sample = Sample(path: "mem.png", payload: .image(dot(20, 15)))
            var rng = RandomState(seed: seed)
            try op.apply(&sample, rng: &rng)
            guard case .image(let out) = sample.payload, let p = brightest(out) else { return XCTFail("seed \(seed)") }
            XCTAssertTrue(abs(p.x - 20) <= 4 && abs(p.y - 15) <= 3, "seed \(seed): moved to \(p)")
            shifts.insert([p.x - 20, p.y - 15])
        }
        XCTAssertTrue(shifts.contains { $0[0] < 0 } && shifts.contains { $0[0] > 0 }, "\(shifts)")
        XCTAssertTrue(shifts.contains { $0[1] < 0 } && shifts.contains { $0[1] > 0 }, "\(shifts)")
        XCTAssertGreaterThan(shifts.count, 30, "draws cover the 9 × 7 grid of shifts")
    }

    func testRotationAndScaleUseTheCentre() throws {
        // 90° clockwise (torchvision's sense) about the centre of a 40×30 image: (x, y) → (cx + (cy - y), cy + (x - cx))
        // in pixel centres; the dot at (25, 15) lands on (19, 20), where torchvision.transforms.functional.affine puts it.
        let m = RandomAffine.inverseMatrix(center: (20, 15), angle: 90, translate: (0, 0), scale: 1, shear: (0, 0))
        let out = PIL.affine(dot(25, 15), m, resample: .nearest, fill: [0, 0, 0])
        XCTAssertEqual(brightest(out).map { [$0.x, $0.y] }, [19, 20])
        let half = RandomAffine.inverseMatrix(center: (20, 15), angle: 0, translate: (0, 0), scale: 2, shear: (0, 0))
        XCTAssertEqual(half[0], 0.5, accuracy: 1e-12)
        XCTAssertEqual(half[2], 10, accuracy: 1e-12)
    }

    func testBadOptionsSayWhatIsWrong() {
        for (options, needle) in [(RandomAffine.Options(degrees: [0], translate: [1.5, 0.1]), "translate"),
                                  (.init(degrees: [-3]), "degrees"), (.init(degrees: [0], scale: [2, 1]), "scale"),
                                  (.init(degrees: [0], shear: [1, 2, 3]), "shear"),
                                  (.init(degrees: [0], interpolation: "lanczos"), "interpolation")] {
            XCTAssertThrowsError(try RandomAffine(options)) { XCTAssertTrue("\($0)".contains(needle), "\($0)") }
        }
    }
}
