import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

final class MobileNetV3Tests: XCTestCase {
    func testParameterCountsMatchTimm() throws {
        let cases: [(MobileNetV3.Size, Double, Int)] = [(.large, 1.0, 5_483_032), (.small, 1.0, 2_542_856),
                                                        (.large, 0.75, 3_993_528), (.small, 0.75, 2_041_872)]
        for (size, width, expected) in cases {
            let m = try MobileNetV3(size: size, widthMultiplier: width)
            XCTAssertEqual(m.parameterCount, expected, "\(size) x\(width)")
        }
    }

    func testNamesFollowTimm() throws {
        let m = try MobileNetV3(size: .small)
        let names = Set(m.stateDict().map(\.0))
        for n in ["conv_stem.weight", "bn1.weight", "bn1.running_var", "blocks.0.0.conv_dw.weight",
                  "blocks.0.0.se.conv_reduce.bias", "blocks.1.0.conv_pwl.weight", "blocks.5.0.conv.weight",
                  "conv_head.bias", "classifier.weight"] {
            XCTAssertTrue(names.contains(n), "missing \(n)")
        }
    }
}

final class MACTests: XCTestCase {
    func testMobileNetV3MACsMatchPublished() throws {
        for (size, expected) in [(MobileNetV3.Size.large, 216.6e6), (.small, 56.5e6)] {
            let m = try MobileNetV3(size: size)
            m.eval()
            let macs = MACCounter.count { _ = GradMode.withoutGrad { m(Tensor.zeros([1, 224, 224, 3])) } }
            XCTAssertEqual(Double(macs), expected, accuracy: expected * 0.005, "\(size): \(macs)")
        }
    }
}
