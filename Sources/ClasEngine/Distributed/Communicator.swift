/// Collective operations across the processes of a data-parallel run (Open MPI under `mpirun`, or one process).
///
/// Every process must call the same collectives, in the same order, with the same counts. Collectives do not
/// throw: a failed or stalled collective ends the whole job (see ``CollectiveWatchdog``), because the other
/// processes could not continue without it.
public protocol Communicator: AnyObject {
    /// This process's index, 0 ..< `worldSize`; rank 0 logs, evaluates the first shard and writes checkpoints.
    var rank: Int { get }
    /// Number of processes.
    var worldSize: Int { get }
    /// Replaces `values` by their element-wise sum over all processes. `label` names the operation in errors.
    func allReduce(_ values: UnsafeMutablePointer<Float>, count: Int, label: String)
    /// Replaces `values` by their element-wise sum, maximum or minimum over all processes.
    func allReduce(_ values: UnsafeMutablePointer<Double>, count: Int, operation: ReduceOperation, label: String)
    /// Starts summing `values` in place over all processes; the buffer must stay untouched until the returned
    /// reduction has completed.
    func startAllReduce(_ values: UnsafeMutablePointer<Float>, count: Int, label: String) -> PendingReduction
    /// Copies `count` bytes from process `root` into `bytes` on every other process.
    func broadcast(_ bytes: UnsafeMutableRawPointer, count: Int, root: Int, label: String)
    /// Waits until every process has arrived.
    func barrier(label: String)
}

/// The element-wise operation of an all-reduce.
public enum ReduceOperation: Sendable {
    case sum, max, min
}

/// A reduction started with ``Communicator/startAllReduce(_:count:label:)``.
public protocol PendingReduction: AnyObject {
    /// Lets the reduction progress without blocking; true once it has completed.
    func poll() -> Bool
    /// Blocks until the reduction has completed.
    func wait()
}

extension Communicator {
    /// True when there is more than one process.
    public var isDistributed: Bool { worldSize > 1 }

    /// The sum (or max, min) of one value over all processes.
    public func allReduce(_ value: Double, operation: ReduceOperation, label: String) -> Double {
        var v = value
        allReduce(&v, count: 1, operation: operation, label: label)
        return v
    }
}

/// The communicator of a plain, single-process run: every collective is the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public func allReduce(_ values: UnsafeMutablePointer<Float>, count: Int, label: String) {}
    public func allReduce(_ values: UnsafeMutablePointer<Double>, count: Int, operation: ReduceOperation, label: String) {}
    public func startAllReduce(_ values: UnsafeMutablePointer<Float>, count: Int, label: String) -> PendingReduction {
        CompletedReduction()
    }
    public func broadcast(_ bytes: UnsafeMutableRawPointer, count: Int, root: Int, label: String) {}
    public func barrier(label: String) {}
}

/// A reduction that finished when it started.
public final class CompletedReduction: PendingReduction {
    public init() {}
    public func poll() -> Bool { true }
    public func wait() {}
}
