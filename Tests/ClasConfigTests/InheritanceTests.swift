import ClasConfig
import XCTest

/// `_BASE_` layering: merge semantics, order, relative paths, cycles and missing files.
final class InheritanceTests: XCTestCase {
    func testMapsMergeListsAndScalarsReplace() throws {
        let dir = try TempDir([
            "base.yaml": """
            Global:
              epochs: 100
              seed: 1
            Loss:
              Train:
                - CELoss: {weight: 1.0}
                - DMLLoss: {weight: 1.0}
            Optimizer:
              lr: {name: Cosine, learning_rate: 0.1}
            """,
            "child.yaml": """
            _BASE_: base.yaml
            Global:
              epochs: 5
            Loss:
              Train:
                - CELoss: {weight: 0.5}
            Optimizer:
              lr: 0.01
            """,
        ])
        let tree = try ConfigLoader.load(dir("child.yaml"))
        XCTAssertEqual(tree.keys, ["Global", "Loss", "Optimizer"])
        XCTAssertEqual(tree["Global"]?.description, "{epochs: 5, seed: 1}")
        XCTAssertEqual(tree.node(at: "Loss.Train")?.description, "[{CELoss: {weight: 0.5}}]")
        XCTAssertEqual(tree.node(at: "Optimizer.lr")?.description, "0.01")
        XCTAssertEqual(tree.node(at: "Global.epochs")?.location.description, "\(dir("child.yaml")):3:11")
        XCTAssertEqual(tree.node(at: "Global.seed")?.location.description, "\(dir("base.yaml")):3:9")
    }

    func testBasesMergeInOrderRelativeToTheIncludingFile() throws {
        let dir = try TempDir([
            "_base_/a.yaml": "Global: {epochs: 1, seed: 1}\n",
            "_base_/b.yaml": "_BASE_: a.yaml\nGlobal: {epochs: 2}\nArch: {name: B}\n",
            "recipes/c.yaml": "_BASE_: [../_base_/b.yaml, ../_base_/extra.yaml]\nArch: {class_num: 3}\n",
            "_base_/extra.yaml": "Global: {seed: 9}\n",
        ])
        let tree = try ConfigLoader.load(dir("recipes/c.yaml"))
        XCTAssertEqual(tree.description, "{Global: {epochs: 2, seed: 9}, Arch: {name: B, class_num: 3}}")
    }

    func testDiamondIsNotACycle() throws {
        let dir = try TempDir([
            "d.yaml": "Global: {epochs: 1}\n",
            "b.yaml": "_BASE_: d.yaml\n",
            "c.yaml": "_BASE_: d.yaml\n",
            "a.yaml": "_BASE_: [b.yaml, c.yaml]\n",
        ])
        XCTAssertEqual(try ConfigLoader.load(dir("a.yaml")).description, "{Global: {epochs: 1}}")
    }

    func testCycleListsTheChain() throws {
        let dir = try TempDir([
            "a.yaml": "_BASE_: b.yaml\nGlobal: {epochs: 1}\n",
            "b.yaml": "Arch: {name: X}\n_BASE_: [./a.yaml]\n",
        ])
        let a = dir("a.yaml")
        let b = dir("b.yaml")
        assertConfigError("\(b):2:10: error: _BASE_ cycle: \(a) → \(b) → \(a)") {
            try ConfigLoader.load(a)
        }
    }

    func testSelfInclusionIsACycle() throws {
        let dir = try TempDir(["a.yaml": "_BASE_: a.yaml\n"])
        assertConfigError("\(dir("a.yaml")):1:9: error: _BASE_ cycle: \(dir("a.yaml")) → \(dir("a.yaml"))") {
            try ConfigLoader.load(dir("a.yaml"))
        }
    }

    func testMissingBaseNamesTheIncludingFileAndLine() throws {
        let dir = try TempDir(["a.yaml": "# recipe\n_BASE_:\n  - ../base/missing.yaml\n"])
        let missing = (dir.path as NSString).deletingLastPathComponent + "/base/missing.yaml"
        assertConfigError("\(dir("a.yaml")):3:5: error: base config '\(missing)' not found") {
            try ConfigLoader.load(dir("a.yaml"))
        }
    }

    func testBaseMustBePaths() throws {
        let dir = try TempDir(["a.yaml": "_BASE_: {x: 1}\n"])
        assertConfigError("\(dir("a.yaml")):1:9: error: _BASE_ expects a file path or a list of paths, got a map") {
            try ConfigLoader.load(dir("a.yaml"))
        }
    }

    func testSyntaxErrorInABaseFileIsLocatedInThatFile() throws {
        let dir = try TempDir(["a.yaml": "_BASE_: b.yaml\n", "b.yaml": "Global:\n  epochs: [1\n"])
        assertConfigError(
            "\(dir("b.yaml")):3:1: error: invalid YAML: did not find expected ',' or ']' "
                + "(while parsing a flow sequence at line 2, column 11)"
        ) {
            try ConfigLoader.load(dir("a.yaml"))
        }
    }

    func testRelativePathsAreNormalised() {
        XCTAssertEqual(
            Inheritance.joined(directoryOf: "configs/x/a.yaml", "../_base_/./b.yaml"), "configs/_base_/b.yaml")
        XCTAssertEqual(Inheritance.joined(directoryOf: "a.yaml", "b.yaml"), "b.yaml")
        XCTAssertEqual(Inheritance.joined(directoryOf: "a.yaml", "/abs/b.yaml"), "/abs/b.yaml")
        XCTAssertEqual(Inheritance.joined(directoryOf: "a.yaml", "../b.yaml"), "../b.yaml")
    }
}
