import ClasData
import XCTest

/// Batch order, drop_last, epoch-seeded shuffles and the distributed split.
final class SamplerTests: XCTestCase {
    func testSequentialBatches() throws {
        let s = try BatchSampler(datasetCount: 10, batchSize: 4)
        XCTAssertEqual(s.batches(epoch: 0), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        XCTAssertEqual(s.batchCount, 3)
        let d = try BatchSampler(datasetCount: 10, batchSize: 4, dropLast: true)
        XCTAssertEqual(d.batches(epoch: 0), [[0, 1, 2, 3], [4, 5, 6, 7]])
        XCTAssertEqual(d.batchCount, 2)
        XCTAssertEqual(try BatchSampler(datasetCount: 3, batchSize: 4, dropLast: true).batches(epoch: 0), [])
    }

    func testShuffleIsAPermutationSeededByEpoch() throws {
        let s = try BatchSampler(datasetCount: 50, batchSize: 8, shuffle: true, seed: 7)
        let e1 = s.indices(epoch: 1)
        XCTAssertEqual(e1.sorted(), Array(0..<50))
        XCTAssertEqual(e1, s.indices(epoch: 1), "same epoch, same order")
        XCTAssertNotEqual(e1, s.indices(epoch: 2), "a new order each epoch")
        XCTAssertNotEqual(e1, Array(0..<50))
        let other = try BatchSampler(datasetCount: 50, batchSize: 8, shuffle: true, seed: 8)
        XCTAssertNotEqual(e1, other.indices(epoch: 1), "the seed matters")
        XCTAssertEqual(s.batches(epoch: 1).flatMap { $0 }, e1)
    }

    func testDistributedRanksAreEqualAndCoverEverything() throws {
        for (n, world, bs) in [(10, 3, 2), (17, 4, 3), (8, 2, 4), (5, 4, 1)] {
            var all: [Int] = []
            var counts: Set<Int> = []
            for rank in 0..<world {
                let s = try BatchSampler(datasetCount: n, batchSize: bs, shuffle: true, seed: 1, rank: rank, worldSize: world)
                let idx = s.indices(epoch: 3)
                counts.insert(idx.count)
                all += idx
                XCTAssertEqual(s.batches(epoch: 3).count, s.batchCount)
            }
            XCTAssertEqual(counts, [(n + world - 1) / world], "n=\(n) world=\(world): equal share per rank")
            XCTAssertEqual(Set(all), Set(0..<n), "every sample is seen")
            XCTAssertEqual(all.count - n, (world - n % world) % world, "padding only")
        }
    }

    func testDistributedDealsBatchChunksLikePaddle() throws {
        // 8 samples, 2 ranks, batch 2, no shuffle: rank 0 takes [0,1],[4,5]; rank 1 [2,3],[6,7].
        let r0 = try BatchSampler(datasetCount: 8, batchSize: 2, rank: 0, worldSize: 2)
        let r1 = try BatchSampler(datasetCount: 8, batchSize: 2, rank: 1, worldSize: 2)
        XCTAssertEqual(r0.batches(epoch: 0), [[0, 1], [4, 5]])
        XCTAssertEqual(r1.batches(epoch: 0), [[2, 3], [6, 7]])
        // 5 samples, 2 ranks, batch 2: padded to 6 = [0..4, 0]; tail of 2 split 1 + 1.
        let t0 = try BatchSampler(datasetCount: 5, batchSize: 2, rank: 0, worldSize: 2)
        let t1 = try BatchSampler(datasetCount: 5, batchSize: 2, rank: 1, worldSize: 2)
        XCTAssertEqual(t0.indices(epoch: 0), [0, 1, 4])
        XCTAssertEqual(t1.indices(epoch: 0), [2, 3, 0])
    }

    func testValidation() {
        TestData.assertThrows(["batch_size must be positive"]) { try BatchSampler(datasetCount: 3, batchSize: 0) }
        TestData.assertThrows(["rank 2 is not in 0..<2"]) { try BatchSampler(datasetCount: 3, batchSize: 1, rank: 2, worldSize: 2) }
    }

    func testMultiScalePlanFollowsPaddleClas() throws {
        // MobileViTV3's sampler: scales [256, 160, 192, 224, 288, 320], first_bs 48, divided_factor 32.
        let plan = try MultiScalePlan(scales: [256, 160, 192, 224, 288, 320].map { ($0, $0) }, firstBatchSize: 48,
                                      samplesPerRank: 1000, seed: 0)
        XCTAssertEqual(plan.shapes.map(\.batchSize), [48, 122, 85, 62, 37, 30])   // int(256²·48 / s²)
        XCTAssertGreaterThanOrEqual(plan.batches.reduce(0) { $0 + $1.batchSize }, 1000)
        XCTAssertLessThan(plan.batches.dropLast().reduce(0) { $0 + $1.batchSize }, 1000)
        XCTAssertEqual(try MultiScalePlan(scales: [(250, 200)], firstBatchSize: 4, isTraining: true, samplesPerRank: 9, seed: 0)
                        .shapes, [.init(width: 224, height: 192, batchSize: 4)], "sides rounded down to multiples of 32")
        XCTAssertEqual(try MultiScalePlan(scales: [(250, 200), (64, 64)], firstBatchSize: 4, isTraining: false,
                                          samplesPerRank: 9, seed: 0).batches.count, 3, "evaluation: the first scale only")
        // Two ranks take alternate indices of one shuffled order; each batch has its planned size.
        var seen: [Int] = []
        for rank in 0..<2 {
            let s = try BatchSampler(datasetCount: 9, batchSize: 4, shuffle: true, seed: 3, rank: rank, worldSize: 2,
                                     multiScale: try MultiScalePlan(scales: [(64, 64), (32, 32)], firstBatchSize: 1,
                                                                    samplesPerRank: 5, seed: 3))
            let batches = s.batches(epoch: 2)
            XCTAssertEqual(batches.map(\.count), s.multiScale?.batches.map(\.batchSize))
            XCTAssertEqual(s.batchCount, batches.count)
            seen += batches.flatMap { $0 }
            XCTAssertEqual(s.imageSize(ofBatch: 0).map { [$0.width, $0.height] }, s.multiScale.map { [$0.batches[0].width, $0.batches[0].height] })
        }
        XCTAssertEqual(Set(seen), Set(0..<9))
    }
}
