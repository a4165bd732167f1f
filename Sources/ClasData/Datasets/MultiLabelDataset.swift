import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// PaddleClas's `MultiLabelDataset`: a list file of `<path><delimiter><v1>,<v2>,…,<vK>` lines, one integer target
/// per class or attribute (1 positive, 0 negative; -1 marks an unknown attribute, which `ATTRMetric` and
/// `MultiLabelLoss` with `weight_ratio` ignore).
///
/// The delimiter is a tab by default, as PaddleClas (which splits on tabs only). Every line must have the same
/// number of targets; that number is the class count and must equal `Arch.class_num` when the config gives it.
/// With `labelRatio`, each class's mean target over the list is kept (PaddleClas's `label_ratio: True`), which
/// `MultiLabelLoss`'s `weight_ratio` uses to weight rare positives up. Errors name the list file and line.
public struct MultiLabelDataset: ImageDataset {
    public let paths: [String]
    /// Row-major targets: `targets[i * classCount + k]`.
    public let targets: [Float]
    public let classCount: Int
    public let classNames: [String]?
    public let labelRatio: [Float]?

    /// Reads the list.
    /// - Parameters:
    ///   - imageRoot: folder that relative paths are joined to (`image_root`).
    ///   - listPath: the list file (`cls_label_path`).
    ///   - delimiter: separator between the path and the targets (`delimiter`, default a tab).
    ///   - labelRatio: keep each class's mean target (`label_ratio`).
    ///   - classCount: `Arch.class_num`, if known: every line must have that many targets.
    ///   - checkFiles: verify that every image exists.
    public init(imageRoot: String, listPath: String, delimiter: String = "\t", labelRatio: Bool = false,
                classCount: Int? = nil, classNames: [String]? = nil, checkFiles: Bool = true) throws {
        try ListFileChecks.before(list: listPath, key: "cls_label_path", imageRoot: imageRoot, delimiter: delimiter)
        var paths: [String] = [], targets: [Float] = [], width: Int?
        for (i, rawLine) in try TextFile.read(listPath).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            .enumerated()
        {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            guard let cut = line.range(of: delimiter) else {
                throw DatasetError(file: listPath, line: i + 1, "expected '<image path>\(Self.show(delimiter))0,1,0,…', "
                                   + "got '\(line)' (no delimiter \(Self.show(delimiter)) found)")
            }
            let fields = line[cut.upperBound...].split(separator: ",", omittingEmptySubsequences: false)
            var row: [Float] = []
            for f in fields {
                guard let v = Int(f.trimmingCharacters(in: .whitespaces)), v >= -1 else {
                    throw DatasetError(file: listPath, line: i + 1, "target '\(f)' is not an integer ≥ -1 (expected "
                                       + "comma-separated 0/1 values such as 0,1,0)")
                }
                row.append(Float(v))
            }
            let expected = classCount ?? width ?? row.count
            guard row.count == expected else {
                let why = classCount != nil ? "Arch.class_num is \(expected)" : "the first line has \(expected)"
                throw DatasetError(file: listPath, line: i + 1, "\(row.count) targets, but \(why)")
            }
            width = expected
            paths.append(ImageFiles.join(imageRoot, String(line[..<cut.lowerBound])))
            targets += row
        }
        try ListFileChecks.after(paths, list: listPath, imageRoot: imageRoot, checkFiles: checkFiles)
        guard let width else { throw DatasetError(file: listPath, "the list file has no samples") }
        self.paths = paths
        self.targets = targets
        self.classCount = width
        self.classNames = classNames
        if labelRatio {
            var sums = [Double](repeating: 0, count: width)
            for (j, v) in targets.enumerated() { sums[j % width] += Double(v) }
            self.labelRatio = sums.map { Float($0 / Double(paths.count)) }
        } else {
            self.labelRatio = nil
        }
    }

    public var count: Int { paths.count }
    /// The path and -1 (there is no single label).
    public func sample(at index: Int) -> (path: String, label: Int) { (paths[index], -1) }
    public func targetVector(at index: Int) -> [Float]? { Array(targets[index * classCount..<(index + 1) * classCount]) }

    private static func show(_ delimiter: String) -> String {
        delimiter == " " ? "' ' (one space)" : delimiter == "\t" ? "'\\t' (tab)" : "'\(delimiter)'"
    }
}
