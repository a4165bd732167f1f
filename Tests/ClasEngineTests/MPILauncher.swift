import Foundation
import XCTest

/// Runs the release `tools` binary, alone or under Open MPI's `mpirun`, for the distributed-training tests.
struct MPILauncher {
    /// The result of one run.
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
        let seconds: Double
        var output: String { stdout + stderr }
    }

    let tools: String
    let mpirun: String

    /// Finds `.build/release/tools` (built by `swift build -c release --build-tests`), `mpirun` and libmpi, or skips.
    init(file: String = #filePath) throws {
        let root = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        tools = root + "/.build/release/tools"
        guard FileManager.default.isExecutableFile(atPath: tools) else {
            throw XCTSkip("\(tools) is missing; build it with `swift build -c release --build-tests`")
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let found = path.split(separator: ":").map({ "\($0)/mpirun" }).first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) else {
            throw XCTSkip("mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev)")
        }
        mpirun = found
        // mpirun without a loadable libmpi (a broken install): the ranks would stop with an error, so skip.
        guard let library = dlopen("libmpi.so.40", RTLD_NOW) ?? dlopen("libmpi.so", RTLD_NOW) else {
            throw XCTSkip("mpirun is installed but libmpi.so.40 cannot be loaded (Debian: apt-get install libopenmpi-dev)")
        }
        dlclose(library)
    }

    /// Environment of every run: one kernel thread per process, and what Open MPI needs in a container as root.
    static var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["CLAS_NUM_THREADS"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"  // no CMA/ptrace in containers
        return env
    }

    /// `tools train` in one process.
    func train(_ arguments: [String], timeout: Double = 300) throws -> Run {
        try run(tools, ["train"] + arguments, timeout: timeout)
    }

    /// `mpirun -np N tools train` on this machine; `monitor` is called every 50 ms with mpirun's pid.
    func trainMPI(processes: Int, _ arguments: [String], timeout: Double = 300,
                  monitor: ((Int32) -> Void)? = nil) throws -> Run {
        try run(mpirun, ["--oversubscribe", "--bind-to", "none", "-np", "\(processes)", tools, "train"] + arguments,
                timeout: timeout, monitor: monitor)
    }

    /// Runs a program to completion (killing it and its children after `timeout` seconds).
    func run(_ program: String, _ arguments: [String], timeout: Double, monitor: ((Int32) -> Void)? = nil) throws -> Run {
        let dir = temporaryFolder()
        let out = dir + "/stdout", err = dir + "/stderr"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        p.environment = MPILauncher.environment
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        let start = Date()
        try p.run()
        while p.isRunning {
            if Date().timeIntervalSince(start) > timeout {
                MPILauncher.kill(treeOf: p.processIdentifier)
                p.waitUntilExit()
                let log = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
                XCTFail("\(program) did not finish within \(timeout) s; stderr:\n\(log.suffix(2000))")
                break
            }
            monitor?(p.processIdentifier)
            Thread.sleep(forTimeInterval: 0.05)
        }
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                   stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "",
                   seconds: Date().timeIntervalSince(start))
    }

    private func temporaryFolder() -> String {
        let dir = NSTemporaryDirectory() + "swiftclas-mpi-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The descendants of `pid` (from /proc).
    static func descendants(of pid: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var children: [Int32: [Int32]] = [:]
        for e in entries {
            guard let p = Int32(e), let stat = try? String(contentsOfFile: "/proc/\(e)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { children[parent, default: []].append(p) }
        }
        var out: [Int32] = [], stack = [pid]
        while let p = stack.popLast() {
            for c in children[p] ?? [] {
                out.append(c)
                stack.append(c)
            }
        }
        return out
    }

    /// The process of MPI rank `rank` among the descendants of mpirun `pid`, if it runs.
    static func rankProcess(_ rank: Int, of pid: Int32) -> Int32? {
        descendants(of: pid).first { p in
            guard let data = FileManager.default.contents(atPath: "/proc/\(p)/environ") else { return false }
            return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=\(rank)" }
        }
    }

    /// Kills `pid` and everything it started.
    static func kill(treeOf pid: Int32) {
        for p in [pid] + descendants(of: pid) { Foundation.kill(p, SIGKILL) }
    }
}
