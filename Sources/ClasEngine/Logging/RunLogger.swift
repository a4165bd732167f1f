import Foundation

/// Writes log lines like PaddleClas's (`[YYYY/MM/DD HH:MM:SS] ppcls INFO: …`) to stdout and to a log file,
/// and draws a one-line progress bar on stderr when stderr is a terminal.
public final class RunLogger {
    private var file: FileHandle?
    /// The log file, opened (and its folder created) at the first line, so a run that fails validation writes nothing.
    private let path: String?
    private let dateFormatter: DateFormatter
    private let showProgress: Bool
    private var barVisible = false
    /// Lines are also collected here when set (tests).
    public var capture: ((String) -> Void)?
    /// Suppress stdout (still writes the file and capture).
    public var quiet = false
    /// When set, warnings also go to stderr with this prefix (the quiet, non-writing ranks of a distributed run).
    public var stderrWarningPrefix: String?
    /// INFO lines logged before the first line of the run (e.g. the compute backend), so that they head the log
    /// without creating it when validation fails before anything else is logged.
    public var headerLines: [String] = []

    /// - Parameters:
    ///   - path: log file (appended to; created with its folder), or nil.
    ///   - progressBar: draw a progress bar when stderr is a terminal.
    public init(path: String?, progressBar: Bool = true) {
        dateFormatter = DateFormatter()
        dateFormatter.dateFormat = "yyyy/MM/dd HH:mm:ss"
        dateFormatter.locale = Locale(identifier: "en_US_POSIX")
        showProgress = progressBar && isatty(STDERR_FILENO) != 0
        self.path = path
    }

    private func openFile() {
        guard file == nil, let path else { return }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        file = FileHandle(forWritingAtPath: path)
        _ = try? file?.seekToEnd()
    }

    deinit { try? file?.close() }

    /// Logs one INFO line.
    public func info(_ message: String) { emit("INFO", message) }

    /// Logs one WARNING line.
    public func warning(_ message: String) { emit("WARNING", message) }

    private func emit(_ level: String, _ message: String) {
        if !headerLines.isEmpty {
            let header = headerLines
            headerLines = []
            for line in header { emit("INFO", line) }
        }
        let line = "[\(dateFormatter.string(from: Date()))] ppcls \(level): \(message)"
        if level == "WARNING", let prefix = stderrWarningPrefix {
            FileHandle.standardError.write(Data((prefix + line + "\n").utf8))
        }
        clearBar()
        if !quiet { print(line) }
        fflush(stdout)
        openFile()
        if let data = (line + "\n").data(using: .utf8) { try? file?.write(contentsOf: data) }
        capture?(line)
    }

    /// Draws the progress bar: `label [=====>    ] i/n  extra`.
    public func progress(_ label: String, _ done: Int, _ total: Int, _ extra: String) {
        guard showProgress, total > 0 else { return }
        let width = 28
        let filled = min(width, done * width / total)
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "")
            + String(repeating: " ", count: max(0, width - filled - 1))
        let text = "\r\(label) [\(bar)] \(done)/\(total) \(extra)\u{1B}[K"
        FileHandle.standardError.write(Data(text.utf8))
        barVisible = true
    }

    /// Removes the progress bar line.
    public func clearBar() {
        guard barVisible else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        barVisible = false
    }
}

/// Formatting helpers matching PaddleClas's log output.
public enum LogFormat {
    /// Python's `str(timedelta(seconds=s))`: `H:MM:SS` or `N days, H:MM:SS`.
    public static func eta(_ seconds: Double) -> String {
        let total = max(0, Int(seconds))
        let days = total / 86400, rest = total % 86400
        let hms = String(format: "%d:%02d:%02d", rest / 3600, rest % 3600 / 60, rest % 60)
        if days == 0 { return hms }
        return "\(days) day\(days == 1 ? "" : "s"), \(hms)"
    }

    /// `key: value` pairs with five decimals, comma separated.
    public static func pairs(_ values: [(String, Double)]) -> String {
        values.map { String(format: "%@: %.5f", $0.0 as NSString, $0.1) }.joined(separator: ", ")
    }
}
