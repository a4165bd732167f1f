import ClasData
import ClasEngine
import Foundation
import XCTest
import _ClasTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A tiny training run (4 classes of 32×32 PNGs in class folders, optionally with list files; a MobileNetV3-small
/// ×0.35) written into a scratch folder, small enough that `tools train` finishes an epoch in a fraction of a second.
struct FaultRun {
    let dir: String
    let config: String

    /// - Parameters:
    ///   - perClass: images per class (train and val).
    ///   - batchSize: training batch size (iterations per epoch = 4 · perClass / batchSize).
    ///   - saveInterval: `Global.save_interval` (epochs between `epoch_N` checkpoints).
    ///   - global: extra `Global` lines (`key: value`, keys not set above).
    ///   - evalDuringTrain: evaluate (and write `best_model`) after each epoch.
    ///   - trainOps: `DataLoader.Train` transform ops, one `Name: {args}` per item.
    ///   - listFiles: use `ImageNetDataset` with `train_list.txt`/`val_list.txt` (`<path> <label>` lines) instead
    ///     of `ImageFolderDataset`.
    ///   - arch: extra `Arch` lines (e.g. `class_num: 4`).
    init(name: String = #function, perClass: Int = 4, epochs: Int = 2, batchSize: Int = 4, saveInterval: Int = 1,
         global: [String] = [], arch: [String] = [], listFiles: Bool = false,
         evalDuringTrain: Bool = true, trainOps: [String] = FaultRun.defaultOps,
         evalOps: [String] = FaultRun.defaultOps) throws {
        dir = scratchDirectory(name)
        for split in ["train", "val"] {
            var list = ""
            for k in 0..<4 {
                let folder = "\(dir)/\(split)/class_\(k)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for i in 0..<perClass {
                    try ImageCodec.writePNG(FaultRun.image(label: k, variant: i), to: "\(folder)/\(i).png", durable: false)
                    list += "\(split)/class_\(k)/\(i).png \(k)\n"
                }
            }
            if listFiles { try list.write(toFile: "\(dir)/\(split)_list.txt", atomically: true, encoding: .utf8) }
        }
        config = "\(dir)/run.yaml"
        func lines(_ items: [String], _ indent: Int, _ prefix: String = "") -> String {
            items.map { String(repeating: " ", count: indent) + prefix + $0 }.joined(separator: "\n")
        }
        func dataset(_ split: String, _ ops: [String]) -> String {
            (listFiles ? ["name: ImageNetDataset", "image_root: \(dir)", "cls_label_path: \(dir)/\(split)_list.txt"]
                : ["name: ImageFolderDataset", "image_root: \(dir)/\(split)"]).map { "      \($0)" }.joined(separator: "\n")
                + "\n      transform_ops:\n" + lines(ops, 8, "- ")
        }
        let yaml = """
            Global:
              output_dir: \(dir)/output
              epochs: \(epochs)
              print_batch_step: 1
              save_interval: \(saveInterval)
              eval_during_train: \(evalDuringTrain ? "True" : "False")
              seed: 11
              num_threads: 2
            \(lines(global, 2))
            Arch:
              name: MobileNetV3_small_x0_35
            \(lines(arch, 2))
            Loss:
              Train:
                - CELoss: {weight: 1.0}
              Eval:
                - CELoss: {weight: 1.0}
            Optimizer:
              name: Momentum
              momentum: 0.9
              lr: {name: Cosine, learning_rate: 0.05}
            DataLoader:
              Train:
                dataset:
            \(dataset("train", trainOps))
                sampler: {name: DistributedBatchSampler, batch_size: \(batchSize), shuffle: True, drop_last: False}
                loader: {num_workers: 1, use_shared_memory: True}
              Eval:
                dataset:
            \(dataset("val", evalOps))
                sampler: {name: DistributedBatchSampler, batch_size: 16, shuffle: False}
                loader: {num_workers: 0, use_shared_memory: True}
            Metric:
              Eval:
                - TopkAcc: {topk: [1, 2]}
            """
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
    }

    static let defaultOps = ["DecodeImage: {to_rgb: True}",
                             "NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}"]

    /// A 32×32 RGB image with a bright square in the quadrant of class `label`.
    static func image(label k: Int, variant i: Int, size: Int = 32) -> Image {
        var pixels = [UInt8](repeating: 20, count: size * size * 3)
        let half = size / 2, ox = (k % 2) * half, oy = (k / 2 % 2) * half
        for y in 0..<half { for x in 0..<half { for c in 0..<3 {
            pixels[((oy + y) * size + ox + x) * 3 + c] = UInt8(180 + (i * 7 + c * 13) % 60)
        } } }
        return Image(width: size, height: size, channels: 3, pixels: pixels)
    }

    var outputDir: String { "\(dir)/output" }
    /// Output folder of the model.
    var modelDir: String { "\(dir)/output/MobileNetV3_small_x0_35" }
    func checkpoint(_ name: String) -> String { "\(modelDir)/\(name).safetensors" }

    /// The model tensors of a checkpoint.
    func weights(_ name: String) throws -> [String: [Float]] {
        try Checkpoint.read(prefix: "\(modelDir)/\(name)").model.mapValues(\.scalars)
    }

    /// The log lines of `train.log`.
    func trainLog() -> [String] {
        ((try? String(contentsOfFile: "\(modelDir)/train.log", encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }
}

/// A fresh temporary folder, removed after the test if it passes (kept for inspection if it fails).
func scratchDirectory(_ name: String = #function) -> String {
    let dir = temporaryDirectory(name)
    ScratchFolders.created.append(dir)
    return dir
}

enum ScratchFolders {
    nonisolated(unsafe) static var created: [String] = []
}

/// Base class of the reliability tests: cleans up `scratchDirectory` folders (checkpoints add up to hundreds of
/// megabytes per run of the target).
class ReliabilityTestCase: XCTestCase {
    override func tearDown() {
        // (`hasSucceeded` is only final after tearDown; the failure count is already complete.)
        if testRun?.totalFailureCount == 0 {
            for dir in ScratchFolders.created { try? FileManager.default.removeItem(atPath: dir) }
        }
        ScratchFolders.created = []
        super.tearDown()
    }
}

/// The `tools` executable of this build, run as a subprocess.
enum ToolsBinary {
    /// `tools` next to the test bundle (same configuration), else in the package's `.build/release`.
    static var path: String {
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(((exe as NSString).deletingLastPathComponent as NSString).appendingPathComponent("tools"))
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        candidates += ["\(root)/.build/release/tools", "\(root)/.build/debug/tools"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// Fails the test when the binary is missing (it is built with the tests: `swift build --build-tests`).
    static func require(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let p = path
        guard FileManager.default.isExecutableFile(atPath: p) else {
            XCTFail("no tools binary at \(p); build it with `swift build -c release --build-tests`", file: file, line: line)
            throw XCTSkip("tools binary missing")
        }
        return p
    }
}

/// A finished subprocess.
struct ToolsResult {
    let status: Int32
    /// The signal that ended it, if any.
    let signal: Int32?
    let stdout: String
    let stderr: String
}

/// A running `tools` subprocess whose output is collected as it arrives.
final class ToolsProcess {
    let process = Process()
    private let lock = NSLock()
    private var out = Data(), err = Data()
    private let readers = DispatchGroup()

    /// Starts `tools args…`; with `shellPrefix`, runs it through `/bin/sh -c 'PREFIX; exec "$0" "$@"'` (to set
    /// limits or signal dispositions for the child).
    init(_ args: [String], shellPrefix: String? = nil) throws {
        let tools = try ToolsBinary.require()
        if let shellPrefix {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "\(shellPrefix); exec \"$0\" \"$@\"", tools] + args
        } else {
            process.executableURL = URL(fileURLWithPath: tools)
            process.arguments = args
        }
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for (pipe, isOut) in [(outPipe, true), (errPipe, false)] {
            readers.enter()
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread { [self] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    lock.withLock { if isOut { out.append(chunk) } else { err.append(chunk) } }
                }
                readers.leave()
            }
        }
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }

    /// Waits until stdout contains `text` (true) or the process ends or `timeout` passes (false).
    func waitForOutput(_ text: String, timeout: TimeInterval = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stdout.contains(text) { return true }
            if !process.isRunning { return stdout.contains(text) }
            usleep(5_000)
        }
        return false
    }

    func send(_ signal: Int32) { kill(pid, signal) }

    /// Waits for the end (killing the process after `timeout`) and returns what it printed.
    @discardableResult
    func finish(timeout: TimeInterval = 120) -> ToolsResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
        _ = readers.wait(timeout: .now() + 10)
        let sig: Int32? = process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
        return ToolsResult(status: process.terminationStatus, signal: sig, stdout: stdout, stderr: stderr)
    }

    /// Runs `tools args…` to the end.
    static func run(_ args: [String], shellPrefix: String? = nil, timeout: TimeInterval = 120) throws -> ToolsResult {
        try ToolsProcess(args, shellPrefix: shellPrefix).finish(timeout: timeout)
    }
}

/// Asserts that `body` throws an error whose description contains every string in `needles`; returns the text.
@discardableResult
func assertThrows<T>(_ needles: [String], file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws -> T) -> String {
    do {
        _ = try body()
        XCTFail("expected an error mentioning \(needles)", file: file, line: line)
        return ""
    } catch {
        let text = "\(error)"
        for n in needles where !text.contains(n) {
            XCTFail("error «\(text)» does not mention «\(n)»", file: file, line: line)
        }
        return text
    }
}

/// Bytes of a file (empty when missing).
func fileBytes(_ path: String) -> [UInt8] {
    (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
}

func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                            withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}
