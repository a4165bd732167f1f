import Foundation

/// An indexable set of labelled image files; the loader reads, decodes and transforms them.
public protocol ImageDataset: Sendable {
    /// Number of samples.
    var count: Int { get }
    /// The image file and label of sample `index` (0 ..< count); the label is -1 when unknown.
    func sample(at index: Int) -> (path: String, label: Int)
    /// Number of classes (declared, or the largest label + 1).
    var classCount: Int { get }
    /// Class names by label, when the dataset knows them.
    var classNames: [String]? { get }
    /// A `Sample.values` key whose value replaces the label after the transforms (`CustomLabelDataset`'s
    /// `label_key`); nil by default.
    var labelKey: String? { get }
    /// Multi-label data only: the per-class targets of sample `index` (`classCount` values, 1 positive, 0
    /// negative, -1 unknown); nil for single-label data (the default).
    func targetVector(at index: Int) -> [Float]?
    /// Multi-label data only: each class's mean target over the list (PaddleClas's `label_ratio`), when requested.
    var labelRatio: [Float]? { get }
}

extension ImageDataset {
    public var labelKey: String? { nil }
    public func targetVector(at index: Int) -> [Float]? { nil }
    public var labelRatio: [Float]? { nil }
    /// Whether samples carry per-class target vectors (``MultiLabelDataset``).
    public var isMultiLabel: Bool { count > 0 && targetVector(at: 0) != nil }
}

/// A problem with a dataset description; the description names the file and, for list files, the line.
public struct DatasetError: Error, CustomStringConvertible {
    /// The list file, folder or image the problem is about.
    public let file: String
    /// 1-based line number in `file`, when the problem is on one line.
    public let line: Int?
    public let message: String

    public init(file: String, line: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
}

/// A fixed list of image files with optional labels (e.g. the images to classify in `infer` mode).
public struct ImageListDataset: ImageDataset {
    public let paths: [String]
    public let labels: [Int]?
    public let classNames: [String]?

    /// - Parameters:
    ///   - labels: one per path, or nil (every label is then -1).
    ///   - classNames: names by label, if known.
    public init(paths: [String], labels: [Int]? = nil, classNames: [String]? = nil) {
        precondition(labels == nil || labels?.count == paths.count, "one label per path")
        self.paths = paths
        self.labels = labels
        self.classNames = classNames
    }

    public var count: Int { paths.count }
    public func sample(at index: Int) -> (path: String, label: Int) { (paths[index], labels?[index] ?? -1) }
    public var classCount: Int { classNames?.count ?? ((labels?.max() ?? -1) + 1) }
}

/// File-system helpers shared by the datasets.
public enum ImageFiles {
    /// Extensions read as images (compared case-insensitively).
    public static let extensions: Set<String> = ["jpg", "jpeg", "png", "bmp"]

    /// Whether `path` has an image extension.
    public static func hasImageExtension(_ path: String) -> Bool {
        extensions.contains((path as NSString).pathExtension.lowercased())
    }

    /// The images for `Infer.infer_imgs`: the file itself, or every image under a folder (recursive, hidden
    /// entries skipped, sorted by path).
    public static func collect(_ path: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DatasetError(file: path, "does not exist")
        }
        if !isDir.boolValue {
            guard hasImageExtension(path) else {
                throw DatasetError(file: path, "is not an image file (expected one of \(extensions.sorted()))")
            }
            return [path]
        }
        let found = try walk(path).filter(hasImageExtension)
        guard !found.isEmpty else { throw DatasetError(file: path, "contains no image files (\(extensions.sorted()))") }
        return found
    }

    /// Every non-hidden regular file under `folder`, recursively, as full paths sorted by code points.
    static func walk(_ folder: String) throws -> [String] {
        var out: [String] = []
        for name in try visibleEntries(folder) {
            let full = join(folder, name)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir) else { continue }
            if isDir.boolValue { out += try walk(full) } else { out.append(full) }
        }
        return out
    }

    /// Non-hidden entry names of `folder`, sorted by Unicode code points (Python's `sorted`).
    static func visibleEntries(_ folder: String) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw DatasetError(file: folder, "cannot list folder: \(error.localizedDescription)")
        }
        return names.filter { !$0.hasPrefix(".") }.sorted(by: codePointOrder)
    }

    /// Python's string order (by Unicode code points).
    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }

    /// `os.path.join(root, path)`: an absolute `path` wins.
    static func join(_ root: String, _ path: String) -> String {
        if path.hasPrefix("/") || root.isEmpty { return path }
        return root.hasSuffix("/") ? root + path : root + "/" + path
    }
}
