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
/// makes the conversion idempotent; a different `limit` reconverts.
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
    ///   - threads: PNG encoders running in parallel (default: all cores).
    public static func convert(from source: String = defaultSource, to destination: String, limit: Int? = nil,
                               threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> Summary {
        let marker = destination + "/.complete"
        let limitText = "limit=\(limit.map(String.init) ?? "none")"
        if let done = try? String(contentsOfFile: marker, encoding: .utf8), let counts = parseStamp(done, limitText) {
            return Summary(destination: destination, trainCount: counts.train, testCount: counts.test, alreadyComplete: true)
        }
        let train = try read(split: "train", from: source, limit: limit)
        let test = try read(split: "test", from: source, limit: limit)
        let stamp = "fashion-mnist train=\(train.count) test=\(test.count) \(limitText)\n"
        let fm = FileManager.default
        for stale in [marker, destination + "/images"] where fm.fileExists(atPath: stale) {
            do { try fm.removeItem(atPath: stale) } catch {
                throw DatasetError(file: stale, "cannot remove an incomplete earlier conversion: \(error.localizedDescription)")
            }
        }
        for (name, split) in [("train", train), ("test", test)] {
            for label in Set(split.labels).sorted() {
                let dir = "\(destination)/images/\(name)/\(folderNames[Int(label)])"
                do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                    throw DatasetError(file: dir, "cannot create folder: \(error.localizedDescription)")
                }
            }
            try writeImages(split, name: name, destination: destination, threads: max(1, threads))
            let list = (0..<split.count).map { "\(relativePath(split: name, index: $0, label: Int(split.labels[$0]))) "
                + "\(split.labels[$0])\n" }.joined()
            try FileIO.write(Array(list.utf8), to: "\(destination)/\(name)_list.txt")
        }
        try ClassIDMap(names: classNames).write(to: destination + "/label_list.txt")
        try FileIO.write(Array(stamp.utf8), to: marker)
        return Summary(destination: destination, trainCount: train.count, testCount: test.count, alreadyComplete: false)
    }

    /// `images/<split>/<class folder>/<index>.png`.
    public static func relativePath(split: String, index: Int, label: Int) -> String {
        "images/\(split)/\(folderNames[label])/\(String(index).leftPadded(to: 5)).png"
    }

    /// The counts in a marker written for the same limit, else nil.
    private static func parseStamp(_ text: String, _ limitText: String) -> (train: Int, test: Int)? {
        let fields = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
        guard fields.count == 4, fields[0] == "fashion-mnist", fields[3] == limitText,
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

    private static func writeImages(_ split: Split, name: String, destination: String, threads: Int) throws {
        let pixels = split.rows * split.cols
        let lock = NSLock()
        var firstError: Error?
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var i = t
            while i < split.count {
                if lock.withLock({ firstError != nil }) { return }
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
                i += threads
            }
        }
        if let firstError { throw firstError }
    }
}
