import ClasData
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// Order, determinism across thread counts, error propagation, skipping bad images, early stop.
final class DataLoaderTests: XCTestCase {
    private var root = ""

    /// `n` gray PNGs `i.png` of size 6x5 with every pixel `i * 10`, listed with label `i % 3`.
    private func makeDataset(_ n: Int, sizes: [Int: (Int, Int)] = [:], bad: Set<Int> = []) throws -> ImageNetDataset {
        root = temporaryDirectory()
        var list = ""
        for i in 0..<n {
            let (w, h) = sizes[i] ?? (6, 5)
            var img = Image(width: w, height: h, channels: 1)
            for y in 0..<h { for x in 0..<w { img[x, y, 0] = UInt8((i * 10) % 250 + (x + y) % 3) } }
            let bytes = bad.contains(i) ? Array("broken".utf8) : try ImageCodec.encodePNG(img)
            try TestData.write(bytes, root, "\(i).png")
            list += "\(i).png \(i % 3)\n"
        }
        let path = try TestData.write(Array(list.utf8), root, "list.txt")
        return try ImageNetDataset(imageRoot: root, listPath: path)
    }

    private func loader(_ ds: ImageDataset, _ ops: [any ImageOp], batch: Int = 4, shuffle: Bool = false,
                        dropLast: Bool = false, workers: Int = 0, skip: Bool = false) throws -> DataLoader {
        let sampler = try BatchSampler(datasetCount: ds.count, batchSize: batch, shuffle: shuffle, dropLast: dropLast, seed: 11)
        return try DataLoader(dataset: ds, transforms: ops, sampler: sampler,
                              options: .init(numWorkers: workers, seed: 5, skipBadImages: skip))
    }

    private func all(_ it: EpochIterator) throws -> [Batch] {
        var out: [Batch] = []
        while let b = try it.next() { out.append(b) }
        return out
    }

    func testOrderLabelsAndPixels() throws {
        let ds = try makeDataset(10)
        for workers in [0, 2] {
            let batches = try all(try loader(ds, [try DecodeImage()], workers: workers).epoch(1))
            XCTAssertEqual(batches.map(\.count), [4, 4, 2])
            XCTAssertEqual(batches.flatMap(\.labels), (0..<10).map { $0 % 3 })
            XCTAssertEqual(batches[1].paths[0], root + "/4.png")
            XCTAssertEqual(batches[0].images.shape, [4, 5, 6, 3])
            // Image 5 (batch 1, slot 1), pixel (0,0): 50.
            XCTAssertEqual(batches[1].images[1, 0, 0, 2], 50)
            XCTAssertEqual(batches[2].images[1, 4, 5, 0], Float(90 + (5 + 4) % 3))
        }
        let dropped = try all(try loader(ds, [try DecodeImage()], dropLast: true).epoch(0))
        XCTAssertEqual(dropped.map(\.count), [4, 4])
    }

    func testShuffleDeterminismPerEpoch() throws {
        let ds = try makeDataset(12)
        let l = try loader(ds, [try DecodeImage()], shuffle: true)
        let a = try all(l.epoch(1)).flatMap(\.paths), b = try all(l.epoch(1)).flatMap(\.paths)
        let c = try all(l.epoch(2)).flatMap(\.paths)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(Set(a).count, 12)
    }

    func testZeroAndThreeWorkersGiveIdenticalBatches() throws {
        let ds = try makeDataset(23)
        let ops: [any ImageOp] = [
            try DecodeImage(), try RandCropImage(.init(size: SizeOption(4), interpolation: "random")),
            try RandFlipImage(), try NormalizeImage(),
        ]
        for epoch in [0, 1] {
            let serial = try all(try loader(ds, ops, batch: 5, shuffle: true, workers: 0).epoch(epoch))
            let threaded = try all(try loader(ds, ops, batch: 5, shuffle: true, workers: 3).epoch(epoch))
            XCTAssertEqual(serial.count, 5)
            XCTAssertEqual(serial.count, threaded.count)
            for (s, t) in zip(serial, threaded) {
                XCTAssertEqual(s.paths, t.paths)
                XCTAssertEqual(s.images.shape, t.images.shape)
                XCTAssertEqual(s.images.scalars, t.images.scalars, "bit-identical pixels")
            }
            let again = try all(try loader(ds, ops, batch: 5, shuffle: true, workers: 2).epoch(epoch))
            XCTAssertEqual(again.flatMap { $0.images.scalars }, serial.flatMap { $0.images.scalars })
        }
        // Different epochs augment differently.
        let e0 = try all(try loader(ds, ops, batch: 23).epoch(0))[0].images.scalars
        let e1 = try all(try loader(ds, ops, batch: 23).epoch(1))[0].images.scalars
        XCTAssertNotEqual(e0, e1)
    }

    func testBadImageErrorNamesTheFileAndEarlierBatchesArrive() throws {
        let ds = try makeDataset(10, bad: [6])
        for workers in [0, 1, 3] {
            let it = try loader(ds, [try DecodeImage()], batch: 2, workers: workers).epoch(0)
            var delivered = 0
            do {
                while try it.next() != nil { delivered += 1 }
                XCTFail("no error with \(workers) workers")
            } catch {
                XCTAssertTrue("\(error)".contains(root + "/6.png"), "\(error)")
                XCTAssertTrue("\(error)".contains("text file"), "\(error)")
            }
            XCTAssertEqual(delivered, 3, "batches before the bad one arrive first (\(workers) workers)")
            XCTAssertNil(try it.next(), "the epoch is over after an error")
        }
    }

    func testSkipBadImagesReplacesCountsAndLogs() throws {
        let ds = try makeDataset(8, bad: [2, 3, 7])
        for workers in [0, 2] {
            let l = try loader(ds, [try DecodeImage()], batch: 4, workers: workers, skip: true)
            var logged: [String] = []
            l.onSkip = { logged.append($0.path) }
            let it = l.epoch(0)
            let batches = try all(it)
            XCTAssertEqual(it.skippedCount, 4, "2 and 3 fail for slot 2, 3 fails again for slot 3, 7 once")
            XCTAssertEqual(logged, ["2", "3", "3", "7"].map { root + "/\($0).png" })
            // Slot 2 and 3 both become image 4; image 7 is replaced by image 0 (wrapping).
            XCTAssertEqual(batches[0].indices, [0, 1, 4, 4])
            XCTAssertEqual(batches[1].indices, [4, 5, 6, 0])
            XCTAssertEqual(batches[0].labels, [0, 1, 1, 1])
            XCTAssertEqual(batches[1].images.shape, [4, 5, 6, 3])
            XCTAssertEqual(batches[1].images[3, 0, 0, 0], 0, "pixels of image 0")
        }
    }

    func testAllBadImagesStillFails() throws {
        let ds = try makeDataset(3, bad: [0, 1, 2])
        let l = try loader(ds, [try DecodeImage()], batch: 2, skip: true)
        TestData.assertThrows(["3 images in a row failed"]) { try self.all(l.epoch(0)) }
    }

    func testMixedSizesNameBothFiles() throws {
        let ds = try makeDataset(4, sizes: [2: (7, 5)])
        for workers in [0, 2] {
            let l = try loader(ds, [try DecodeImage()], workers: workers)
            TestData.assertThrows(["\(root)/2.png is 7x5x3", "\(root)/0.png", "6x5x3", "ResizeImage"]) {
                try self.all(l.epoch(0))
            }
        }
        let fixed = try loader(ds, [try DecodeImage(), try ResizeImage(.init(size: SizeOption(3)))])
        XCTAssertEqual(try all(fixed.epoch(0))[0].images.shape, [4, 3, 3, 3])
    }

    func testMissingDecodeImageIsAConfigurationError() throws {
        let ds = try makeDataset(2)
        let l = try loader(ds, [], skip: true)
        TestData.assertThrows(["never decode", "DecodeImage"]) { try self.all(l.epoch(0)) }
    }

    func testEarlyStopAndCancelDoNotHang() throws {
        let ds = try makeDataset(40)
        let l = try loader(ds, [try DecodeImage(), try ResizeImage(.init(size: SizeOption(32)))], batch: 2, workers: 3)
        do {
            let it = l.epoch(0)
            XCTAssertNotNil(try it.next())
            // Dropped here with workers mid-epoch: deinit cancels and joins them.
        }
        let it = l.epoch(1)
        XCTAssertNotNil(try it.next())
        it.cancel()
        XCTAssertNil(try it.next())
        it.cancel()
        let started = Date()
        for epoch in 0..<20 { _ = try l.epoch(epoch).next() }
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    }

    func testSingleSampleAccess() throws {
        let ds = try makeDataset(3)
        let l = try loader(ds, [try DecodeImage(), try NormalizeImage(.init(scale: 1, mean: [0, 0, 0], std: [1, 1, 1]))])
        let s = try l.sample(at: 2)
        XCTAssertEqual(s.label, 2)
        XCTAssertEqual(s.image.sizeDescription, "6x5x3")
        XCTAssertEqual(s.image.pixels[0], 20)
    }

    func testMultiScaleBatchesTakeTheirPlannedSizes() throws {
        let ds = try makeDataset(11)
        let plan = try MultiScalePlan(scales: [(8, 8), (4, 4)], firstBatchSize: 2, dividedFactor: 4,
                                      samplesPerRank: ds.count, seed: 3)
        let sampler = try BatchSampler(datasetCount: ds.count, batchSize: 2, shuffle: true, seed: 1, multiScale: plan)
        var options = DataLoader.Options(numWorkers: 2, seed: 5)
        options.resizedTransforms = { w, h in [try DecodeImage(), try ResizeImage(.init(size: SizeOption(width: w, height: h)))] }
        let loader = try DataLoader(dataset: ds, transforms: [try DecodeImage()], sampler: sampler, options: options)
        let batches = try all(loader.epoch(0))
        XCTAssertEqual(batches.count, plan.batches.count)
        for (batch, shape) in zip(batches, plan.batches) {
            XCTAssertEqual(batch.images.shape, [shape.batchSize, shape.height, shape.width, 3])
        }
        // 8x8 at 2 per batch keeps 4x4 at 8 per batch; both shapes occur and every sample is seen.
        XCTAssertEqual(Set(plan.batches.map(\.batchSize)), [2, 8])
        XCTAssertEqual(Set(batches.flatMap(\.paths)).count, 11)
        // Resuming at batch 1 gives the same later batches.
        let resumed = try all(loader.epoch(0, from: 1))
        XCTAssertEqual(resumed.map(\.images.shape), batches.dropFirst().map(\.images.shape))
    }

    func testLabelKeyTakesTheLabelFromAnOp() throws {
        _ = try makeDataset(4)
        let path = try TestData.write(Array("0.png\n1.png 7\n2.png\n3.png\n".utf8), root, "unlabelled.txt")
        let ds = try CustomLabelDataset(imageRoot: root, listPath: path, labelKey: RandomRot90.valueKey, delimiter: " ")
        XCTAssertEqual(ds.classCount, 4)
        XCTAssertEqual(ds.sample(at: 1).path, root + "/1.png")
        XCTAssertEqual(ds.sample(at: 1).label, -1)
        let loader = try DataLoader(dataset: ds, transforms: [try DecodeImage(), try CropImage(.init(size: SizeOption(5))),
                                                              try RandomRot90()],
                                    sampler: try BatchSampler(datasetCount: 4, batchSize: 4), options: .init(seed: 2))
        let labels = try XCTUnwrap(try loader.epoch(0).next()).labels
        XCTAssertTrue(labels.allSatisfy { (0...3).contains($0) }, "\(labels)")
        let missing = try DataLoader(dataset: ds, transforms: [try DecodeImage()],
                                     sampler: try BatchSampler(datasetCount: 4, batchSize: 4))
        TestData.assertThrows(["label_key 'random_rot90_orientation'", "RandomRot90"]) { try missing.epoch(0).next() }
        let plain = try CustomLabelDataset(imageRoot: root, listPath: path, checkFiles: false)
        XCTAssertEqual(plain.sample(at: 1).path, root + "/1.png 7", "without a delimiter the whole line is the path")
    }
}
