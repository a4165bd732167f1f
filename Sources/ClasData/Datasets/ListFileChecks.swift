import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The checks every PaddleClas list dataset (`ImageNetDataset`, `MultiLabelDataset`, `CustomLabelDataset`) makes
/// around reading its list: the list is a file, `image_root` a folder, the delimiter not empty, and every listed
/// image readable.
enum ListFileChecks {
    /// Throws unless `delimiter` (when given) is not empty, `listPath` is a file and `imageRoot` a folder; `key` names
    /// the list's config key in the message.
    static func before(list listPath: String, key: String, imageRoot: String, delimiter: String?) throws {
        if let delimiter, delimiter.isEmpty { throw DatasetError(file: listPath, "the delimiter must not be empty") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: listPath, isDirectory: &isDir), !isDir.boolValue else {
            throw DatasetError(file: listPath, "list file (\(key)) does not exist")
        }
        guard FileManager.default.fileExists(atPath: imageRoot, isDirectory: &isDir), isDir.boolValue else {
            throw DatasetError(file: imageRoot, "image_root does not exist or is not a folder (list file \(listPath))")
        }
    }

    /// Throws when `paths` is empty or some listed images cannot be read, listing up to `maxReported` of them with
    /// their line numbers (`lines[k]` for `paths[k]`, when known).
    static func after(_ paths: [String], lines: [Int]? = nil, list listPath: String, imageRoot: String,
                      checkFiles: Bool, maxReported: Int = 10) throws {
        guard !paths.isEmpty else { throw DatasetError(file: listPath, "the list file has no samples") }
        guard checkFiles else { return }
        var missing: [String] = [], missingCount = 0
        for (k, path) in paths.enumerated() where access(path, R_OK) != 0 {
            missingCount += 1
            if missing.count < maxReported { missing.append("  " + (lines.map { "line \($0[k]): " } ?? "") + path) }
        }
        guard missingCount > 0 else { return }
        let more = missingCount > missing.count ? "\n  ... and \(missingCount - missing.count) more" : ""
        throw DatasetError(file: listPath, "\(missingCount) of \(paths.count) listed images do not exist or "
                           + "are unreadable (image_root \(imageRoot)):\n" + missing.joined(separator: "\n") + more)
    }
}
