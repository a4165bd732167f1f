import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// PaddleClas's `ImageNetDataset` (alias `ClsDataset`): a list file of `<path><delimiter><label>` lines.
///
/// Each line is stripped and split on the literal `delimiter` (default one space; so `a.jpg  3` with two spaces
/// has an empty second field, as in PaddleClas). Field 0 is joined to `imageRoot` (absolute paths win), field 1
/// is an integer label; further fields are ignored. Blank lines are skipped (PaddleClas would crash on them).
/// Errors name the list file and line: missing label, non-integer label, negative label, a label ≥ the declared
/// class count; missing image files are checked up front and reported together (up to `maxReported`).
public struct ImageNetDataset: ImageDataset {
    /// Full image paths, in list order.
    public let paths: [String]
    /// Labels, in list order (after relabelling).
    public let labels: [Int]
    public let classCount: Int
    public let classNames: [String]?
    /// With `relabel`, the original label of each new label (sorted ascending); otherwise nil.
    public let originalLabels: [Int]?

    /// How many missing files an error lists by name.
    public static let maxReported = 20

    /// Reads the list.
    /// - Parameters:
    ///   - imageRoot: folder that relative paths are joined to.
    ///   - listPath: the list file (`cls_label_path`).
    ///   - delimiter: field separator (`delimiter`, default one space).
    ///   - relabel: map the distinct labels, sorted, to 0 ..< n (labels may then be any integers).
    ///   - classCount: the model's class count (`Arch.class_num`), if known; labels must be below it.
    ///   - classNames: names by label, if known (e.g. from a `class_id_map_file`).
    ///   - checkFiles: verify that every image exists (on by default, as PaddleClas asserts).
    public init(imageRoot: String, listPath: String, delimiter: String = " ", relabel: Bool = false,
                classCount: Int? = nil, classNames: [String]? = nil, checkFiles: Bool = true) throws {
        try ListFileChecks.before(list: listPath, key: "cls_label_path", imageRoot: imageRoot, delimiter: delimiter)
        let text = try TextFile.read(listPath)
        var paths: [String] = [], labels: [Int] = [], lineNumbers: [Int] = []
        for (i, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let fields = line.components(separatedBy: delimiter)
            guard fields.count >= 2 else {
                throw DatasetError(file: listPath, line: i + 1,
                                   "expected '<image path>\(Self.show(delimiter))<label>', got '\(line)' (no delimiter "
                                   + "\(Self.show(delimiter)) found)")
            }
            guard let label = Int(fields[1].trimmingCharacters(in: .whitespaces)) else {
                throw DatasetError(file: listPath, line: i + 1,
                                   "label '\(fields[1])' is not an integer (line '\(line)', delimiter \(Self.show(delimiter)))")
            }
            if !relabel {
                guard label >= 0 else {
                    throw DatasetError(file: listPath, line: i + 1, "label \(label) is negative (use relabel: True to map "
                                       + "arbitrary integer labels to 0..n-1)")
                }
                if let classCount, label >= classCount {
                    throw DatasetError(file: listPath, line: i + 1,
                                       "label \(label) is not below the class count \(classCount) (Arch.class_num, or the "
                                       + "training data's classes for an evaluation list)")
                }
            }
            paths.append(ImageFiles.join(imageRoot, fields[0]))
            labels.append(label)
            lineNumbers.append(i + 1)
        }
        try ListFileChecks.after(paths, lines: lineNumbers, list: listPath, imageRoot: imageRoot, checkFiles: checkFiles,
                                 maxReported: Self.maxReported)
        if relabel {
            let distinct = Array(Set(labels)).sorted()
            let map = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, $0) })
            labels = labels.map { map[$0] ?? -1 }
            originalLabels = distinct
            self.classCount = classCount ?? distinct.count
        } else {
            originalLabels = nil
            self.classCount = classCount ?? ((labels.max() ?? -1) + 1)
        }
        self.paths = paths
        self.labels = labels
        self.classNames = classNames
    }

    public var count: Int { paths.count }
    public func sample(at index: Int) -> (path: String, label: Int) { (paths[index], labels[index]) }

    private static func show(_ delimiter: String) -> String {
        delimiter == " " ? "' ' (one space)" : delimiter == "\t" ? "'\\t' (tab)" : "'\(delimiter)'"
    }
}

/// Text files read as UTF-8, falling back to Latin-1 for other encodings (so a GBK file still yields ASCII
/// paths and ids; non-ASCII names may be garbled).
enum TextFile {
    static func read(_ path: String) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DatasetError(file: path, "cannot read: \(error.localizedDescription)")
        }
        if let text = String(data: data, encoding: .utf8) { return text }
        return String(data: data, encoding: .isoLatin1) ?? String(decoding: data, as: UTF8.self)
    }
}
