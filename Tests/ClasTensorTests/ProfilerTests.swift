import ClasTensor
import XCTest
import _ClasTestSupport

/// `tools benchmark --profile`'s accounting: elementwise ops outside timed regions are timed by name, and a region
/// inside another (an op inside a timed layer or backward rule) is not counted a second time.
final class ProfilerTests: XCTestCase {
    func testElementwiseOpsAreTimedOnceOutermostOnly() {
        let a = randn([64, 64], seed: 1), b = randn([64, 64], seed: 2)
        Profiler.reset()
        Profiler.isEnabled = true
        defer { Profiler.isEnabled = false; Profiler.reset() }
        _ = (a + b).relu()
        _ = a * 2
        let nested = Profiler.measure("layer forward") { (a + b) * b }
        Profiler.isEnabled = false
        let e = Profiler.entries
        XCTAssertEqual(e["add forward"]?.calls, 1, "the add inside the timed layer is the layer's time")
        XCTAssertEqual(e["relu forward"]?.calls, 1)
        XCTAssertEqual(e["affine forward"]?.calls, 1)
        XCTAssertNil(e["mul forward"], "the mul inside the timed layer is not counted again")
        XCTAssertEqual(e["layer forward"]?.calls, 1)
        XCTAssertEqual(nested.shape, [64, 64])
    }
}
