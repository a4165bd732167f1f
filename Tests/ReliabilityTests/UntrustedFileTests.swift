import ClasConfig
import ClasEngine
import ClasOptim
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// Safetensors files, checkpoints and configs from elsewhere: malformed, truncated or hostile ones are refused with
/// an error naming the file and the reason, never a crash, a hang or a huge allocation.
final class UntrustedFileTests: ReliabilityTestCase {
    // MARK: Safetensors

    /// `8-byte length + header + data`, with the length given explicitly or taken from `header`.
    static func safetensors(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        let n = length ?? UInt64(h.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } + h + data
    }

    private func entry(_ name: String = "w", dtype: String = "\"F32\"", shape: String = "[2]",
                       offsets: String = "[0, 8]") -> String {
        "{\"\(name)\": {\"dtype\": \(dtype), \"shape\": \(shape), \"data_offsets\": \(offsets)}}"
    }

    func testMalformedSafetensorsAreRefusedWithAReason() {
        let eight = [UInt8](repeating: 0, count: 8)
        let deep = "{\"a\": " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        let cases: [(String, [UInt8], String)] = [
            ("empty", [], "shorter than the 8-byte header length"),
            ("seven bytes", [1, 2, 3, 4, 5, 6, 7], "shorter than the 8-byte header length"),
            ("length 2^64-1", Self.safetensors("{}", length: .max), "is too large"),
            ("length 200 MB", Self.safetensors("{}", length: 200_000_000), "is too large"),
            ("length past the end", Self.safetensors("{}", data: eight, length: 1000), "runs past the end"),
            ("not JSON", Self.safetensors("dtype F32"), "header is not JSON"),
            ("not UTF-8", [4, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFE, 0x80, 0x00], "header is not JSON"),
            ("JSON list", Self.safetensors("[1, 2]"), "not a JSON object"),
            ("deeply nested", Self.safetensors(deep), "not a valid safetensors file"),
            ("no offsets", Self.safetensors("{\"w\": {\"dtype\": \"F32\", \"shape\": [2]}}", data: eight),
             "lacks dtype, shape or data_offsets"),
            ("numeric dtype", Self.safetensors(entry(dtype: "5"), data: eight), "lacks dtype, shape or data_offsets"),
            ("unknown dtype", Self.safetensors(entry(dtype: "\"F8_E4M3\""), data: eight), "unsupported dtype F8_E4M3"),
            ("negative dim", Self.safetensors(entry(shape: "[-2]"), data: eight), "invalid shape"),
            ("fractional dim", Self.safetensors(entry(shape: "[1.5]"), data: eight), "invalid shape"),
            ("text dim", Self.safetensors(entry(shape: "[\"2\"]"), data: eight), "invalid shape"),
            ("dim 2^32", Self.safetensors(entry(shape: "[4294967296]"), data: eight), "invalid shape"),
            ("dim 1e300", Self.safetensors(entry(shape: "[1e300]"), data: eight), "invalid shape"),
            ("huge product", Self.safetensors(entry(shape: "[2147483646, 2147483646, 2147483646]"), data: eight),
             "is too large"),
            ("offsets past the end", Self.safetensors(entry(offsets: "[0, 800]"), data: eight), "outside the 8-byte data section"),
            ("offsets reversed", Self.safetensors(entry(offsets: "[8, 0]"), data: eight), "outside"),
            ("negative offset", Self.safetensors(entry(offsets: "[-8, 0]"), data: eight), "outside"),
            ("one offset", Self.safetensors(entry(offsets: "[0]"), data: eight), "invalid data_offsets"),
            ("text offsets", Self.safetensors(entry(offsets: "[\"0\", \"8\"]"), data: eight), "invalid data_offsets"),
            ("offset 1e30", Self.safetensors(entry(offsets: "[0, 1e30]"), data: eight), "not a valid safetensors file"),
            ("dtype/size mismatch", Self.safetensors(entry(dtype: "\"F16\"", shape: "[4]", offsets: "[0, 16]"),
                                                     data: eight + eight), "needs 8 bytes, offsets give 16"),
            ("shape/size mismatch", Self.safetensors(entry(shape: "[3]"), data: eight), "needs 12 bytes, offsets give 8"),
            ("overlap", Self.safetensors("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
                                         + "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
                                         data: eight + eight), "overlaps"),
            ("metadata not a map", Self.safetensors("{\"__metadata__\": \"x\"}"), "__metadata__ is not an object"),
            ("metadata number", Self.safetensors("{\"__metadata__\": {\"epoch\": 3}}"), "is not a string"),
        ]
        let dir = scratchDirectory()
        for (name, bytes, reason) in cases {
            let path = "\(dir)/\(name.replacingOccurrences(of: " ", with: "_")).safetensors"
            XCTAssertNoThrow(try writeBytes(bytes, to: path))
            let message = assertThrows([path]) { try Safetensors.read(path) }
            XCTAssertTrue(message.contains(reason), "\(name): «\(message)» lacks «\(reason)»")
        }
    }

    /// Edge cases that are valid: zero-size tensors, scalars, padding spaces after the header.
    func testValidEdgeCasesAreRead() throws {
        let bytes = Self.safetensors("{\"empty\": {\"dtype\": \"F32\", \"shape\": [0, 3], \"data_offsets\": [0, 0]}, "
                                     + "\"scalar\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]}}   ",
                                     data: [0, 0, 0x80, 0x3F])
        let (entries, _) = try Safetensors.parse(Data(bytes), path: "edge")
        XCTAssertEqual(entries.map(\.name), ["empty", "scalar"])
        XCTAssertEqual(entries[0].tensor.shape, [0, 3])
        XCTAssertEqual(entries[1].tensor.scalars, [1])
    }

    // MARK: Checkpoints

    /// A finished one-epoch run whose `latest` checkpoint the tests below tamper with.
    private func trainedRun(_ name: String = #function, extraArgs: [String] = []) throws -> FaultRun {
        let run = try FaultRun(name: name, epochs: 1, evalDuringTrain: false)
        let r = try ToolsProcess.run(["train", "-c", run.config] + extraArgs)
        XCTAssertEqual(r.status, 0, r.stderr)
        return run
    }

    /// Rewrites `latest` into `name` after `edit` changes its tensors and metadata; returns the new prefix.
    private func tamper(_ run: FaultRun, _ name: String,
                        _ edit: (inout [(String, Tensor)], inout [String: String]) -> Void) throws -> String {
        let (entries, metadata) = try Safetensors.read(run.checkpoint("latest"))
        var tensors = entries.map { ($0.name, $0.tensor) }, meta = metadata
        edit(&tensors, &meta)
        try Safetensors.write(tensors, metadata: meta, to: run.checkpoint(name))
        return "\(run.modelDir)/\(name)"
    }

    /// Resuming from tampered checkpoints: a clear error naming the file, exit 1, never a crash.
    func testResumingFromACorruptCheckpointIsAClearError() throws {
        let run = try trainedRun(extraArgs: ["-o", "EMA.decay=0.9"])
        let resume = { (prefix: String) -> [String] in
            ["train", "-c", run.config, "-o", "EMA.decay=0.9", "-o", "Global.epochs=2", "-o", "Global.checkpoints=\(prefix)"]
        }
        let cases: [(String, (inout [(String, Tensor)], inout [String: String]) -> Void, String)] = [
            ("iteration", { _, m in m["iteration"] = "999" }, "it stopped at iteration 999 of an epoch, but an epoch now has 4"),
            ("negative_iteration", { _, m in m["iteration"] = "-1" }, "it stopped at iteration -1"),
            ("epoch", { _, m in m["epoch"] = "-3" }, "training state is corrupt (epoch -3"),
            ("step", { _, m in m["step"] = String(Int.max) }, "training state is corrupt"),
            ("missing_tensor", { t, _ in t.removeAll { $0.0 == "conv_stem.weight" } }, "does not fit this model"),
            ("wrong_shape", { t, _ in
                if let i = t.firstIndex(where: { $0.0 == "conv_stem.weight" }) { t[i].1 = Tensor(shape: [3], repeating: 0) }
            }, "does not fit this model"),
            ("ema_shape", { t, _ in
                if let i = t.firstIndex(where: { $0.0 == "ema.conv_stem.weight" }) { t[i].1 = Tensor(shape: [5], repeating: 0) }
            }, "ema.conv_stem.weight has shape [5]"),
            ("nan_weights", { t, _ in
                if let i = t.firstIndex(where: { $0.0 == "conv_stem.weight" }) {
                    t[i].1 = Tensor(shape: t[i].1.shape, repeating: .nan)
                }
            }, "conv_stem.weight holds NaN or infinite values"),
        ]
        for (name, edit, expected) in cases {
            let prefix = try tamper(run, name, edit)
            let r = try ToolsProcess.run(resume(prefix))
            XCTAssertEqual(r.status, 1, "\(name): \(r.stderr)")
            XCTAssertNil(r.signal, "\(name) crashed: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("cannot resume from \(prefix).safetensors"), "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(name): \(r.stderr)")
        }
    }

    /// Truncated and garbage checkpoint files given to `eval` (`Global.pretrained_model`) and to resume.
    func testTruncatedOrGarbageCheckpointFilesAreRefused() throws {
        let run = try trainedRun()
        let good = fileBytes(run.checkpoint("latest"))
        let variants: [(String, [UInt8])] = [
            ("cut_in_data", Array(good.prefix(good.count - 1000))),
            ("cut_in_header", Array(good.prefix(200))),
            ("zeros", [UInt8](repeating: 0, count: 4096)),
            ("text", Array("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n".utf8)),
        ]
        for (name, bytes) in variants {
            try writeBytes(bytes, to: run.checkpoint(name))
            let prefix = "\(run.modelDir)/\(name)"
            for args in [["eval", "-c", run.config, "-o", "Global.pretrained_model=\(prefix)"],
                         ["train", "-c", run.config, "-o", "Global.epochs=2", "-o", "Global.checkpoints=\(prefix)"]] {
                let r = try ToolsProcess.run(args)
                XCTAssertEqual(r.status, 1, "\(name) \(args[0]): \(r.stderr)")
                XCTAssertNil(r.signal)
                XCTAssertTrue(r.stderr.contains("\(prefix).safetensors: not a valid safetensors file"),
                              "\(name) \(args[0]): \(r.stderr)")
            }
        }
        XCTAssertEqual(fileBytes(run.checkpoint("latest")), good, "the real checkpoint was not touched")
    }

    /// Adam's step counts come from the file as floats: NaN, infinite, fractional or negative ones are ignored
    /// instead of trapping on the conversion to integers.
    func testAdamIgnoresCorruptStepCounts() {
        let p = Tensor(shape: [2], values: [1, 2], requiresGrad: true)
        for bad: Float in [.nan, .infinity, -.infinity, 1e30, -3, 2.5] {
            let adam = Adam(parameters: [("p", p)], learningRate: 0.1)
            _ = adam.loadState(["steps": Tensor(shape: [1], values: [bad])])
            XCTAssertEqual(adam.state.first { $0.0 == "steps" }?.1.scalars, [0], "steps \(bad)")
        }
        let adam = Adam(parameters: [("p", p)], learningRate: 0.1)
        _ = adam.loadState(["steps": Tensor(shape: [1], values: [7])])
        XCTAssertEqual(adam.state.first { $0.0 == "steps" }?.1.scalars, [7])
    }

    // MARK: Configs

    /// Nested aliases ("billion laughs") and YAML nested 100 000 levels deep: refused at once, not a hang, an
    /// out-of-memory kill or a stack overflow.
    func testHostileYAMLIsRefusedQuickly() throws {
        let dir = scratchDirectory()
        var laughs = ["a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]"]
        var previous = "a"
        for name in ["b", "c", "d", "e", "f", "g", "h", "i"] {
            laughs.append("\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]")
            previous = name
        }
        let n = 100_000, m = 20_000  // (a single command-line argument is limited to 128 KiB)
        let files: [(String, String, String)] = [
            ("laughs.yaml", laughs.joined(separator: "\n") + "\nGlobal: {epochs: 1}\n", "expands to more than"),
            ("flow.yaml", "Global: {epochs: " + String(repeating: "[", count: n) + String(repeating: "]", count: n) + "}\n",
             "nested more than"),
            ("maps.yaml", "Global: " + String(repeating: "{a: ", count: n) + "1" + String(repeating: "}", count: n) + "\n",
             "nested more than"),
            ("dashes.yaml", "Global:\n  epochs:\n    " + String(repeating: "- ", count: n) + "1\n", "nested more than"),
            ("unclosed.yaml", "Global: " + String(repeating: "[", count: n) + "\n", "error"),
        ]
        for (name, text, expected) in files {
            let path = "\(dir)/\(name)"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let start = Date()
            let r = try ToolsProcess.run(["train", "-c", path], timeout: 30)
            XCTAssertEqual(r.status, 2, "\(name): \(r.stderr.prefix(300))")
            XCTAssertNil(r.signal, "\(name) crashed")
            XCTAssertTrue(r.stderr.contains("\(path):"), "\(name): \(r.stderr.prefix(300))")
            XCTAssertTrue(r.stderr.contains(expected), "\(name): \(r.stderr.prefix(300))")
            XCTAssertLessThan(Date().timeIntervalSince(start), 10, name)
        }
        // The same through -o (an override value that is not YAML stays a string).
        let run = try FaultRun(perClass: 1, epochs: 1)
        let r = try ToolsProcess.run(["train", "-c", run.config,
                                      "-o", "Global.epochs=" + String(repeating: "[", count: m) + String(repeating: "]", count: m)])
        XCTAssertEqual(r.status, 2)
        XCTAssertNil(r.signal)
        XCTAssertTrue(r.stderr.contains("Global.epochs expects an integer"), String(r.stderr.suffix(300)))
    }

    /// Real configs nest a few levels; the limits leave every bundled config and PaddleClas fixture loadable.
    func testBundledConfigsAreWithinTheLimits() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs").path
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ClasConfigTests/Fixtures").path
        var count = 0
        for folder in [root, fixtures] {
            for file in try FileManager.default.subpathsOfDirectory(atPath: folder) where file.hasSuffix(".yaml") {
                XCTAssertNoThrow(try ConfigLoader.loadFile("\(folder)/\(file)"), file)
                count += 1
            }
        }
        XCTAssertGreaterThan(count, 5)
    }
}
