import ClasConfig
import XCTest

/// Reading YAML into ConfigNode: locations, YAML 1.1 habits, syntax errors.
final class LoaderTests: XCTestCase {
    func testMalformedYAMLGivesFileLineColumnAndLibyamlMessage() {
        assertConfigError("cfg.yaml:1:5: error: invalid YAML: mapping values are not allowed in this context") {
            try parse("a: b: c\n")
        }
        assertConfigError(
            "cfg.yaml:3:2: error: invalid YAML: did not find expected key "
                + "(while parsing a block mapping at line 1, column 1)"
        ) {
            try parse("Global:\n  epochs: 3\n bad: 1\n")
        }
    }

    func testSyntaxErrorDescriptionQuotesTheLineWithACaret() throws {
        do {
            _ = try parse("Global:\n  epochs: [1, 2\n  x: 1\n")
            XCTFail("expected an error")
        } catch let error as ConfigError {
            XCTAssertEqual(error.location.line, 3)
            XCTAssertTrue(error.description.hasSuffix("\n  x: 1\n   ^"), error.description)
        }
    }

    func testTabIndentationIsExplained() {
        assertConfigError(
            "cfg.yaml:2:1: error: invalid YAML: found character that cannot start any token (while scanning "
                + "for the next token at line 2, column 1); YAML does not allow tabs for indentation, use spaces"
        ) {
            try parse("Global:\n\tepochs: 3\n")
        }
    }

    func testSecondDocumentIsRejected() {
        assertConfigError(
            "cfg.yaml:3:1: error: invalid YAML: a config file holds one document, but '---' starts another"
        ) {
            try parse("---\na: 1\n---\nb: 2\n")
        }
    }

    func testDuplicateKeyIsAnError() {
        assertConfigError("cfg.yaml:4:3: error: duplicate key 'epochs' (first set on line 2)") {
            try parse("Global:\n  epochs: 3\n  seed: 1\n  epochs: 4\n")
        }
    }

    func testNodesCarryLocations() throws {
        let root = try parse("Global:\n  epochs: 3\nArch:\n  name: X\n")
        XCTAssertEqual(root["Global"]?["epochs"]?.location.description, "cfg.yaml:2:11")
        XCTAssertEqual(root["Arch"]?.entry("name")?.keyLocation.description, "cfg.yaml:4:3")
        XCTAssertEqual(root.keys, ["Global", "Arch"])
    }

    func testEmptyAndCommentOnlyFilesAreEmptyMaps() throws {
        XCTAssertEqual(try parse(""), .mapping([]))
        XCTAssertEqual(try parse("# nothing here\n\n"), .mapping([]))
    }

    func testTopLevelMustBeAMap() {
        assertConfigError("cfg.yaml:1:1: error: expected a map of sections at the top level, got a list") {
            try parse("- a\n- b\n")
        }
    }

    func testScalarsKeepRawTextAndQuoting() throws {
        let root = try parse("a: 1e-8\nb: '1e-8'\nc: \"x\"\nd: |\n  text\n")
        XCTAssertEqual(root["a"]?.scalar, .init("1e-8", isQuoted: false))
        XCTAssertEqual(root["b"]?.scalar, .init("1e-8", isQuoted: true))
        XCTAssertEqual(root["c"]?.scalar, .init("x", isQuoted: true))
        XCTAssertEqual(root["d"]?.scalar, .init("text\n", isQuoted: true))
    }

    func testNullSpellings() throws {
        let root = try parse("a:\nb: null\nc: ~\nd: None\ne: NULL\nf: 'null'\ng: nil\n")
        for key in ["a", "b", "c", "d", "e"] { XCTAssertTrue(root[key]?.isNull ?? false, key) }
        XCTAssertEqual(root["f"]?.scalar?.text, "null")
        XCTAssertEqual(root["g"]?.scalar?.text, "nil")
    }

    func testAnchorsAndAliasesAreResolved() throws {
        let root = try parse(
            """
            Arch:
              class_num: &class_num 102
              models:
                - Teacher:
                    class_num: *class_num
            """)
        XCTAssertEqual(root.node(at: "Arch.models.0.Teacher.class_num")?.scalar?.text, "102")
    }

    func testMergeKeysFromYAML11() throws {
        let root = try parse(
            """
            base: &base {a: 1, b: 2}
            derived:
              <<: *base
              b: 3
            """)
        XCTAssertEqual(root["derived"]?.description, "{b: 3, a: 1}")
    }

    func testIndentlessSequencesAndOverIndentedBlocks() throws {
        let root = try parse(
            """
            Loss:
              Train:
              - CELoss:
                  weight: 1.0
              - DMLLoss:
            DataLoader:
              Train:
                dataset:
                    name: ImageNetDataset
            """)
        XCTAssertEqual(root.node(at: "Loss.Train")?.items?.count, 2)
        XCTAssertTrue(root.node(at: "Loss.Train.1.DMLLoss")?.isNull ?? false)
        XCTAssertEqual(root.node(at: "DataLoader.Train.dataset.name")?.scalar?.text, "ImageNetDataset")
    }

    func testTrailingSpaceInPlainNameIsTrimmed() throws {
        let config = try ConfigLoader.load(try Fixtures.path("ResNet50_vd.yaml"))
        XCTAssertEqual(config.node(at: "Arch.name")?.scalar?.text, "ResNet50_vd")
    }

    func testMissingFileIsReported() {
        assertConfigError("error: config file 'nope/missing.yaml' not found") {
            try ConfigLoader.load("nope/missing.yaml")
        }
    }
}
