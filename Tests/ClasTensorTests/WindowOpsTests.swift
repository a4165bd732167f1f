import ClasTensor
import XCTest
import _ClasTestSupport

/// Swin's shape operations (`Ops/WindowOps.swift`): forward values against index arithmetic written out here, and
/// finite-difference gradients.
final class WindowOpsTests: XCTestCase {
    /// [B, H, W, C] filled with 1000·b + 100·y + 10·x + c, so every element names its position.
    func positional(_ b: Int, _ h: Int, _ w: Int, _ c: Int) -> Tensor {
        var v: [Float] = []
        for i in 0..<b { for y in 0..<h { for x in 0..<w { for k in 0..<c { v.append(Float(1000 * i + 100 * y + 10 * x + k)) } } } }
        return Tensor(shape: [b, h, w, c], values: v)
    }

    func testRollMatchesTorchRoll() {
        let x = positional(1, 3, 4, 1)
        let r = x.rolled([-1, 2], axes: [1, 2])  // out[y, x] = in[(y + 1) % 3, (x − 2) mod 4]
        for y in 0..<3 { for c in 0..<4 {
            XCTAssertEqual(r.scalars[y * 4 + c], Float(100 * ((y + 1) % 3) + 10 * ((c + 2) % 4)))
        } }
        XCTAssertEqual(x.rolled([-1, 2], axes: [1, 2]).rolled([1, -2], axes: [1, 2]).scalars, x.scalars)
        XCTAssertEqual(x.rolled([3, 8], axes: [1, 2]).scalars, x.scalars, "whole turns are the identity")
    }

    func testWindowPartitionOrderAndInverse() {
        let x = positional(2, 4, 6, 2)
        let w = x.windowPartitioned(2, 3)
        XCTAssertEqual(w.shape, [2 * 2 * 2, 6, 2])
        // Window 3 is image 0, window row 1, window column 1; its position 4 is (1, 1) inside it: pixel (3, 4).
        XCTAssertEqual(w.scalars[(3 * 6 + 4) * 2 + 1], Float(100 * 3 + 10 * 4 + 1))
        // Window 5 is image 1, row 0, column 1; position 2 is (0, 2): pixel (0, 5).
        XCTAssertEqual(w.scalars[(5 * 6 + 2) * 2], Float(1000 + 10 * 5))
        XCTAssertEqual(w.windowsReversed(2, 3, height: 4, width: 6).scalars, x.scalars)
    }

    func testSpatialPaddingAndGather() {
        let x = positional(1, 2, 3, 1)
        let p = x.paddedSpatially(toHeight: 3, width: 5)
        XCTAssertEqual(p.shape, [1, 3, 5, 1])
        XCTAssertEqual(p.scalars, [0, 10, 20, 0, 0, 100, 110, 120, 0, 0, 0, 0, 0, 0, 0])
        let table = Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(table.gatheredRows([2, 0, 2]).scalars, [5, 6, 1, 2, 5, 6])
    }

    func testGradients() {
        checkGradients([randn([2, 3, 4, 2])]) { $0[0].rolled([1, -3], axes: [1, 2]) }
        checkGradients([randn([2, 4, 6, 3])]) { $0[0].windowPartitioned(2, 3) }
        checkGradients([randn([8, 6, 3])]) { $0[0].windowsReversed(2, 3, height: 4, width: 6) }
        checkGradients([randn([2, 3, 5, 2])]) { $0[0].paddedSpatially(toHeight: 4, width: 7) }
        // Repeated rows: the backward must add, not overwrite.
        checkGradients([randn([5, 3])]) { $0[0].gatheredRows([4, 0, 4, 2, 4, 1]) }
    }
}
