import ClasConfig
import XCTest

/// Writing the resolved tree back to YAML; reading it again gives an equal tree.
final class DumpTests: XCTestCase {
    private func roundTrip(_ node: ConfigNode, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let text = try ConfigDump.yaml(node)
        XCTAssertEqual(try ConfigLoader.parse(text, path: "dump.yaml"), node, text, file: file, line: line)
        return text
    }

    func testFixturesRoundTrip() throws {
        for name in Fixtures.all {
            _ = try roundTrip(try ConfigLoader.load(try Fixtures.path(name)))
        }
    }

    func testOverriddenTreeRoundTrips() throws {
        let tree = try ConfigLoader.load(
            try Fixtures.path("MobileNetV3_large_x1_0.yaml"),
            overrides: [
                "Global.pretrained_model=", "Infer.infer_imgs=*.jpg", "Arch.extra={a: [1, 'b c'], d: null}",
                "DataLoader.Train.dataset.transform_ops.3.AutoAugment.prob=0.5",
            ])
        _ = try roundTrip(tree)
    }

    func testAwkwardScalarsRoundTrip() throws {
        let tree = try parse(
            """
            a: 'quoted: with colon'
            b: "1e-8"
            c: 1e-8
            d: ''
            e: "multi\\nline"
            f: [a b, 'c,d', -1, null, 'null', "#x"]
            g: []
            h: {}
            i: 'yes'
            j: ~
            k: -x
            l: 1:20
            "m n": 1
            """)
        let text = try roundTrip(tree)
        XCTAssertTrue(text.contains("c: 1e-8\n"), text)
        XCTAssertTrue(text.contains("b: '1e-8'\n"), text)
        XCTAssertTrue(text.contains("j: null\n"), text)
    }

    func testOrderAndHeader() throws {
        let text = try ConfigDump.yaml(
            try parse("z: 1\na: [3, 224, 224]\nm: {y: 2, b: 3}\n"), header: "resolved by SwiftClas\nfrom x.yaml")
        XCTAssertEqual(
            text,
            """
            # resolved by SwiftClas
            # from x.yaml
            z: 1
            a: [3, 224, 224]
            m:
              y: 2
              b: 3

            """)
    }
}
