import ClasMPI
import Foundation

/// Collectives through Open MPI, loaded at run time (`ClasMPI`), every blocking call guarded by a watchdog.
///
/// Created by ``Distributed/setUp(environment:)`` in processes started by `mpirun`. Gradients are summed with
/// `MPI_Allreduce`/`MPI_Iallreduce` on `MPI_COMM_WORLD`; Open MPI gives every process the same result.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let worldSize: Int
    /// The library file that was loaded.
    public let libraryName: String
    /// The thread level MPI provided (3 = MPI_THREAD_MULTIPLE, needed for the watchdog to abort safely).
    public let threadLevel: Int
    let watchdog: CollectiveWatchdog
    /// Whether waits test and sleep (``clas_mpi_wait_yielding``) rather than spin in `MPI_Wait`/`MPI_Allreduce`.
    let yielding: Bool
    private var finalized = false

    /// Loads Open MPI and initialises it.
    /// - Parameters:
    ///   - library: a path or file name, or nil for `libmpi.so.40` / `libmpi.so`.
    ///   - timeout: seconds a collective may take before the job is aborted.
    ///   - yielding: wait for collectives by testing and sleeping, leaving the core to a rank that is still
    ///     computing (Open MPI's blocking calls spin, which halves the speed when ranks share cores).
    init(library: String?, timeout: Double, yielding: Bool = true) throws {
        self.yielding = yielding
        var message = [CChar](repeating: 0, count: 512)
        guard clas_mpi_load(library, &message, Int32(message.count)) == 0 else {
            throw EngineError("this process was started by mpirun, but Open MPI cannot be used: "
                              + String(cString: message)
                              + ". Install it (apt-get install libopenmpi-dev openmpi-bin) or set CLAS_MPI_LIBRARY "
                              + "to the path of libmpi.so")
        }
        libraryName = String(cString: clas_mpi_library_name())
        var r: Int32 = 0, n: Int32 = 0, level: Int32 = 0
        let rc = clas_mpi_init(&r, &n, &level)
        guard rc == 0 else { throw EngineError("MPI_Init_thread failed with error \(rc)") }
        rank = Int(r)
        worldSize = Int(n)
        threadLevel = Int(level)
        let rankText = "rank \(r) of \(n) (\(ProcessInfo.processInfo.hostName), pid \(getpid()))"
        watchdog = CollectiveWatchdog(timeout: timeout) { label, elapsed in
            Distributed.abortJob("SwiftClas \(rankText): '\(label)' has not completed after "
                                 + String(format: "%.0f", elapsed) + " s (Global.collective_timeout); another rank "
                                 + "has stopped, hung or lost its connection. Stopping every rank.")
        }
    }

    public func allReduce(_ values: UnsafeMutablePointer<Float>, count: Int, label: String) {
        check(watchdog.guarded(label) { reduce(values, Int64(count), Int32(CLAS_MPI_FLOAT), Int32(CLAS_MPI_SUM)) }, label)
    }

    public func allReduce(_ values: UnsafeMutablePointer<Double>, count: Int, operation: ReduceOperation, label: String) {
        let op = operation == .sum ? CLAS_MPI_SUM : operation == .max ? CLAS_MPI_MAX : CLAS_MPI_MIN
        check(watchdog.guarded(label) { reduce(values, Int64(count), Int32(CLAS_MPI_DOUBLE), Int32(op)) }, label)
    }

    private func reduce(_ values: UnsafeMutableRawPointer, _ count: Int64, _ type: Int32, _ op: Int32) -> Int32 {
        yielding ? clas_mpi_allreduce_yielding(values, count, type, op) : clas_mpi_allreduce(values, count, type, op)
    }

    public func startAllReduce(_ values: UnsafeMutablePointer<Float>, count: Int, label: String) -> PendingReduction {
        precondition(count < 1 << 30, "a non-blocking reduction holds fewer than 2^30 values")
        let request = Request(communicator: self, label: label)
        check(clas_mpi_iallreduce(values, Int64(count), Int32(CLAS_MPI_FLOAT), Int32(CLAS_MPI_SUM), &request.handle), label)
        return request
    }

    public func broadcast(_ bytes: UnsafeMutableRawPointer, count: Int, root: Int, label: String) {
        check(watchdog.guarded(label) { clas_mpi_bcast(bytes, Int64(count), Int32(root)) }, label)
    }

    public func barrier(label: String) {
        check(watchdog.guarded(label) { clas_mpi_barrier() }, label)
    }

    /// `MPI_Finalize` (once); every process must call it before exiting normally.
    func finalize() {
        guard !finalized else { return }
        finalized = true
        watchdog.stop()
        _ = clas_mpi_finalize()
    }

    private func check(_ rc: Int32, _ label: String) {
        if rc != 0 { Distributed.abortJob("SwiftClas rank \(rank): MPI error \(rc) in '\(label)'") }
    }

    /// An `MPI_Iallreduce` in flight.
    final class Request: PendingReduction {
        var handle: UnsafeMutableRawPointer?
        let communicator: MPICommunicator
        let label: String
        private var done = false

        init(communicator: MPICommunicator, label: String) {
            self.communicator = communicator
            self.label = label
        }

        func poll() -> Bool {
            guard !done else { return true }
            var flag: Int32 = 0
            communicator.check(clas_mpi_test(&handle, &flag), label)
            done = flag != 0
            return done
        }

        func wait() {
            guard !done else { return }
            communicator.check(communicator.watchdog.guarded(label) {
                communicator.yielding ? clas_mpi_wait_yielding(&handle) : clas_mpi_wait(&handle)
            }, label)
            done = true
        }
    }
}
