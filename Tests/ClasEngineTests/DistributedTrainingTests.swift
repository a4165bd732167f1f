import ClasEngine
import Foundation
import XCTest

/// Data-parallel training with `mpirun -np 2 tools train` on this machine, compared with one process training on
/// the same global batch. Skips when mpirun or the release `tools` binary is missing.
final class DistributedTrainingTests: XCTestCase {
    /// Settings every run shares: no dropout (its streams differ per rank), the tiny dataset of `TinyRun`.
    let common = ["-o", "Arch.dropout_prob=0", "-o", "Global.eval_during_train=True", "-o", "Optimizer.lr.learning_rate=0.01"]

    func run(_ name: String, extra: [String] = []) throws -> (TinyRun, [String]) {
        let run = try TinyRun(epochs: 2, name: name)
        return (run, ["-c", run.config] + common + extra.flatMap { ["-o", $0] })
    }

    /// Largest absolute difference between the common tensors of two checkpoints (every tensor must be in both).
    func maxDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Float {
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        var worst: Float = 0
        for (name, x) in a {
            guard let y = b[name], x.count == y.count else {
                XCTFail("\(name) differs in shape")
                continue
            }
            for i in 0..<x.count { worst = max(worst, abs(x[i] - y[i])) }
        }
        return worst
    }

    /// Frozen BatchNorm: 2 ranks × batch 4 equal 1 process × batch 8 (the same samples in every step), 8 steps.
    func testTwoRanksEqualOneProcessWithTheSameGlobalBatch() throws {
        let launcher = try MPILauncher()
        let (single, a) = try run("single", extra: ["Arch.freeze_bn=True"])
        let one = try launcher.train(a + ["-o", "DataLoader.Train.sampler.batch_size=8"])
        XCTAssertEqual(one.status, 0, one.output)
        let (pair, b) = try run("pair", extra: ["Arch.freeze_bn=True"])
        let two = try launcher.trainMPI(processes: 2, b + ["-o", "DataLoader.Train.sampler.batch_size=4"])
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertTrue(two.stdout.contains("Distributed training: 2 processes × batch_size 4 = global batch 8"), two.stdout)
        XCTAssertEqual(two.stdout.components(separatedBy: "[Train][Epoch 2/2][Avg]").count, 2, "only rank 0 logs")
        // The launcher gives each rank one thread (CLAS_NUM_THREADS=1): rank 0's log names it and the BLAS kernel.
        XCTAssertTrue(two.stdout.contains("Compute: 1 threads, "), two.stdout)

        let reference = try single.weights("latest"), distributed = try pair.weights("latest")
        let difference = maxDifference(reference, distributed)
        // Measured: 3e-8 (summation order only), so the replicas follow one process step for step.
        XCTAssertLessThan(difference, 1e-6, "2 ranks vs 1 process")
        // The second epoch alone moved the weights by ~3e-3, far more than the tolerance: a wrong average would show.
        XCTAssertGreaterThan(maxDifference(try single.weights("epoch_1"), reference), 1e-3)
        // Sharded evaluation gives the same metrics as one process on the whole split.
        XCTAssertEqual(evalLine(one.stdout, epoch: 2), evalLine(two.stdout, epoch: 2))
        XCTAssertFalse(evalLine(two.stdout, epoch: 2).isEmpty)
    }

    /// SyncBN: BatchNorm statistics over both ranks' samples equal one process's over the whole batch.
    ///
    /// Two steps only (one epoch of 16 + 16 images, no warm-up): with 8 images a BatchNorm over 1×1 feature maps is
    /// so ill-conditioned that float rounding alone grows by ~100× per step (one process with 1 vs 2 threads differs
    /// by 1e-3 after 3 steps), so a longer run would compare noise. After 2 steps SyncBN agrees to ~3e-5 while
    /// per-rank statistics differ by ~0.3.
    func testSyncBatchNormMatchesOneProcessOnTheWholeBatch() throws {
        let launcher = try MPILauncher()
        let short = ["Global.epochs=1", "Optimizer.lr.warmup_epoch=0"]
        let (single, a) = try run("syncSingle", extra: short)
        let one = try launcher.train(a + ["-o", "DataLoader.Train.sampler.batch_size=16"])
        XCTAssertEqual(one.status, 0, one.output)
        let (pair, b) = try run("syncPair", extra: short + ["Arch.use_sync_bn=True"])
        let two = try launcher.trainMPI(processes: 2, b + ["-o", "DataLoader.Train.sampler.batch_size=8"])
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertTrue(two.stdout.contains("synchronised (SyncBN)"), two.stdout)
        let reference = try single.weights("latest")
        XCTAssertLessThan(maxDifference(reference, try pair.weights("latest")), 1e-3, "weights and running statistics")

        // Without SyncBN each rank normalises with its own 8 samples: clearly different weights and statistics.
        let (local, c) = try run("localBN", extra: short)
        let three = try launcher.trainMPI(processes: 2, c + ["-o", "DataLoader.Train.sampler.batch_size=8"])
        XCTAssertEqual(three.status, 0, three.output)
        XCTAssertGreaterThan(maxDifference(reference, try local.weights("latest")), 3e-2)
    }

    /// A rank that is killed ends the job promptly (Open MPI notices the dead process) and the last checkpoint
    /// stays readable.
    func testAKilledRankStopsTheJobAndKeepsTheLastCheckpoint() throws {
        let launcher = try MPILauncher()
        let (tiny, a) = try run("killed", extra: ["Global.epochs=400", "Global.eval_during_train=False"])
        let latest = "\(tiny.modelDir)/latest.safetensors"
        var killedAt: Date?
        let result = try launcher.trainMPI(processes: 2, a, timeout: 120) { pid in
            guard killedAt == nil, FileManager.default.fileExists(atPath: latest),
                  let victim = MPILauncher.rankProcess(1, of: pid) else { return }
            kill(victim, SIGKILL)
            killedAt = Date()
        }
        let killed = try XCTUnwrap(killedAt, "rank 1 was never found running")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(killed), 30, "the job should stop soon after a rank dies")
        XCTAssertTrue(result.stderr.contains("rank 1") || result.stderr.contains("signal 9"), result.stderr)
        let state = try XCTUnwrap(Checkpoint.read(prefix: "\(tiny.modelDir)/latest").state)
        XCTAssertGreaterThanOrEqual(state.epoch, 1)
        XCTAssertLessThan(state.epoch, 400)
    }

    /// A rank that hangs (stopped, not dead) trips the other rank's collective timeout: the job ends with a clear
    /// message instead of waiting forever.
    func testAHungRankTripsTheCollectiveTimeout() throws {
        let launcher = try MPILauncher()
        let (tiny, a) = try run("hung", extra: ["Global.epochs=400", "Global.eval_during_train=False",
                                               "Global.collective_timeout=3"])
        let latest = "\(tiny.modelDir)/latest.safetensors"
        var stopped: Int32?
        let result = try launcher.trainMPI(processes: 2, a, timeout: 120) { pid in
            guard stopped == nil, FileManager.default.fileExists(atPath: latest),
                  let victim = MPILauncher.rankProcess(1, of: pid) else { return }
            kill(victim, SIGSTOP)
            stopped = victim
        }
        if let stopped { kill(stopped, SIGKILL) }
        XCTAssertNotNil(stopped, "rank 1 was never found running")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("has not completed after"), result.stderr)
        XCTAssertTrue(result.stderr.contains("-o Global.checkpoints=\(tiny.modelDir)/latest"), result.stderr)
        XCTAssertNoThrow(try Checkpoint.read(prefix: "\(tiny.modelDir)/latest"))
    }

    /// Started "by mpirun" (its environment) when libmpi cannot be loaded: a clear error, no crash. Runs without MPI.
    func testMissingMPILibraryIsAClearError() throws {
        let env = ["OMPI_COMM_WORLD_SIZE": "2", "CLAS_MPI_LIBRARY": "/nonexistent/libmpi.so.40"]
        XCTAssertThrowsError(try Distributed.setUp(environment: env)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("started by mpirun, but Open MPI cannot be used"), text)
            XCTAssertTrue(text.contains("/nonexistent/libmpi.so.40"), text)
            XCTAssertTrue(text.contains("apt-get install libopenmpi-dev openmpi-bin"), text)
        }
        XCTAssertFalse(Distributed.current.isDistributed, "the process stays single-process")
        // Without mpirun's variables nothing is loaded at all.
        XCTAssertNoThrow(try Distributed.setUp(environment: ["CLAS_MPI_LIBRARY": "/nonexistent/libmpi.so.40"]))
        XCTAssertFalse(Distributed.current.isDistributed)
    }

    /// The `[Eval][Epoch e][Avg]` line without its time stamp.
    func evalLine(_ log: String, epoch: Int) -> String {
        let marker = "[Eval][Epoch \(epoch)][Avg]"
        guard let line = log.split(separator: "\n").first(where: { $0.contains(marker) }),
              let range = line.range(of: marker) else { return "" }
        return String(line[range.lowerBound...])
    }
}
