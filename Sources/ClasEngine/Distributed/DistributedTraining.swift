import ClasNN
import ClasOptim
import ClasTensor
import Foundation

/// What the trainer does differently when several processes train one model (data parallelism):
/// averaging gradients, agreeing on when to stop, and keeping the replicas identical.
///
/// Every process holds a full replica and trains on its own shard of each batch. After the backward pass the
/// gradients are averaged (``GradientAverager``, overlapped with the backward pass), so every replica takes the
/// same optimizer step. Decisions that one process could take alone (stop on Ctrl-C, stop on a non-finite loss)
/// are agreed through a small all-reduce, so no process is left waiting in a collective.
final class DistributedTraining {
    let communicator: Communicator
    let averager: GradientAverager
    let syncBatchNorm: Bool
    private let model: Module
    private let optimizer: Optimizer
    private let ema: ModelEMA?
    private let logger: RunLogger

    /// - Parameters:
    ///   - environment: `CLAS_ALLREDUCE_BUCKET_MB` (default 4) sets the bucket size, `CLAS_ALLREDUCE_OVERLAP=0`
    ///     reduces all buckets after the backward pass instead of during it.
    init(engine: Engine, optimizer: Optimizer, ema: ModelEMA?,
         environment: [String: String] = ProcessInfo.processInfo.environment) {
        communicator = engine.communicator
        syncBatchNorm = engine.syncBatchNorm
        model = engine.model
        self.optimizer = optimizer
        self.ema = ema
        logger = engine.logger
        let megabytes = environment["CLAS_ALLREDUCE_BUCKET_MB"].flatMap(Double.init) ?? 4
        averager = GradientAverager(parameters: optimizer.parameters.map(\.tensor).filter(\.requiresGrad),
                                    communicator: communicator, bucketBytes: max(1, Int(megabytes * 1_048_576)),
                                    overlap: environment["CLAS_ALLREDUCE_OVERLAP"] != "0")
    }

    /// Whether this process writes logs and checkpoints.
    var isWriter: Bool { communicator.rank == 0 }

    /// The seed of this process's dropout and drop-path streams: rank 0 keeps the run's seed, others differ.
    func stepSeed(_ seed: UInt64) -> UInt64 { seed &+ UInt64(communicator.rank) &* 0x9E37_79B9_7F4A_7C15 }

    /// Everything that must be identical on every process.
    private var replicaState: [(String, Tensor)] {
        model.stateDict() + optimizer.state.map { ("optimizer.\($0.0)", $0.1) }
            + (ema?.shadow.map { ("ema.\($0.0)", $0.1) } ?? [])
    }

    /// At the start of training (after a resume): checks that every process built the same model, copies rank
    /// 0's weights, buffers, optimizer and EMA state to all, and logs whether they already agreed.
    func synchronizeAtStart(batchSize: Int) throws {
        let state = replicaState
        guard ReplicaSync.agree(ReplicaSync.layoutChecksum(state), communicator, label: "model layout check") else {
            throw EngineError("the processes built different models or optimizer states (tensor names or shapes "
                              + "differ); every rank must use the same config, data classes and SwiftClas version")
        }
        let sum = ReplicaSync.checksum(state.map(\.1))
        let identical = ReplicaSync.agree(sum, communicator, label: "initial weights check")
        ReplicaSync.broadcast(state.map(\.1), from: 0, communicator, label: "initial weights broadcast")
        if !identical {
            logger.warning("the ranks' initial weights differed (different library versions or checkpoint files?); "
                           + "rank 0's weights were copied to every rank")
        }
        let w = communicator.worldSize
        logger.info("Distributed training: \(w) processes × batch_size \(batchSize) = global batch \(w * batchSize) "
                    + "(the learning rate is used as configured); gradients averaged in \(averager.bucketCount) "
                    + "bucket(s)\(averager.overlap ? " during the backward pass" : " after the backward pass"); "
                    + "BatchNorm statistics \(syncBatchNorm ? "synchronised (SyncBN)" : "per process, averaged at checkpoints"); "
                    + "weights identical on every rank (checksum \(String(sum, radix: 16)))")
    }

    /// The signal any process received (every process calls this at the same iteration).
    func agreedSignal(_ local: Int32?) -> Int32? {
        let v = communicator.allReduce(Double(local ?? 0), operation: .max, label: "interruption check")
        return v > 0 ? Int32(v) : nil
    }

    /// Whether the loss is finite on every process.
    func lossIsFiniteEverywhere(_ loss: Float) -> Bool {
        communicator.allReduce(loss.isFinite ? 0 : 1, operation: .max, label: "loss check") == 0
    }

    /// The epoch's training averages over all processes (each saw the same number of samples), so the epoch
    /// log line and every observer see the same global values.
    func averageOverRanks(_ values: [(String, Double)]) -> [(String, Double)] {
        var v = values.map(\.1)
        communicator.allReduce(&v, count: v.count, operation: .sum, label: "training averages")
        return zip(values, v).map { ($0.0.0, $0.1 / Double(communicator.worldSize)) }
    }

    /// Whether `flag` is true on any process.
    func anyRank(_ flag: Bool) -> Bool {
        communicator.allReduce(flag ? 1 : 0, operation: .max, label: "early-stop agreement") > 0
    }

    /// Before evaluating or writing a checkpoint: averages the BatchNorm running statistics (without SyncBN each
    /// process keeps its own), then verifies that the replicas are identical, copying rank 0's state if not.
    func reconcile() {
        if !syncBatchNorm {
            let bufferNames = Set(model.namedBuffers().map(\.0))
            let buffers = model.namedBuffers().map(\.1) + (ema?.shadow.filter { bufferNames.contains($0.0) }.map(\.1) ?? [])
            ReplicaSync.average(buffers, communicator, label: "BatchNorm statistics average")
        }
        let state = replicaState.map(\.1)
        if !ReplicaSync.agree(ReplicaSync.checksum(state), communicator, label: "replica check") {
            logger.warning("the replicas' weights had drifted apart; rank 0's were copied to every rank")
            ReplicaSync.broadcast(state, from: 0, communicator, label: "replica broadcast")
        }
    }

    /// Waits for every process (e.g. until rank 0 has written a checkpoint).
    func barrier(_ label: String) { communicator.barrier(label: label) }
}
