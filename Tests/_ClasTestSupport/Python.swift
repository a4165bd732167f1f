import Foundation
import XCTest

/// The Python the interoperability tests run (onnxruntime, safetensors, TensorBoard):
/// `$CLAS_PYTHON` if set, else the repository's `.venv/bin/python` (made by `make pyenv`, which `.ci/run` runs), else
/// `python3` on the PATH.
///
/// A test whose Python module is missing is skipped with the reason, except under `CI=true`, where it fails: on CI
/// the venv is part of the setup, so a missing module is a broken setup, not an optional extra.
public enum TestPython {
    /// The repository root (this file is `Tests/_ClasTestSupport/Python.swift`).
    public static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Executable and leading arguments.
    public static var command: (executable: String, prefix: [String]) {
        let env = ProcessInfo.processInfo.environment
        if let p = env["CLAS_PYTHON"], !p.isEmpty { return (p, []) }
        let venv = repositoryRoot + "/.venv/bin/python"
        if FileManager.default.isExecutableFile(atPath: venv) { return (venv, []) }
        return ("/usr/bin/env", ["python3"])
    }

    /// A readable name of the Python in use, for messages.
    public static var description: String {
        let c = command
        return c.prefix.isEmpty ? c.executable : c.prefix.joined(separator: " ")
    }

    /// Whether a missing module fails the test (`CI=true`) instead of skipping it.
    public static var isCI: Bool {
        let v = ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? ""
        return v == "true" || v == "1"
    }

    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs Python; returns (status, stdout, stderr).
    public static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let (executable, prefix) = command
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = prefix + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Throws `XCTSkip` (or, under `CI=true`, an error that fails the test) unless Python can import `modules`.
    public static func require(_ modules: [String]) throws {
        let reason: String
        do {
            let r = try run(["-c", "import " + modules.joined(separator: ", ")])
            if r.status == 0 { return }
            reason = "\(description) cannot import \(modules.joined(separator: ", ")) (make pyenv, or set CLAS_PYTHON): "
                + (r.stderr.split(separator: "\n").last.map(String.init) ?? "")
        } catch {
            reason = "no Python at \(description) (make pyenv, or set CLAS_PYTHON): \(error)"
        }
        if isCI { throw Missing(description: "CI=true: " + reason) }
        throw XCTSkip(reason)
    }
}
