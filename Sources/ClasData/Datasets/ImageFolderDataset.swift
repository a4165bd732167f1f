import Foundation

/// A folder with one sub-folder per class (torchvision's `ImageFolder` layout): `root/<class>/**/<image>`.
///
/// Classes are the non-hidden sub-folders sorted by name (Python's code-point order), labelled 0 ..< n; images
/// are the non-hidden files with a jpg/jpeg/png/bmp extension (any case) anywhere below a class folder, sorted by
/// path. Files directly in `root` are ignored. An empty class folder is an error that names it.
public struct ImageFolderDataset: ImageDataset {
    public let root: String
    /// Full image paths, grouped by class.
    public let paths: [String]
    public let labels: [Int]
    /// The class folder names, by label.
    public let names: [String]

    public init(root: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw DatasetError(file: root, "image folder does not exist or is not a folder")
        }
        var names: [String] = [], paths: [String] = [], labels: [Int] = [], empty: [String] = []
        for name in try ImageFiles.visibleEntries(root) {
            let folder = ImageFiles.join(root, name)
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else { continue }
            let images = try ImageFiles.walk(folder).filter(ImageFiles.hasImageExtension)
            if images.isEmpty { empty.append(folder) }
            paths += images
            labels += Array(repeating: names.count, count: images.count)
            names.append(name)
        }
        guard !names.isEmpty else { throw DatasetError(file: root, "has no class sub-folders (expected root/<class>/<image>)") }
        guard empty.isEmpty else {
            throw DatasetError(file: root, "class folder\(empty.count > 1 ? "s" : "") without images "
                               + "(\(ImageFiles.extensions.sorted().joined(separator: "/"))): " + empty.joined(separator: ", "))
        }
        self.root = root
        self.names = names
        self.paths = paths
        self.labels = labels
    }

    public var count: Int { paths.count }
    public func sample(at index: Int) -> (path: String, label: Int) { (paths[index], labels[index]) }
    public var classCount: Int { names.count }
    public var classNames: [String]? { names }

    /// Writes the `<id> <name>` class map (a `class_id_map_file`) atomically.
    public func writeLabelList(to path: String) throws { try ClassIDMap(names: names).write(to: path) }
}
