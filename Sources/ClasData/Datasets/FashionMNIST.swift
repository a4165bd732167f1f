import ClasTensor
import Foundation

/// Converts the Fashion-MNIST IDX files into a folder both dataset kinds can read:
///
///     <dest>/images/train/<class folder>/<index>.png   (28x28 gray PNG; index within the split, 5 digits)
///     <dest>/images/test/<class folder>/<index>.png
///     <dest>/train_list.txt, test_list.txt            (`images/train/Coat/00019.png 4`, relative to <dest>)
///     <dest>/label_list.txt                           (`<id> <name>` with the real names, e.g. `0 T-shirt/top`)
///
/// so `ImageNetDataset(imageRoot: dest, listPath: dest/train_list.txt)` and
/// `ImageFolderDataset(root: dest/images/train)` give the same samples with the same labels (folder names are the
/// class names with '/' and ' ' made safe, which keeps the label order; with a `limit`, classes absent from the
/// first `limit` samples get no folder, so the folder view may then have fewer classes). A marker file `.complete`, written last,
/// makes the conversion idempotent; a different `limit` or ``Subset`` reconverts.
///
/// A ``Subset`` keeps some classes (relabelled 0, 1, … in the order given; `label_list.txt` names them) and at most
/// N training images per class (the first N in IDX order; the test split keeps every image of the kept classes), so
/// transfer experiments can pretrain on some classes and fine-tune on a few images of the others.
public enum FashionMNIST {
    /// The Debian `dataset-fashion-mnist` location.
    public static let defaultSource = "/usr/share/datasets/fashion-mnist"
    /// The ten class names, by label.
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                    "Sneaker", "Bag", "Ankle boot"]
    /// Folder-safe names, by label (`T-shirt_top`, `Ankle_boot`, ...).
    public static let folderNames = classNames.map {
        String($0.map { $0 == "/" || $0 == " " ? "_" : $0 })
    }

    /// What `convert` did.
    public struct Summary: Sendable {
        public let destination: String
        public let trainCount: Int
        public let testCount: Int
        /// True when a complete earlier conversion was found and nothing was written.
        public let alreadyComplete: Bool
    }

    /// Which classes and how many training images of each a conversion keeps.
    public struct Subset: Sendable, Equatable {
        /// Original labels to keep, in their new order (nil: all ten).
        public var classes: [Int]?
        /// At most this many training images per kept class (nil: all).
        public var trainPerClass: Int?

        public init(classes: [Int]? = nil, trainPerClass: Int? = nil) {
            self.classes = classes
            self.trainPerClass = trainPerClass
        }

        /// Parses `0-4`, `5,6,7`, `0-2,9`: original labels 0…9, no repeats.
        public static func parseClasses(_ text: String) throws -> [Int] {
            var result: [Int] = []
            for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
                guard (1...2).contains(bounds.count), let lo = bounds[0], let hi = bounds.last!, lo <= hi,
                      (0...9).contains(lo), (0...9).contains(hi) else {
                    throw DatasetError(file: "--classes", "'\(part)' is not a label or range of labels in 0...9 "
                                       + "(e.g. 0-4 or 5,7,9)")
                }
                for c in lo...hi {
                    guard !result.contains(c) else { throw DatasetError(file: "--classes", "label \(c) is given twice") }
                    result.append(c)
                }
            }
            guard !result.isEmpty else { throw DatasetError(file: "--classes", "no labels given") }
            return result
        }

        var isEmpty: Bool { classes == nil && trainPerClass == nil }
        var stampText: String {
            isEmpty ? "" : " classes=\((classes ?? Array(0..<10)).map(String.init).joined(separator: ","))"
                + " train_per_class=\(trainPerClass.map(String.init) ?? "all")"
        }

        /// The indices of `labels` this subset keeps, and each one's new label.
        func select(_ labels: [UInt8], isTrain: Bool) -> [(index: Int, label: Int)] {
            let order = classes ?? Array(0..<10)
            var seen = [Int](repeating: 0, count: 10)
            var kept: [(Int, Int)] = []
            for (i, l) in labels.enumerated() {
                guard let new = order.firstIndex(of: Int(l)) else { continue }
                if isTrain, let cap = trainPerClass, seen[Int(l)] >= cap { continue }
                seen[Int(l)] += 1
                kept.append((i, new))
            }
            return kept
        }
    }

    /// One split read from the IDX files: `count` images of `rows` x `cols` bytes and their labels.
    public struct Split: Sendable {
        public let images: [UInt8]
        public let labels: [UInt8]
        public let count: Int
        public let rows: Int
        public let cols: Int
    }

    /// Reads and validates split `train` or `test` (`t10k`) from `source`, keeping the first `limit` samples.
    public static func read(split: String, from source: String = defaultSource, limit: Int? = nil) throws -> Split {
        let prefix = split == "train" ? "train" : "t10k"
        let imagesPath = try locate("\(prefix)-images-idx3-ubyte", in: source)
        let labelsPath = try locate("\(prefix)-labels-idx1-ubyte", in: source)
        let images = try IDXFile.read(imagesPath, expectedMagic: 2051)
        let labels = try IDXFile.read(labelsPath, expectedMagic: 2049)
        guard images.dimensions.count == 3, images.dimensions[1] > 0, images.dimensions[2] > 0 else {
            throw DatasetError(file: imagesPath, "expected dimensions [count, rows, cols], got \(images.dimensions)")
        }
        guard labels.dimensions.count == 1, labels.dimensions[0] == images.dimensions[0] else {
            throw DatasetError(file: labelsPath, "has \(labels.dimensions) labels for \(images.dimensions[0]) images")
        }
        if let bad = labels.data.firstIndex(where: { $0 >= 10 }) {
            throw DatasetError(file: labelsPath, "label \(labels.data[bad]) at index \(bad) is not in 0...9")
        }
        let (rows, cols) = (images.dimensions[1], images.dimensions[2])
        let count = min(images.dimensions[0], max(0, limit ?? Int.max))
        return Split(images: Array(images.data.prefix(count * rows * cols)), labels: Array(labels.data.prefix(count)),
                     count: count, rows: rows, cols: cols)
    }

    /// Converts (or finds already converted) Fashion-MNIST at `destination`.
    /// - Parameters:
    ///   - limit: keep only the first `limit` samples of each split (for tests).
    ///   - subset: classes and training images per class to keep (default: everything).
    ///   - threads: PNG encoders running in parallel (default: all cores).
    public static func convert(from source: String = defaultSource, to destination: String, limit: Int? = nil,
                               subset: Subset = Subset(),
                               threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> Summary {
        let marker = destination + "/.complete"
        let limitText = "limit=\(limit.map(String.init) ?? "none")" + subset.stampText
        if let done = try? String(contentsOfFile: marker, encoding: .utf8), let counts = parseStamp(done, limitText) {
            return Summary(destination: destination, trainCount: counts.train, testCount: counts.test, alreadyComplete: true)
        }
        let train = try read(split: "train", from: source, limit: limit)
        let test = try read(split: "test", from: source, limit: limit)
        let kept = [subset.select(train.labels, isTrain: true), subset.select(test.labels, isTrain: false)]
        let stamp = "fashion-mnist train=\(kept[0].count) test=\(kept[1].count) \(limitText)\n"
        let fm = FileManager.default
        for stale in [marker, destination + "/images"] where fm.fileExists(atPath: stale) {
            do { try fm.removeItem(atPath: stale) } catch {
                throw DatasetError(file: stale, "cannot remove an incomplete earlier conversion: \(error.localizedDescription)")
            }
        }
        for (name, split, keep) in [("train", train, kept[0]), ("test", test, kept[1])] {
            for label in Set(keep.map { split.labels[$0.index] }).sorted() {
                let dir = "\(destination)/images/\(name)/\(folderNames[Int(label)])"
                do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                    throw DatasetError(file: dir, "cannot create folder: \(error.localizedDescription)")
                }
            }
            try writeImages(split, indices: keep.map(\.index), name: name, destination: destination,
                            threads: max(1, threads))
            let list = keep.map { "\(relativePath(split: name, index: $0.index, label: Int(split.labels[$0.index]))) "
                + "\($0.label)\n" }.joined()
            try FileIO.write(Array(list.utf8), to: "\(destination)/\(name)_list.txt")
        }
        try ClassIDMap(names: (subset.classes ?? Array(0..<10)).map { classNames[$0] })
            .write(to: destination + "/label_list.txt")
        try FileIO.write(Array(stamp.utf8), to: marker)
        return Summary(destination: destination, trainCount: kept[0].count, testCount: kept[1].count,
                       alreadyComplete: false)
    }

    /// `images/<split>/<class folder>/<index>.png`.
    public static func relativePath(split: String, index: Int, label: Int) -> String {
        "images/\(split)/\(folderNames[label])/\(String(index).leftPadded(to: 5)).png"
    }

    /// The counts in a marker written for the same limit, else nil.
    private static func parseStamp(_ text: String, _ limitText: String) -> (train: Int, test: Int)? {
        let fields = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
        guard fields.count >= 4, fields[0] == "fashion-mnist", fields[3...].joined(separator: " ") == limitText,
              fields[1].hasPrefix("train="), fields[2].hasPrefix("test="),
              let train = Int(fields[1].dropFirst(6)), let test = Int(fields[2].dropFirst(5)) else { return nil }
        return (train, test)
    }

    private static func locate(_ name: String, in source: String) throws -> String {
        for candidate in ["\(source)/\(name).gz", "\(source)/\(name)"] where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        throw DatasetError(file: "\(source)/\(name).gz", "Fashion-MNIST file is missing (install dataset-fashion-mnist "
                           + "or pass the folder holding the IDX files)")
    }

    private static func writeImages(_ split: Split, indices: [Int], name: String, destination: String,
                                    threads: Int) throws {
        let pixels = split.rows * split.cols
        let lock = NSLock()
        var firstError: Error?
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var k = t
            while k < indices.count {
                if lock.withLock({ firstError != nil }) { return }
                let i = indices[k]
                do {
                    let start = i * pixels
                    let img = Image(width: split.cols, height: split.rows, channels: 1,
                                    pixels: Array(split.images[start..<start + pixels]))
                    let path = destination + "/" + relativePath(split: name, index: i, label: Int(split.labels[i]))
                    try FileIO.write(try ImageCodec.encodePNG(img), to: path, durable: false)
                } catch {
                    lock.withLock { if firstError == nil { firstError = error } }
                    return
                }
                k += threads
            }
        }
        if let firstError { throw firstError }
    }
}
