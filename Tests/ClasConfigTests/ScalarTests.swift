import ClasConfig
import XCTest

/// YAML 1.1 / PaddleClas scalar habits and the safe arithmetic parser.
final class ScalarTests: XCTestCase {
    func testBooleans() {
        for text in ["true", "True", "TRUE", "yes", "on", "On"] { XCTAssertEqual(Scalars.bool(text), true, text) }
        for text in ["false", "False", "no", "NO", "off"] { XCTAssertEqual(Scalars.bool(text), false, text) }
        for text in ["1", "0", "tru", "y", ""] { XCTAssertNil(Scalars.bool(text), text) }
    }

    func testIntegers() {
        XCTAssertEqual(Scalars.int("10"), 10)
        XCTAssertEqual(Scalars.int("-3"), -3)
        XCTAssertEqual(Scalars.int("+7"), 7)
        XCTAssertEqual(Scalars.int("89_478_485"), 89_478_485)
        XCTAssertEqual(Scalars.int("0x10"), 16)
        XCTAssertEqual(Scalars.int("0o17"), 15)
        for text in ["10.5", "1e3", "--5", "_1", "1__0", "ten", "", "1,5", "0x"] {
            XCTAssertNil(Scalars.int(text), text)
        }
    }

    func testFloatsIncludingYAML11Strings() {
        XCTAssertEqual(Scalars.double("1e-8"), 1e-8)
        XCTAssertEqual(Scalars.double("2e-3"), 2e-3)
        XCTAssertEqual(Scalars.double("1.0e5"), 1e5)
        XCTAssertEqual(Scalars.double("-1e-5"), -1e-5)
        XCTAssertEqual(Scalars.double("0.00004"), 0.00004)
        XCTAssertEqual(Scalars.double("1."), 1)
        XCTAssertEqual(Scalars.double(".5"), 0.5)
        XCTAssertEqual(Scalars.double("1.e2"), 100)
        XCTAssertEqual(Scalars.double("65536"), 65536)
        XCTAssertEqual(Scalars.double(".inf"), .infinity)
        XCTAssertTrue(Scalars.double(".nan")?.isNaN ?? false)
    }

    func testArithmetic() throws {
        XCTAssertEqual(try XCTUnwrap(Scalars.double("1.0/255.0")), 0.00392156862745098, accuracy: 1e-17)
        XCTAssertEqual(Scalars.double("1./255."), 1.0 / 255.0)
        XCTAssertEqual(Scalars.double("1.0/3.0"), 1.0 / 3.0)
        XCTAssertEqual(Scalars.double("(1 + 2) * 3"), 9)
        XCTAssertEqual(Scalars.double("2 - 3 - 4"), -5)
        XCTAssertEqual(Scalars.double("8 / 4 / 2"), 1)
        XCTAssertEqual(Scalars.double("-(2e-3)*2"), -4e-3)
    }

    func testArithmeticRejectsAnythingElse() {
        for text in [
            "1/0", "abc", "1 +", "(1", "1)", "2**3", "os.system('x')", "1e", "e5", ".", "1 2", "0x10/2", "", "1,5",
        ] {
            XCTAssertNil(Scalars.double(text), text)
        }
    }

    func testQuotedNoneIsNullButQuotedNullIsText() {
        XCTAssertTrue(Scalars.isNull(.init("None", isQuoted: true)))
        XCTAssertFalse(Scalars.isNull(.init("null", isQuoted: true)))
        XCTAssertTrue(Scalars.isNull(.init("~")))
    }
}
