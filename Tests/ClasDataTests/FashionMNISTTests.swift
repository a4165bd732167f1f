import ClasData
import Foundation
import XCTest
import _ClasTestSupport

/// The Fashion-MNIST converter against the IDX bytes, and its error handling.
final class FashionMNISTTests: XCTestCase {
    private let source = FashionMNIST.defaultSource

    private func requireSource() throws {
        guard FileManager.default.fileExists(atPath: source + "/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("\(source) is absent (Debian package dataset-fashion-mnist); skipping the converter test")
        }
    }

    func testConvertWithLimitMatchesIDXBytesAndLabels() throws {
        try requireSource()
        let dest = temporaryDirectory() + "/fmnist"
        let summary = try FashionMNIST.convert(from: source, to: dest, limit: 40)
        XCTAssertEqual(summary.trainCount, 40)
        XCTAssertEqual(summary.testCount, 40)
        XCTAssertFalse(summary.alreadyComplete)

        for split in ["train", "test"] {
            let raw = try FashionMNIST.read(split: split, from: source, limit: 40)
            XCTAssertEqual(raw.rows, 28)
            XCTAssertEqual(raw.cols, 28)
            let listPath = "\(dest)/\(split)_list.txt"
            let lines = try String(contentsOfFile: listPath, encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(lines.count, 40)
            let ds = try ImageNetDataset(imageRoot: dest, listPath: listPath, classCount: 10)
            for i in [0, 1, 17, 39] {
                let (path, label) = ds.sample(at: i)
                XCTAssertEqual(label, Int(raw.labels[i]))
                XCTAssertTrue(path.hasSuffix("/images/\(split)/\(FashionMNIST.folderNames[label])/\(String(format: "%05d", i)).png"), path)
                let img = try ImageCodec.decodeFile(path)
                XCTAssertEqual(img.sizeDescription, "28x28x3")
                for p in stride(from: 0, to: 784, by: 13) {
                    XCTAssertEqual(img.pixels[p * 3], raw.images[i * 784 + p], "\(split) image \(i) pixel \(p)")
                    XCTAssertEqual(img.pixels[p * 3 + 2], raw.images[i * 784 + p])
                }
            }
            // The folder view gives the same samples with the same labels.
            let folder = try ImageFolderDataset(root: "\(dest)/images/\(split)")
            XCTAssertEqual(folder.names.count, Set(ds.labels).count)
            let byPath = Dictionary(uniqueKeysWithValues: zip(ds.paths, ds.labels))
            for k in 0..<folder.count {
                let (path, label) = folder.sample(at: k)
                XCTAssertEqual(folder.names[label], FashionMNIST.folderNames[byPath[path] ?? -1])
            }
        }
        // The first training image of Fashion-MNIST is an ankle boot (label 9).
        let train = try FashionMNIST.read(split: "train", from: source, limit: 1)
        XCTAssertEqual(train.labels, [9])

        let map = try ClassIDMap.read(dest + "/label_list.txt")
        XCTAssertEqual(map.orderedNames, FashionMNIST.classNames)
        XCTAssertEqual(map.name(for: 0), "T-shirt/top")
        XCTAssertEqual(FashionMNIST.folderNames[0], "T-shirt_top")
        XCTAssertEqual(FashionMNIST.folderNames[9], "Ankle_boot")

        let again = try FashionMNIST.convert(from: source, to: dest, limit: 40)
        XCTAssertTrue(again.alreadyComplete)
        let smaller = try FashionMNIST.convert(from: source, to: dest, limit: 5)
        XCTAssertFalse(smaller.alreadyComplete)
        XCTAssertEqual(try ImageFolderDataset(root: dest + "/images/test").count, 5, "no stale files from the larger run")
    }

    /// A class subset: only the kept classes, relabelled in the order given, at most N training images per class (the
    /// first ones in IDX order), every test image of those classes; a different subset reconverts.
    func testClassSubsetWithTrainingImagesPerClass() throws {
        try requireSource()
        let dest = temporaryDirectory() + "/fmnist-subset"
        let subset = FashionMNIST.Subset(classes: try FashionMNIST.Subset.parseClasses("7,5-6"), trainPerClass: 3)
        XCTAssertEqual(subset.classes, [7, 5, 6])
        let summary = try FashionMNIST.convert(from: source, to: dest, limit: 200, subset: subset)
        let train = try FashionMNIST.read(split: "train", from: source, limit: 200)
        let test = try FashionMNIST.read(split: "test", from: source, limit: 200)
        // Expected: the first 3 of each kept class (train), all kept (test), in IDX order, relabelled 7→0, 5→1, 6→2.
        func expected(_ split: FashionMNIST.Split, cap: Int?) -> [(Int, Int)] {
            var seen: [Int: Int] = [:], out: [(Int, Int)] = []
            for (i, l) in split.labels.enumerated() {
                guard let new = [7, 5, 6].firstIndex(of: Int(l)) else { continue }
                if let cap, seen[Int(l), default: 0] >= cap { continue }
                seen[Int(l), default: 0] += 1
                out.append((i, new))
            }
            return out
        }
        for (name, split, cap) in [("train", train, 3 as Int?), ("test", test, nil)] {
            let want = expected(split, cap: cap)
            let lines = try String(contentsOfFile: "\(dest)/\(name)_list.txt", encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(lines.count, want.count, name)
            XCTAssertEqual(name == "train" ? summary.trainCount : summary.testCount, want.count)
            for (line, (index, label)) in zip(lines, want) {
                XCTAssertEqual(String(line), "\(FashionMNIST.relativePath(split: name, index: index, label: Int(split.labels[index]))) \(label)")
            }
            let ds = try ImageNetDataset(imageRoot: dest, listPath: "\(dest)/\(name)_list.txt", classCount: 3)
            let (path, _) = ds.sample(at: 0)
            let img = try ImageCodec.decodeFile(path)
            XCTAssertEqual(img.pixels[300 * 3], split.images[want[0].0 * 784 + 300])
        }
        XCTAssertEqual(summary.trainCount, 9)
        XCTAssertEqual(try ClassIDMap.read(dest + "/label_list.txt").orderedNames, ["Sneaker", "Sandal", "Shirt"])
        XCTAssertTrue(try FashionMNIST.convert(from: source, to: dest, limit: 200, subset: subset).alreadyComplete)
        let other = try FashionMNIST.convert(from: source, to: dest, limit: 200, subset: .init(classes: [7, 5, 6], trainPerClass: 2))
        XCTAssertFalse(other.alreadyComplete)
        XCTAssertEqual(other.trainCount, 6)
        XCTAssertEqual(try String(contentsOfFile: "\(dest)/train_list.txt", encoding: .utf8).split(separator: "\n").count, 6)

        TestData.assertThrows(["'3-1'", "0...9"]) { try FashionMNIST.Subset.parseClasses("3-1") }
        TestData.assertThrows(["'12'"]) { try FashionMNIST.Subset.parseClasses("0,12") }
        TestData.assertThrows(["label 4 is given twice"]) { try FashionMNIST.Subset.parseClasses("0-4,4") }
    }

    func testMissingAndCorruptSources() throws {
        let empty = temporaryDirectory()
        TestData.assertThrows(["\(empty)/train-images-idx3-ubyte.gz", "missing"]) {
            try FashionMNIST.convert(from: empty, to: empty + "/out", limit: 1)
        }
        // A truncated gzip stream.
        try requireSource()
        let bad = temporaryDirectory()
        let gz = try Data(contentsOf: URL(fileURLWithPath: source + "/train-images-idx3-ubyte.gz"))
        try TestData.write(Array(gz.prefix(5000)), bad, "train-images-idx3-ubyte.gz")
        for name in ["train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: bad + "/" + name)
        }
        TestData.assertThrows(["train-images-idx3-ubyte.gz"]) { try FashionMNIST.read(split: "train", from: bad, limit: 3) }
        // Swapped files: the magic number is checked.
        let swapped = temporaryDirectory()
        try FileManager.default.copyItem(atPath: source + "/t10k-labels-idx1-ubyte.gz", toPath: swapped + "/t10k-images-idx3-ubyte.gz")
        try FileManager.default.copyItem(atPath: source + "/t10k-labels-idx1-ubyte.gz", toPath: swapped + "/t10k-labels-idx1-ubyte.gz")
        TestData.assertThrows(["t10k-images-idx3-ubyte.gz", "magic number is 2049, expected 2051"]) {
            try FashionMNIST.read(split: "test", from: swapped)
        }
    }

    func testIDXSizeMismatchIsReported() throws {
        let dir = temporaryDirectory()
        // Uncompressed IDX claiming 2 images of 2x2 but holding 7 data bytes.
        let path = try TestData.write([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7], dir, "x.idx")
        TestData.assertThrows(["x.idx", "need 8 data bytes", "has 7"]) { try IDXFile.read(path, expectedMagic: 2051) }
        let ok = try TestData.write([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9], dir, "y.idx")
        let idx = try IDXFile.read(ok, expectedMagic: 2049)
        XCTAssertEqual(idx.dimensions, [3])
        XCTAssertEqual(idx.data, [7, 8, 9])
    }
}
