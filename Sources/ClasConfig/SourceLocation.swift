import Foundation

/// A config file that has been read, kept so that errors can quote the offending line.
public final class SourceFile: Sendable {
    /// The path as the user (or the including file) spelled it, e.g. `configs/mnv3.yaml`.
    public let path: String
    /// The full text of the file.
    public let text: String

    /// Creates a source file from its path and contents.
    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }

    /// The text of line `line` (1-based), without its line break, or nil when out of range.
    public func line(_ line: Int) -> String? {
        guard line >= 1 else { return nil }
        var current = 1
        for piece in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == line { return String(piece.hasSuffix("\r") ? piece.dropLast() : piece) }
            current += 1
        }
        return nil
    }
}

/// Where a config value came from: a place in a YAML file, or a `-o` command-line override.
public enum SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// `file` at `line`:`column` (both 1-based); line 0 means the file as a whole.
    case file(SourceFile, line: Int, column: Int)
    /// The `index`-th (1-based) `-o KEY=VALUE` option, with its text as typed.
    case override(index: Int, text: String)
    /// Made in code (defaults, programmatic trees).
    case unknown

    /// `path:line:column`, `path`, `-o #k 'text'`, or `<config>`.
    public var description: String {
        switch self {
        case .file(let file, let line, let column):
            return line > 0 ? "\(file.path):\(line):\(column)" : file.path
        case .override(let index, let text):
            return "-o #\(index) '\(text)'"
        case .unknown:
            return "<config>"
        }
    }

    /// The path of the file, for file locations.
    public var filePath: String? {
        if case .file(let file, _, _) = self { return file.path }
        return nil
    }

    /// The line, for file locations with a line.
    public var line: Int? {
        if case .file(_, let line, _) = self, line > 0 { return line }
        return nil
    }

    /// The source line followed by a caret under the column, for file locations with a line.
    public var snippet: String? {
        guard case .file(let file, let line, let column) = self, line > 0, let text = file.line(line),
            text.contains(where: { $0 != " " && $0 != "\t" })
        else { return nil }
        let prefix = text.unicodeScalars.prefix(max(0, column - 1))
        let pad = String(String.UnicodeScalarView(prefix).map { $0 == "\t" ? "\t" : " " })
        return text + "\n" + pad + "^"
    }

    public static func == (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        switch (lhs, rhs) {
        case (.file(let f1, let l1, let c1), .file(let f2, let l2, let c2)):
            return f1.path == f2.path && l1 == l2 && c1 == c2
        case (.override(let i1, let t1), .override(let i2, let t2)): return i1 == i2 && t1 == t2
        case (.unknown, .unknown): return true
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(description)
    }
}
