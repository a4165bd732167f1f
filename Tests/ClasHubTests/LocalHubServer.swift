import Foundation
import XCTest

/// Runs Fixtures/LocalHub.py (Python's http.server on 127.0.0.1, an ephemeral port) for one test; it stops by itself
/// after `lifetime` seconds, and `stop()` ends it earlier. Nothing else is contacted.
final class LocalHubServer {
    let folder: URL
    let port: Int
    let logPath: URL
    private let process: Process

    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Starts a server for `files` (request path → (content, mode)); skips the test when python3 is missing.
    init(files: [String: (Data, String)], lifetime: Int = 60) throws {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile)
        else { throw XCTSkip("python3 is not installed") }
        guard let script = Bundle.module.url(forResource: "LocalHub", withExtension: "py", subdirectory: "Fixtures") else {
            throw XCTSkip("Fixtures/LocalHub.py is missing from the test bundle")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("clashub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        logPath = folder.appendingPathComponent("requests.log")
        _ = FileManager.default.createFile(atPath: logPath.path, contents: nil)
        var specs: [String: [String: String]] = [:]
        for (i, (path, file)) in files.sorted(by: { $0.key < $1.key }).enumerated() {
            let local = folder.appendingPathComponent("content-\(i)")
            try file.0.write(to: local)
            specs[path] = ["path": local.path, "mode": file.1]
        }
        let config: [String: Any] = ["log": logPath.path, "lifetime": lifetime, "files": specs]
        let configPath = folder.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: config).write(to: configPath)

        process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path, configPath.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        // The first line is "PORT <n>".
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PORT "), let p = Int(text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw XCTSkip("the local hub did not start: \(text)")
        }
        port = p
    }

    /// The requests served so far: "METHOD path range" lines.
    var requests: [String] {
        (try? String(contentsOf: logPath, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    deinit { stop() }
}
