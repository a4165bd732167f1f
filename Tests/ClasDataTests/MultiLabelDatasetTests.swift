import ClasData
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// PaddleClas's `MultiLabelDataset` list format and the derived multi-label / attribute Fashion-MNIST sets.
final class MultiLabelDatasetTests: XCTestCase {
    private var root = ""

    override func setUp() {
        root = temporaryDirectory()
        for name in ["a.png", "b.png", "c.png"] { _ = try? TestData.write([1], root, name) }
    }

    private func list(_ text: String) throws -> String { try TestData.write(Array(text.utf8), root, "list.txt") }

    func testReadsTargetVectorsAndLabelRatio() throws {
        let path = try list("a.png\t1,0,1\n\nb.png\t0,0,1\r\nc.png\t1,-1,1\n")
        let ds = try MultiLabelDataset(imageRoot: root, listPath: path, labelRatio: true)
        XCTAssertEqual(ds.count, 3)
        XCTAssertEqual(ds.classCount, 3)
        XCTAssertTrue(ds.isMultiLabel)
        XCTAssertEqual(ds.targetVector(at: 2), [1, -1, 1])
        XCTAssertTrue(ds.sample(at: 1) == (root + "/b.png", -1), "no single label")
        // PaddleClas: the mean of the raw targets per class (an unknown -1 included).
        let expected: [Float] = [2.0 / 3, -1.0 / 3, 1]
        for (r, e) in zip(ds.labelRatio ?? [], expected) { XCTAssertEqual(r, e, accuracy: 1e-6) }
        XCTAssertNil(try MultiLabelDataset(imageRoot: root, listPath: path).labelRatio)
        XCTAssertFalse(try ImageNetDataset(imageRoot: root, listPath: list("a.png 0\n")).isMultiLabel)
    }

    func testErrorsNameTheLine() throws {
        let ragged = try list("a.png\t1,0,1\nb.png\t0,1\n")
        TestData.assertThrows(["\(ragged):2:", "2 targets", "first line has 3"]) {
            try MultiLabelDataset(imageRoot: root, listPath: ragged)
        }
        TestData.assertThrows(["\(ragged):1:", "3 targets", "Arch.class_num is 2"]) {
            try MultiLabelDataset(imageRoot: root, listPath: ragged, classCount: 2)
        }
        let spaces = try list("a.png 1,0,1\n")
        TestData.assertThrows(["\(spaces):1:", "no delimiter '\\t' (tab)"]) { try MultiLabelDataset(imageRoot: root, listPath: spaces) }
        XCTAssertEqual(try MultiLabelDataset(imageRoot: root, listPath: spaces, delimiter: " ").targetVector(at: 0), [1, 0, 1])
        let word = try list("a.png\t1,yes,0\n")
        TestData.assertThrows(["\(word):1:", "target 'yes'"]) { try MultiLabelDataset(imageRoot: root, listPath: word) }
        let missing = try list("a.png\t1\nnope.png\t0\n")
        TestData.assertThrows(["1 of 2 listed images", "nope.png"]) { try MultiLabelDataset(imageRoot: root, listPath: missing) }
    }

    func testDerivedFashionMNISTIsDeterministicAndConsistent() throws {
        guard FileManager.default.fileExists(atPath: FashionMNIST.defaultSource) else {
            throw XCTSkip("\(FashionMNIST.defaultSource) is absent (Debian package dataset-fashion-mnist)")
        }
        let a = temporaryDirectory() + "/a", b = temporaryDirectory() + "/b"
        try FashionMNISTDerived.build(.multilabel, to: a, trainCount: 12, testCount: 4, seed: 5)
        try FashionMNISTDerived.build(.multilabel, to: b, trainCount: 12, testCount: 4, seed: 5)
        let listA = try String(contentsOfFile: a + "/train_list.txt", encoding: .utf8)
        XCTAssertEqual(listA, try String(contentsOfFile: b + "/train_list.txt", encoding: .utf8))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a + "/images/train/000003.png")),
                       try Data(contentsOf: URL(fileURLWithPath: b + "/images/train/000003.png")))
        XCTAssertTrue(try FashionMNISTDerived.build(.multilabel, to: a, trainCount: 12, testCount: 4, seed: 5).complete)
        let ds = try MultiLabelDataset(imageRoot: a, listPath: a + "/train_list.txt", classCount: 10)
        XCTAssertEqual(ds.count, 12)
        // Each mosaic is 56x56 and shows 1 to 4 classes; its tiles are the items of the positive classes.
        let train = try FashionMNIST.read(split: "train")
        var rng = RandomState(seed: 5, stream: 1)
        let picks = FashionMNISTDerived.distinct(4, below: train.count, &rng)
        let image = try ImageCodec.decode(try FileIO.read(a + "/images/train/000000.png"))
        XCTAssertEqual([image.width, image.height], [56, 56])
        XCTAssertEqual(Set(picks.map { Int(train.labels[$0]) }), Set((0..<10).filter { ds.targetVector(at: 0)?[$0] == 1 }))
        let c = image.channels, item = picks[3] * 784
        let tileRow: [UInt8] = (28..<56).map { image.pixels[(28 * 56 + $0) * c] }
        let itemRow: [UInt8] = Array(train.images[item..<item + 28])
        XCTAssertEqual(tileRow, itemRow, "bottom-right tile, first row")
        for i in 0..<ds.count { XCTAssertTrue((1...4).contains(ds.targetVector(at: i)?.reduce(0, +) ?? 0)) }
        XCTAssertNotEqual(listA, try { try FashionMNISTDerived.build(.multilabel, to: b, trainCount: 12, testCount: 4, seed: 6)
            return try String(contentsOfFile: b + "/train_list.txt", encoding: .utf8) }(), "another seed, other mosaics")

        let attr = temporaryDirectory() + "/attr"
        try FashionMNISTDerived.build(.attributes, to: attr, trainCount: 40, testCount: 8, seed: 1)
        let at = try MultiLabelDataset(imageRoot: attr, listPath: attr + "/train_list.txt", labelRatio: true)
        XCTAssertEqual(at.classCount, FashionMNISTDerived.attributeNames.count)
        XCTAssertEqual(try String(contentsOfFile: attr + "/label_list.txt", encoding: .utf8).split(separator: "\n").count, 9)
        XCTAssertEqual(FashionMNISTDerived.attributeTargets(label: 3, pixels: [200, 0, 200]), [0, 1, 0, -1, 0, 0, 0, 1, 1],
                       "a light dress: covers legs, one piece, sleeves unknown")
        XCTAssertEqual(FashionMNISTDerived.attributeTargets(label: 9, pixels: [100, 0]), [0, 0, 1, 0, 1, 0, 0, 0, 0])
    }
}
