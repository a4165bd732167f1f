import ClasConfig
import XCTest

final class SuggestTests: XCTestCase {
    func testDistance() {
        XCTAssertEqual(Suggest.distance("lerning_rate", "learning_rate"), 1)
        XCTAssertEqual(Suggest.distance("epcohs", "epochs"), 1)  // transposition
        XCTAssertEqual(Suggest.distance("", "abc"), 3)
        XCTAssertEqual(Suggest.distance("kitten", "sitting"), 3)
    }

    func testClosest() {
        let keys = ["learning_rate", "warmup_epoch", "eta_min", "by_epoch"]
        XCTAssertEqual(Suggest.closest(to: "lerning_rate", in: keys), ["learning_rate"])
        XCTAssertEqual(Suggest.closest(to: "Learning_Rate", in: keys), ["learning_rate"])
        XCTAssertEqual(Suggest.closest(to: "momentum", in: keys), [])
        XCTAssertEqual(Suggest.closest(to: "warmup", in: keys), ["warmup_epoch"])  // prefix
    }

    func testTiesAreAllListed() {
        XCTAssertEqual(
            Suggest.didYouMean(
                "MobileNetV3_smal", in: ["MobileNetV3_small_x0_5", "MobileNetV3_small_x1_0", "ResNet50"]),
            " Did you mean one of 'MobileNetV3_small_x0_5', 'MobileNetV3_small_x1_0'?")
        XCTAssertEqual(Suggest.didYouMean("epoch", in: ["epochs", "seed"]), " Did you mean 'epochs'?")
        XCTAssertEqual(Suggest.didYouMean("zzz", in: ["epochs"]), "")
    }
}
