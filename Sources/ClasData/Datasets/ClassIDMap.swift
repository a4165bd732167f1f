import Foundation

/// A `class_id_map_file`: one `<int id><delimiter><name>` per line, split at the first delimiter only
/// (`0 tench, Tinca tinca`), as PaddleClas's `Topk` post-process reads it.
public struct ClassIDMap: Equatable, Sendable {
    /// Class names by id.
    public let names: [Int: String]

    public init(names: [Int: String]) { self.names = names }

    /// Ids 0 ..< names.count.
    public init(names: [String]) {
        self.names = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0, $1) })
    }

    /// The name of class `id`, if listed.
    public func name(for id: Int) -> String? { names[id] }

    /// Names for ids 0 ..< count when every id is present, else nil.
    public var orderedNames: [String]? {
        let ordered = (0..<names.count).compactMap { names[$0] }
        return ordered.count == names.count ? ordered : nil
    }

    /// Reads a map (UTF-8, Latin-1 fallback). Blank lines are skipped; a line without an integer id before the
    /// first delimiter, or a repeated id, is an error naming the file and line.
    public static func read(_ path: String, delimiter: String = " ") throws -> ClassIDMap {
        guard !delimiter.isEmpty else { throw DatasetError(file: path, "the delimiter must not be empty") }
        guard FileManager.default.fileExists(atPath: path) else {
            throw DatasetError(file: path, "class_id_map_file does not exist")
        }
        let text = try TextFile.read(path)
        var names: [Int: String] = [:], firstLine: [Int: Int] = [:]
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = String(raw)
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let idText: Substring, name: Substring
            if let range = line.range(of: delimiter) {
                (idText, name) = (line[..<range.lowerBound], line[range.upperBound...])
            } else {
                (idText, name) = (Substring(line), "")
            }
            guard let id = Int(idText.trimmingCharacters(in: .whitespaces)) else {
                throw DatasetError(file: path, line: i + 1, "expected '<class id><delimiter><name>', but '\(idText)' "
                                   + "is not an integer")
            }
            if let first = firstLine[id] {
                throw DatasetError(file: path, line: i + 1, "class id \(id) is listed again (first on line \(first))")
            }
            names[id] = String(name)
            firstLine[id] = i + 1
        }
        return ClassIDMap(names: names)
    }

    /// Writes `<id><delimiter><name>` lines sorted by id, atomically.
    public func write(to path: String, delimiter: String = " ") throws {
        let text = names.keys.sorted().map { "\($0)\(delimiter)\(names[$0] ?? "")\n" }.joined()
        try FileIO.write(Array(text.utf8), to: path)
    }
}
