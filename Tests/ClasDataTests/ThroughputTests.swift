import ClasData
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// Decode + transform throughput, printed (a benchmark, not a check). `make bench-data` runs it (it sets
/// CLASDATA_BENCH=1); `make test` skips it.
final class ThroughputTests: XCTestCase {
    override func setUpWithError() throws {
        guard ProcessInfo.processInfo.environment["CLASDATA_BENCH"] == "1" else {
            throw XCTSkip("a benchmark: run it with `make bench-data`")
        }
    }

    /// A noisy RGB picture (so JPEG sizes and decode costs look like photos, not flat colour).
    private func photoLike(width: Int, height: Int, seed: UInt64) -> Image {
        var rng = RandomState(seed: seed)
        return Image(width: width, height: height, channels: 3) { out in
            for y in 0..<height {
                for x in 0..<width {
                    for c in 0..<3 {
                        let base = (x * (c + 1) + y * (3 - c)) % 256
                        out[(y * width + x) * 3 + c] = UInt8(clamping: base + Int(rng.normal() * 12))
                    }
                }
            }
        }
    }

    private func dataset(count: Int, _ encode: (Int) throws -> [UInt8], ext: String) throws -> ImageNetDataset {
        let root = temporaryDirectory()
        var list = ""
        for i in 0..<count {
            try TestData.write(try encode(i), root, "\(i).\(ext)")
            list += "\(i).\(ext) \(i % 10)\n"
        }
        return try ImageNetDataset(imageRoot: root, listPath: try TestData.write(Array(list.utf8), root, "list.txt"))
    }

    /// Images per second for one thread (sample by sample) and for the loader with `workers` threads.
    private func measure(_ name: String, _ ds: ImageNetDataset, _ ops: [any ImageOp], batch: Int, seconds: Double = 2) throws {
        let sampler = try BatchSampler(datasetCount: ds.count, batchSize: batch, shuffle: true, dropLast: true, seed: 1)
        let single = try DataLoader(dataset: ds, transforms: ops, sampler: sampler)
        for i in 0..<min(ds.count, 20) { _ = try single.sample(at: i) }  // warm the page cache
        var n = 0
        var start = Date()
        while Date().timeIntervalSince(start) < seconds {
            _ = try single.sample(at: n % ds.count, epoch: n / ds.count)
            n += 1
        }
        let perThread = Double(n) / Date().timeIntervalSince(start)
        var lines = ["\(name): \(String(format: "%.0f", perThread)) images/s on one thread (decode + transforms)"]
        for workers in [1, 2] {
            let loader = try DataLoader(dataset: ds, transforms: ops, sampler: sampler, options: .init(numWorkers: workers))
            var images = 0, epoch = 0
            start = Date()
            while Date().timeIntervalSince(start) < seconds {
                let it = loader.epoch(epoch)
                while let b = try it.next() { images += b.count }
                epoch += 1
            }
            lines.append("  loader, \(workers) worker(s), batch \(batch): "
                         + String(format: "%.0f", Double(images) / Date().timeIntervalSince(start)) + " images/s")
        }
        print(lines.joined(separator: "\n"))
    }

    func testPNG28To64() throws {
        let ds = try dataset(count: 500, { i in
            var img = Image(width: 28, height: 28, channels: 1)
            for p in 0..<784 { img.pixels[p] = UInt8((p * 7 + i * 13) % 256) }
            return try ImageCodec.encodePNG(img)
        }, ext: "png")
        let ops: [any ImageOp] = [try DecodeImage(), try ResizeImage(.init(size: SizeOption(64))), try NormalizeImage()]
        try measure("28x28 gray PNG -> DecodeImage, ResizeImage 64, NormalizeImage", ds, ops, batch: 128)
    }

    func testJPEGRandCrop224() throws {
        for (w, h) in [(500, 375), (256, 256)] {
            let ds = try dataset(count: 64, { i in
                try ImageCodec.encodeJPEG(self.photoLike(width: w, height: h, seed: UInt64(i)), quality: 90)
            }, ext: "jpg")
            let ops: [any ImageOp] = [try DecodeImage(), try RandCropImage(.init(size: SizeOption(224))),
                                      try RandFlipImage(), try NormalizeImage()]
            try measure("\(w)x\(h) JPEG q90 -> DecodeImage, RandCropImage 224, RandFlipImage, NormalizeImage", ds, ops, batch: 32)
        }
    }

    func testEvalPipeline() throws {
        let ds = try dataset(count: 64, { i in
            try ImageCodec.encodeJPEG(self.photoLike(width: 500, height: 375, seed: UInt64(i)), quality: 90)
        }, ext: "jpg")
        let ops: [any ImageOp] = [try DecodeImage(), try ResizeImage(.init(resizeShort: 256)),
                                  try CropImage(.init(size: SizeOption(224))), try NormalizeImage()]
        try measure("500x375 JPEG q90 -> DecodeImage, ResizeImage short 256, CropImage 224, NormalizeImage", ds, ops, batch: 32)
    }

    /// Microseconds per call of each step on one thread (best of 7 runs).
    func testStepBreakdown() throws {
        func time(_ name: String, _ n: Int, _ body: () throws -> Void) rethrows {
            var best = Double.infinity
            for _ in 0..<7 {
                let start = Date()
                for _ in 0..<n { try body() }
                best = min(best, Date().timeIntervalSince(start) / Double(n))
            }
            print("  " + name.padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: "%8.1f us", best * 1e6))
        }
        var rng = RandomState(seed: 1)
        var small = Image(width: 28, height: 28, channels: 1)
        for p in 0..<784 { small.pixels[p] = UInt8((p * 7) % 256) }
        let png = try ImageCodec.encodePNG(small)
        let path = try TestData.write(png, temporaryDirectory(), "a.png")
        let rgb = try ImageCodec.decode(png)
        let jpeg = try ImageCodec.encodeJPEG(photoLike(width: 500, height: 375, seed: 3), quality: 90)
        let big = try ImageCodec.decode(jpeg)
        let crop224 = Sample(path: "", payload: .image(TestData.gradient(width: 224, height: 224)))
        let resize64 = try ResizeImage(.init(size: SizeOption(64)))
        let randCrop = try RandCropImage(.init(size: SizeOption(224)))
        let flip = try RandFlipImage(), norm = try NormalizeImage()
        print("Step breakdown (one thread):")
        try time("read 28x28 PNG file", 2000) { _ = try FileIO.read(path) }
        try time("decode 28x28 gray PNG", 2000) { _ = try ImageCodec.decode(png) }
        try time("ResizeImage 28 -> 64 (bilinear)", 2000) {
            var s = Sample(path: "", payload: .image(rgb))
            try resize64.apply(&s, rng: &rng)
        }
        try time("decode 500x375 JPEG q90 (noisy)", 40) { _ = try ImageCodec.decode(jpeg) }
        try time("RandCropImage 224 from 500x375", 100) {
            var s = Sample(path: "", payload: .image(big))
            try randCrop.apply(&s, rng: &rng)
        }
        let pilCrop = try RandCropImage(.init(size: SizeOption(224), interpolation: "bicubic", backend: "pil"))
        try time("RandCropImage 224 (pil bicubic)", 50) {
            var s = Sample(path: "", payload: .image(big))
            try pilCrop.apply(&s, rng: &rng)
        }
        try time("RandFlipImage 224", 200) {
            var s = crop224
            try flip.apply(&s, rng: &rng)
        }
        try time("NormalizeImage 224", 200) {
            var s = crop224
            try norm.apply(&s, rng: &rng)
        }
    }

    func testFullFashionMNISTConversion() throws {
        guard FileManager.default.fileExists(atPath: FashionMNIST.defaultSource) else {
            throw XCTSkip("\(FashionMNIST.defaultSource) is absent")
        }
        let dest = temporaryDirectory() + "/fmnist"
        let start = Date()
        let summary = try FashionMNIST.convert(to: dest)
        let elapsed = Date().timeIntervalSince(start)
        let again = Date()
        XCTAssertTrue(try FashionMNIST.convert(to: dest).alreadyComplete)
        print("Fashion-MNIST: \(summary.trainCount) + \(summary.testCount) PNGs in " + String(format: "%.1f s", elapsed)
              + ", idempotent re-run " + String(format: "%.3f s", Date().timeIntervalSince(again)))
        XCTAssertEqual(try ImageFolderDataset(root: dest + "/images/train").count, 60_000)
        try FileManager.default.removeItem(atPath: dest)
    }
}
