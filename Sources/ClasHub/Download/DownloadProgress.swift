import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Download progress on stderr: a redrawn bar on a terminal, a few plain lines otherwise, or nothing.
public final class DownloadProgress {
    public enum Style: Sendable {
        /// A bar when stderr is a terminal, plain lines otherwise.
        case automatic
        case bar, lines, silent
    }

    private let style: Style
    private let label: String
    private var total: Int64?
    private var start: Int64 = 0
    private var lastDraw = Date.distantPast
    private var lastQuarter = -1
    private let began = Date()

    public init(label: String, style: Style) {
        self.label = label
        if case .automatic = style {
            self.style = isatty(STDERR_FILENO) == 1 ? .bar : .lines
        } else {
            self.style = style
        }
    }

    /// Called when the body starts: `offset` bytes were already there (a resumed download), `total` is the full size.
    func begin(offset: Int64, total: Int64?) {
        self.start = offset
        self.total = total
        switch style {
        case .lines:
            let size = total.map { " (\(Self.megabytes($0)))" } ?? ""
            let resume = offset > 0 ? ", resuming at \(Self.megabytes(offset))" : ""
            emit("downloading \(label)\(size)\(resume)\n")
        case .bar: update(offset)
        default: break
        }
    }

    /// The number of bytes of the file present so far.
    func update(_ bytes: Int64) {
        switch style {
        case .bar:
            let now = Date()
            guard now.timeIntervalSince(lastDraw) >= 0.1 || bytes == total else { return }
            lastDraw = now
            let rate = Double(bytes - start) / max(now.timeIntervalSince(began), 1e-3)
            if let total, total > 0 {
                let f = min(1, Double(bytes) / Double(total))
                let filled = Int(f * 30)
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 30 - filled)
                emit(String(format: "\r%@ [%@] %3d%% %@/%@ %@/s ", label, bar, Int(f * 100), Self.megabytes(bytes),
                            Self.megabytes(total), Self.megabytes(Int64(rate))))
            } else {
                emit("\r\(label) \(Self.megabytes(bytes)) \(Self.megabytes(Int64(rate)))/s ")
            }
        case .lines:
            guard let total, total > 0 else { return }
            let quarter = Int(4 * Double(bytes) / Double(total))
            if quarter > lastQuarter, quarter < 4 {
                if lastQuarter >= 0 { emit("  \(quarter * 25)% of \(label)\n") }
                lastQuarter = quarter
            }
        default: break
        }
    }

    /// Ends the display (with a newline after a bar).
    func finish(_ message: String) {
        switch style {
        case .bar: emit("\r\u{1B}[K\(message)\n")
        case .lines: emit("\(message)\n")
        default: break
        }
    }

    private func emit(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

    static func megabytes(_ bytes: Int64) -> String {
        bytes >= 1 << 20 ? String(format: "%.1f MB", Double(bytes) / 1_048_576) : String(format: "%.0f kB", Double(bytes) / 1024)
    }
}
