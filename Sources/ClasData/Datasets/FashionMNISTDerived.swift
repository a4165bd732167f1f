import ClasTensor
import Foundation

/// Multi-label and attribute data sets derived from Fashion-MNIST, in PaddleClas's `MultiLabelDataset` layout
/// (`images/<split>/<index>.png<TAB>0,1,0,…` in `train_list.txt` / `test_list.txt`, names in `label_list.txt`):
///
/// * **multilabel** (`tools dataset fashion-mnist-multilabel`): 56×56 mosaics of 2×2 items drawn at random
///   (without replacement within a mosaic) from the same Fashion-MNIST split; the 10 targets say which classes
///   appear (1 to 4 positives, 3.4 on average).
/// * **attributes** (`tools dataset fashion-mnist-attributes`): single 28×28 items with the 9 attributes of
///   ``attributeNames``, 8 derived from the class and `light_colored` from the pixels; `long_sleeves` is unknown
///   (-1) for dresses, which come with and without sleeves.
///
/// Everything depends only on the seed and the counts: the same arguments give the same files. Test images come
/// from the Fashion-MNIST test split, so no training item appears in a test image.
public enum FashionMNISTDerived {
    public enum Kind: String, CaseIterable, Sendable { case multilabel, attributes }

    /// The attributes of the `attributes` kind, with the Fashion-MNIST classes that have them.
    public static let attributes: [(name: String, classes: Set<Int>)] = [
        ("upper_body", [0, 2, 4, 6]),      // T-shirt/top, Pullover, Coat, Shirt
        ("covers_legs", [1, 3]),           // Trouser, Dress
        ("footwear", [5, 7, 9]),           // Sandal, Sneaker, Ankle boot
        ("long_sleeves", [2, 4, 6]),       // Pullover, Coat, Shirt (Dress: unknown)
        ("cold_weather", [2, 4, 9]),       // Pullover, Coat, Ankle boot
        ("open_footwear", [5]),            // Sandal
        ("accessory", [8]),                // Bag
        ("one_piece", [3]),                // Dress
        ("light_colored", []),             // from the pixels, see `lightThreshold`
    ]
    public static var attributeNames: [String] { attributes.map(\.name) }

    /// `light_colored` is 1 when the mean of the item's non-zero pixels exceeds this (the median over the 60,000
    /// training items is 150.7).
    public static let lightThreshold = 150.0

    /// The targets of one item of class `label` with pixels `pixels`.
    public static func attributeTargets(label: Int, pixels: ArraySlice<UInt8>) -> [Int] {
        var out = attributes.dropLast().map { $0.classes.contains(label) ? 1 : 0 }
        if label == 3 { out[3] = -1 }
        let lit = pixels.filter { $0 > 0 }
        let mean = lit.isEmpty ? 0 : Double(lit.reduce(0) { $0 + Int($1) }) / Double(lit.count)
        out.append(mean > lightThreshold ? 1 : 0)
        return out
    }

    /// Builds (or finds complete) the `kind` data set at `destination` with `trainCount` / `testCount` images.
    @discardableResult
    public static func build(_ kind: Kind, from source: String = FashionMNIST.defaultSource, to destination: String,
                             trainCount: Int, testCount: Int, seed: UInt64,
                             threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> (train: Int, test: Int, complete: Bool) {
        let stamp = "fashion-mnist-\(kind.rawValue) train=\(trainCount) test=\(testCount) seed=\(seed)\n"
        let marker = destination + "/.complete"
        if (try? String(contentsOfFile: marker, encoding: .utf8)) == stamp { return (trainCount, testCount, true) }
        let fm = FileManager.default
        for stale in [marker, destination + "/images"] where fm.fileExists(atPath: stale) { try fm.removeItem(atPath: stale) }
        for (split, count) in [("train", trainCount), ("test", testCount)] {
            let items = try FashionMNIST.read(split: split, from: source)
            guard count >= 1, kind == .multilabel || count <= items.count else {
                throw DatasetError(file: source, "\(split): \(count) images requested, \(kind == .attributes ? "1...\(items.count)" : "at least 1") possible")
            }
            try fm.createDirectory(atPath: "\(destination)/images/\(split)", withIntermediateDirectories: true)
            var rng = RandomState(seed: seed, stream: split == "train" ? 1 : 2)
            // Item indices per image: 4 distinct ones per mosaic, or a random subset of single items.
            let picks: [[Int]] = kind == .multilabel
                ? (0..<count).map { _ in distinct(4, below: items.count, &rng) }
                : distinct(count, below: items.count, &rng).map { [$0] }
            var lines = [String](repeating: "", count: count)
            try parallel(count, threads: threads) { i in
                let (image, targets) = kind == .multilabel ? mosaic(items, picks[i]) : single(items, picks[i][0])
                let rel = "images/\(split)/\(String(i).leftPadded(to: 6)).png"
                try FileIO.write(try ImageCodec.encodePNG(image), to: destination + "/" + rel, durable: false)
                return rel + "\t" + targets.map(String.init).joined(separator: ",")
            } store: { lines[$0] = $1 }
            try FileIO.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: "\(destination)/\(split)_list.txt")
        }
        let names = kind == .multilabel ? FashionMNIST.classNames : attributeNames
        try ClassIDMap(names: names).write(to: destination + "/label_list.txt")
        try FileIO.write(Array(stamp.utf8), to: marker)
        return (trainCount, testCount, false)
    }

    /// 2×2 tiles of the items, row by row; targets: which classes appear.
    static func mosaic(_ s: FashionMNIST.Split, _ picks: [Int]) -> (Image, [Int]) {
        let (h, w) = (s.rows, s.cols)
        var pixels = [UInt8](repeating: 0, count: 4 * h * w)
        var targets = [Int](repeating: 0, count: 10)
        for (tile, item) in picks.enumerated() {
            targets[Int(s.labels[item])] = 1
            let (ty, tx) = (tile / 2 * h, tile % 2 * w)
            for y in 0..<h {
                for x in 0..<w { pixels[(ty + y) * 2 * w + tx + x] = s.images[item * h * w + y * w + x] }
            }
        }
        return (Image(width: 2 * w, height: 2 * h, channels: 1, pixels: pixels), targets)
    }

    static func single(_ s: FashionMNIST.Split, _ item: Int) -> (Image, [Int]) {
        let n = s.rows * s.cols
        let pixels = s.images[item * n..<(item + 1) * n]
        return (Image(width: s.cols, height: s.rows, channels: 1, pixels: Array(pixels)),
                attributeTargets(label: Int(s.labels[item]), pixels: pixels))
    }

    /// `k` distinct integers below `n` (k ≤ n), in draw order: rejection for a few, else a partial Fisher–Yates shuffle.
    public static func distinct(_ k: Int, below n: Int, _ rng: inout RandomState) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(k)
        if k * 8 <= n {
            while out.count < k {
                let v = rng.int(below: n)
                if !out.contains(v) { out.append(v) }
            }
            return out
        }
        var pool = Array(0..<n)
        for i in 0..<k {
            pool.swapAt(i, i + rng.int(below: n - i))
            out.append(pool[i])
        }
        return out
    }

    /// Runs `work` for 0..<count on `threads` threads; results are stored in index order by `store` (serialised).
    private static func parallel(_ count: Int, threads: Int, _ work: @escaping (Int) throws -> String,
                                 store: (Int, String) -> Void) throws {
        let lock = NSLock()
        var results = [String?](repeating: nil, count: count), firstError: Error?
        DispatchQueue.concurrentPerform(iterations: max(1, threads)) { t in
            var i = t
            while i < count {
                do {
                    let line = try work(i)
                    lock.withLock { results[i] = line }
                } catch {
                    lock.withLock { if firstError == nil { firstError = error } }
                    return
                }
                i += max(1, threads)
            }
        }
        if let firstError { throw firstError }
        for (i, r) in results.enumerated() { store(i, r ?? "") }
    }
}
