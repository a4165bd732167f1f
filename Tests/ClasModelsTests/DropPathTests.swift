import ClasModels
import ClasNN
import ClasTensor
import XCTest

/// Stochastic-depth rates against timm 1.0 with `drop_path_rate=0.2` (only blocks whose residual uses them).
final class DropPathTests: XCTestCase {
    func rates(_ model: Module) -> [(String, Float)] {
        model.namedModules().compactMap { name, m in (m as? DropPath).map { (name, $0.p) } }
    }

    func testRatesFollowTimm() throws {
        // (model, count, Σp, first, last) from timm.create_model(name, drop_path_rate=0.2).
        let cases: [(Module, Int, Double, (String, Double), (String, Double))] = [
            (try EfficientNet(variant: EfficientNet.variant("b0"), dropPathRate: 0.2), 9, 0.9625,
             ("blocks.1.1.drop_path", 0.025), ("blocks.5.3.drop_path", 0.175)),
            (try EfficientNet(variant: EfficientNet.variant("b3"), dropPathRate: 0.2), 19, 1.961538,
             ("blocks.0.1.drop_path", 0.007692308), ("blocks.6.1.drop_path", 0.192307692)),
            (try MobileNetV3(size: .large, dropPathRate: 0.2), 9, 0.9125,
             ("blocks.1.1.drop_path", 0.025), ("blocks.5.2.drop_path", 0.175)),
            (MobileOne(variant: try MobileOne.variant("s0"), dropPathRate: 0.2), 35, 3.560976,
             ("stages.0.1.drop_path", 0.004878049), ("stages.2.19.drop_path", 0.1902439)),
            (ResNet(variant: try ResNet.variant("resnet50d"), dropPathRate: 0.2), 15, 1.6,
             ("layer1.1.drop_path", 0.013333333), ("layer4.2.drop_path", 0.2)),
        ]
        for (model, count, sum, first, last) in cases {
            let r = rates(model)
            let label = "\(type(of: model))"
            XCTAssertEqual(r.count, count, label)
            XCTAssertEqual(r.reduce(0) { $0 + Double($1.1) }, sum, accuracy: 1e-5, label)
            XCTAssertEqual(r.first?.0, first.0, label)
            XCTAssertEqual(Double(r.first?.1 ?? 0), first.1, accuracy: 1e-6, label)
            XCTAssertEqual(r.last?.0, last.0, label)
            XCTAssertEqual(Double(r.last?.1 ?? 0), last.1, accuracy: 1e-6, label)
        }
    }
}
