import ClasKernels
import ClasMPI
import Foundation

/// The process-wide data-parallel setup: which communicator this process uses, and how a job ends.
///
/// `tools train` calls ``run(_:)``. A process started by Open MPI's `mpirun` (it sets `OMPI_COMM_WORLD_SIZE`)
/// loads Open MPI at run time and joins the job; any other process is a plain single-process run and never touches
/// MPI, so building and running SwiftClas needs no MPI installation.
public enum Distributed {
    /// The communicator of this process (``SingleProcess`` unless started by mpirun).
    nonisolated(unsafe) public private(set) static var current: Communicator = SingleProcess()
    nonisolated(unsafe) private static var mpi: MPICommunicator?
    /// Added to the message when the job is aborted (e.g. where the last checkpoint is and how to resume).
    nonisolated(unsafe) public static var abortHint: String?
    /// Default seconds a collective may take (`Global.collective_timeout`, `CLAS_COLLECTIVE_TIMEOUT`).
    public static let defaultCollectiveTimeout = 300.0

    /// Thrown by every rank at once when they agreed to stop (interruption, a non-finite loss); the rank that
    /// writes checkpoints reports it, the others exit quietly.
    public struct AgreedStop: Error, CustomStringConvertible {
        public let message: String
        /// Whether this rank should print the message.
        public let report: Bool
        public var description: String { message }
    }

    /// The world size `mpirun` announces to this process, or nil when it was not started by Open MPI's mpirun.
    public static func launcherWorldSize(_ environment: [String: String]) -> Int? {
        environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init)
    }

    /// Joins the MPI job when started by mpirun (idempotent); otherwise stays single-process.
    /// - Throws: when mpirun started this process but Open MPI cannot be loaded, or another MPI's launcher did.
    public static func setUp(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard mpi == nil else { return }
        guard let launched = launcherWorldSize(environment) else {
            if let size = environment["PMI_SIZE"].flatMap(Int.init), size > 1 {
                throw EngineError("this process was started by an MPICH-style launcher (PMI_SIZE=\(size)); SwiftClas "
                                  + "supports Open MPI's mpirun (Debian: openmpi-bin)")
            }
            return
        }
        let timeout = environment["CLAS_COLLECTIVE_TIMEOUT"].flatMap(Double.init) ?? defaultCollectiveTimeout
        let comm = try MPICommunicator(library: environment["CLAS_MPI_LIBRARY"], timeout: timeout,
                                       yielding: environment["CLAS_MPI_WAIT"] != "spin")
        guard comm.worldSize == launched else {
            throw EngineError("mpirun announced \(launched) processes but MPI reports \(comm.worldSize)")
        }
        mpi = comm
        current = comm
        // Share the cores between the ranks of one machine unless the thread count is given.
        if environment["CLAS_NUM_THREADS"] == nil {
            let local = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? 1
            clas_set_num_threads(Int32(max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, local))))
        }
    }

    /// Sets the seconds a collective may take before the job is aborted (no effect in a single process).
    public static func setCollectiveTimeout(_ seconds: Double) { mpi?.watchdog.timeout = seconds }

    /// Leaves the MPI job normally (`MPI_Finalize`); a no-op in a single process.
    public static func finish() { mpi?.finalize() }

    /// Prints `message` (and ``abortHint``) to stderr and ends every process of the job (`MPI_Abort`), or this
    /// process when it is alone.
    public static func abortJob(_ message: String, code: Int32 = 1) -> Never {
        var text = message
        if let abortHint { text += "\n" + abortHint }
        FileHandle.standardError.write(Data((text + "\n").utf8))
        if mpi != nil { clas_mpi_abort(code) }
        exit(code)
    }

    /// Runs a command in this process's role: joins the MPI job when launched by mpirun, runs `body`, and leaves
    /// the job. An error on one rank of a multi-process job aborts them all (the others may be waiting in a
    /// collective) after printing it with the rank; an ``AgreedStop`` ends every rank normally.
    public static func run(_ body: () throws -> Void) throws {
        try setUp()
        do {
            try body()
        } catch let stop as AgreedStop {
            finish()
            throw stop
        } catch {
            guard current.isDistributed else {
                finish()
                throw error
            }
            abortJob("[rank \(current.rank) of \(current.worldSize)] error: \(error)\nStopping every rank.")
        }
        finish()
    }

    /// Runs a single-process command (eval, infer) under mpirun: rank 0 runs it, the other ranks only leave the
    /// job. Without mpirun it simply runs `body`.
    public static func runOnRankZero(command: String, _ body: () throws -> Void) throws {
        try run {
            guard current.isDistributed else { return try body() }
            guard current.rank == 0 else { return }
            FileHandle.standardError.write(Data("note: tools \(command) runs in one process; rank 0 does the work\n".utf8))
            try body()
        }
    }
}
