import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// PaddleClas's `CustomLabelDataset`: a list of images without labels (`sample_list_path`), for data whose label is
/// made by a transform op (`label_key`: `random_rot90_orientation` of `RandomRot90`, `blur_image` of `BlurImage` —
/// PULC's image-orientation and clarity tasks) or that has none (unlabelled data for distillation losses that
/// compare models only).
///
/// Each line is stripped; with `delimiter` only the part before its first occurrence is the path (PaddleClas
/// ignores the rest, so a labelled list can be reused); blank lines are skipped. Without `label_key` every label is
/// -1, which a loss needing labels reports.
public struct CustomLabelDataset: ImageDataset {
    public let paths: [String]
    /// The `Sample.values` key whose value becomes the label after the transforms, if any.
    public let labelKey: String?
    public let classCount: Int
    public var classNames: [String]? { nil }

    /// The class count a known `label_key` implies (4 orientations, blurred or not).
    public static let keyClassCounts = [RandomRot90.valueKey: 4, BlurImage.valueKey: 2]

    public init(imageRoot: String, listPath: String, labelKey: String? = nil, delimiter: String? = nil,
                checkFiles: Bool = true) throws {
        try ListFileChecks.before(list: listPath, key: "sample_list_path", imageRoot: imageRoot, delimiter: delimiter)
        var paths: [String] = []
        for rawLine in try TextFile.read(listPath).split(whereSeparator: \.isNewline) {
            var line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if let delimiter, let r = line.range(of: delimiter) { line = String(line[..<r.lowerBound]) }
            if !line.isEmpty { paths.append(ImageFiles.join(imageRoot, line)) }
        }
        try ListFileChecks.after(paths, list: listPath, imageRoot: imageRoot, checkFiles: checkFiles)
        self.paths = paths
        self.labelKey = labelKey
        classCount = labelKey.flatMap { Self.keyClassCounts[$0] } ?? 0
    }

    public var count: Int { paths.count }
    public func sample(at index: Int) -> (path: String, label: Int) { (paths[index], -1) }
}
