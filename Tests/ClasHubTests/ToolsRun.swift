import Foundation
import XCTest

/// The `tools` binary of this build, run with the Hugging Face variables (HF_ENDPOINT, HF_HUB_OFFLINE, CLAS_OFFLINE,
/// XDG_CACHE_HOME) taken from the test rather than the machine.
struct ToolsRun {
    let status: Int32
    let stdout: String
    let stderr: String

    static var tools: String {
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("tools").path)
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        candidates += ["\(root)/.build/release/tools", "\(root)/.build/debug/tools"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// Runs `tools args` with the hub variables cleared, then `env` set; output goes through files in `folder`.
    static func run(_ args: [String], env: [String: String], in folder: URL) throws -> ToolsRun {
        guard FileManager.default.isExecutableFile(atPath: tools) else {
            XCTFail("no tools binary at \(tools); build with `swift build -c release --build-tests`")
            throw XCTSkip("tools binary missing")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tools)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        for key in ["HF_ENDPOINT", "HF_HUB_OFFLINE", "CLAS_OFFLINE", "XDG_CACHE_HOME"] { environment[key] = nil }
        p.environment = environment.merging(env) { $1 }
        let out = folder.appendingPathComponent("out-\(UUID().uuidString)"), err = folder.appendingPathComponent("err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        p.waitUntilExit()
        return ToolsRun(status: p.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                   stderr: try String(contentsOf: err, encoding: .utf8))
    }
}
