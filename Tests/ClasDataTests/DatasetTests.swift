import ClasData
import Foundation
import XCTest
import _ClasTestSupport

/// List files, image folders and class maps.
final class DatasetTests: XCTestCase {
    private var root = ""

    override func setUp() {
        root = temporaryDirectory()
        for name in ["a.jpg", "b.png", "sub/c.jpg"] { _ = try? TestData.write([1], root, name) }
    }

    private func list(_ text: String, name: String = "list.txt") throws -> String {
        try TestData.write(Array(text.utf8), root, name)
    }

    func testParsesPathsLabelsAndSkipsBlankLines() throws {
        let abs = try TestData.write([1], temporaryDirectory(), "elsewhere.jpg")
        let path = try list("a.jpg 0\n\n  sub/c.jpg 2  \r\n\(abs) 1\n")
        let ds = try ImageNetDataset(imageRoot: root, listPath: path)
        XCTAssertEqual(ds.count, 3)
        XCTAssertTrue(ds.sample(at: 0) == (root + "/a.jpg", 0))
        XCTAssertTrue(ds.sample(at: 1) == (root + "/sub/c.jpg", 2))
        XCTAssertTrue(ds.sample(at: 2) == (abs, 1), "absolute paths win over image_root")
        XCTAssertEqual(ds.classCount, 3, "max label + 1")
        XCTAssertEqual(try ImageNetDataset(imageRoot: root, listPath: path, classCount: 10).classCount, 10)
    }

    func testCustomDelimiterAndExtraFields() throws {
        let path = try list("a.jpg\t4\textra\nb.png\t1\n")
        let ds = try ImageNetDataset(imageRoot: root + "/", listPath: path, delimiter: "\t")
        XCTAssertEqual(ds.labels, [4, 1])
        XCTAssertEqual(ds.paths[0], root + "/a.jpg")
    }

    func testMissingFieldNamesLine() throws {
        let path = try list("a.jpg 0\n\nb.png\n")
        TestData.assertThrows(["\(path):3:", "no delimiter", "b.png"]) { try ImageNetDataset(imageRoot: root, listPath: path) }
    }

    func testDoubleSpaceMakesAnEmptyLabel() throws {
        let path = try list("a.jpg  0\n")
        TestData.assertThrows(["\(path):1:", "label '' is not an integer"]) { try ImageNetDataset(imageRoot: root, listPath: path) }
    }

    func testNonIntegerLabel() throws {
        let path = try list("a.jpg 0\nb.png cat\n")
        TestData.assertThrows(["\(path):2:", "'cat' is not an integer"]) { try ImageNetDataset(imageRoot: root, listPath: path) }
        let float = try list("a.jpg 1.0\n", name: "f.txt")
        TestData.assertThrows(["\(float):1:", "'1.0'"]) { try ImageNetDataset(imageRoot: root, listPath: float) }
    }

    func testNegativeLabelAndRelabel() throws {
        let path = try list("a.jpg -1\nb.png 7\nsub/c.jpg 3\n")
        TestData.assertThrows(["\(path):1:", "label -1 is negative", "relabel"]) {
            try ImageNetDataset(imageRoot: root, listPath: path)
        }
        let ds = try ImageNetDataset(imageRoot: root, listPath: path, relabel: true)
        XCTAssertEqual(ds.labels, [0, 2, 1])
        XCTAssertEqual(ds.originalLabels, [-1, 3, 7])
        XCTAssertEqual(ds.classCount, 3)
    }

    func testLabelAtOrAboveClassCount() throws {
        let path = try list("a.jpg 0\nb.png 1\nsub/c.jpg 2\n")
        TestData.assertThrows(["\(path):3:", "label 2 is not below the class count 2"]) {
            try ImageNetDataset(imageRoot: root, listPath: path, classCount: 2)
        }
    }

    func testMissingImagesAreReportedTogetherWithLines() throws {
        var text = "a.jpg 0\n"
        for i in 0..<25 { text += "missing\(i).jpg 1\n" }
        let path = try list(text)
        do {
            _ = try ImageNetDataset(imageRoot: root, listPath: path)
            XCTFail("no error")
        } catch {
            let message = "\(error)"
            XCTAssertTrue(message.contains("25 of 26 listed images do not exist"), message)
            XCTAssertTrue(message.contains("line 2: \(root)/missing0.jpg"), message)
            XCTAssertTrue(message.contains("line 21: \(root)/missing19.jpg"), message)
            XCTAssertFalse(message.contains("missing20.jpg"), "capped at 20 names")
            XCTAssertTrue(message.contains("and 5 more"), message)
        }
        XCTAssertEqual(try ImageNetDataset(imageRoot: root, listPath: path, checkFiles: false).count, 26)
    }

    func testMissingListFileOrRoot() throws {
        TestData.assertThrows(["nope.txt", "does not exist"]) { try ImageNetDataset(imageRoot: root, listPath: root + "/nope.txt") }
        let path = try list("a.jpg 0\n")
        TestData.assertThrows(["/no/such/root", "image_root"]) { try ImageNetDataset(imageRoot: "/no/such/root", listPath: path) }
        let empty = try list("\n\n", name: "empty.txt")
        TestData.assertThrows(["empty.txt", "no samples"]) { try ImageNetDataset(imageRoot: root, listPath: empty) }
    }

    func testImageFolderOrderingAndHiddenFiles() throws {
        let top = temporaryDirectory()
        for name in ["b/2.png", "b/1.JPG", "a/x.jpeg", "a/.hidden.jpg", "a/notes.txt", "a/deep/y.bmp", "B_upper/z.png",
                     ".cache/q.jpg", "readme.jpg"] {
            try TestData.write([1], top, name)
        }
        let ds = try ImageFolderDataset(root: top)
        XCTAssertEqual(ds.names, ["B_upper", "a", "b"], "code-point order, hidden folders and root files ignored")
        XCTAssertEqual(ds.paths.map { String($0.dropFirst(top.count + 1)) },
                       ["B_upper/z.png", "a/deep/y.bmp", "a/x.jpeg", "b/1.JPG", "b/2.png"])
        XCTAssertEqual(ds.labels, [0, 1, 1, 2, 2])
        XCTAssertEqual(ds.classCount, 3)
        let map = top + "/label_list.txt"
        try ds.writeLabelList(to: map)
        XCTAssertEqual(try String(contentsOfFile: map, encoding: .utf8), "0 B_upper\n1 a\n2 b\n")
    }

    func testImageFolderEmptyClassIsNamed() throws {
        let top = temporaryDirectory()
        try TestData.write([1], top, "cat/1.png")
        try FileManager.default.createDirectory(atPath: top + "/dog", withIntermediateDirectories: true)
        try TestData.write([1], top, "dog/.DS_Store")
        TestData.assertThrows(["\(top)/dog", "without images"]) { try ImageFolderDataset(root: top) }
        TestData.assertThrows(["no class sub-folders"]) { try ImageFolderDataset(root: temporaryDirectory()) }
    }

    func testClassIDMapSplitsAtFirstDelimiter() throws {
        let path = try TestData.write(Array("0 tench, Tinca tinca\n1 goldfish\n\n2 great white shark\r\n".utf8), root, "map.txt")
        let map = try ClassIDMap.read(path)
        XCTAssertEqual(map.name(for: 0), "tench, Tinca tinca")
        XCTAssertEqual(map.name(for: 2), "great white shark")
        XCTAssertEqual(map.orderedNames, ["tench, Tinca tinca", "goldfish", "great white shark"])
        let tabbed = try TestData.write(Array("3\tAnkle boot\n".utf8), root, "tab.txt")
        XCTAssertEqual(try ClassIDMap.read(tabbed, delimiter: "\t").names, [3: "Ankle boot"])
        XCTAssertNil(try ClassIDMap.read(tabbed, delimiter: "\t").orderedNames)
    }

    func testClassIDMapErrors() throws {
        let bad = try TestData.write(Array("0 a\nx b\n".utf8), root, "bad.txt")
        TestData.assertThrows(["\(bad):2:", "'x' is not an integer"]) { try ClassIDMap.read(bad) }
        let dup = try TestData.write(Array("0 a\n1 b\n0 c\n".utf8), root, "dup.txt")
        TestData.assertThrows(["\(dup):3:", "first on line 1"]) { try ClassIDMap.read(dup) }
        TestData.assertThrows(["does not exist"]) { try ClassIDMap.read(root + "/none.txt") }
    }

    func testCollectInferImages() throws {
        let top = temporaryDirectory()
        for name in ["z.png", "a/b.JPEG", ".h/c.jpg", "d.txt"] { try TestData.write([1], top, name) }
        XCTAssertEqual(try ImageFiles.collect(top), [top + "/a/b.JPEG", top + "/z.png"])
        XCTAssertEqual(try ImageFiles.collect(top + "/z.png"), [top + "/z.png"])
        TestData.assertThrows(["d.txt", "not an image"]) { try ImageFiles.collect(top + "/d.txt") }
    }
}
