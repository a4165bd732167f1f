import ClasData
import Foundation
import XCTest
import _ClasTestSupport

/// The config-facing options of datasets, sampler and loader decode PaddleClas keys with PaddleClas defaults.
final class DataConfigOptionsTests: XCTestCase {
    private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    func testKeysAndDefaults() throws {
        XCTAssertEqual(ImageNetDataset.Options.keys, ["image_root", "cls_label_path", "delimiter", "relabel"])
        let o = try decode(ImageNetDataset.Options.self, #"{"image_root": "r", "cls_label_path": "l"}"#)
        XCTAssertEqual(o.delimiter, " ")
        XCTAssertFalse(o.relabel)
        TestData.assertThrows(["cls_label_path"]) { try decode(ImageNetDataset.Options.self, #"{"image_root": "r"}"#) }
        let s = try decode(BatchSampler.Options.self, #"{"batch_size": 64, "shuffle": true}"#)
        XCTAssertTrue(s.shuffle)
        XCTAssertFalse(s.dropLast)
        let sampler = try BatchSampler(s, datasetCount: 130, seed: 1)
        XCTAssertEqual(sampler.batchCount, 3)
        let l = try decode(DataLoader.ConfigOptions.self, #"{"num_workers": 4, "use_shared_memory": false}"#)
        XCTAssertEqual(l.loaderOptions(seed: 9).numWorkers, 4)
        XCTAssertEqual(l.loaderOptions(seed: 9).seed, 9)
        XCTAssertFalse(l.skipBadImages)
        XCTAssertEqual(Set(DataLoader.ConfigOptions.keys), ["num_workers", "use_shared_memory", "skip_bad_images", "prefetch_batches"])
    }

    func testBuildsDatasetsFromOptions() throws {
        let root = temporaryDirectory()
        try TestData.write([1], root, "cat/a.png")
        let list = try TestData.write(Array("cat/a.png 1\n".utf8), root, "l.txt")
        let o = try decode(ImageNetDataset.Options.self, #"{"image_root": "\#(root)", "cls_label_path": "\#(list)"}"#)
        XCTAssertEqual(try ImageNetDataset(o, classCount: 5).classCount, 5)
        let f = try decode(ImageFolderDataset.Options.self, #"{"image_root": "\#(root)"}"#)
        XCTAssertEqual(try ImageFolderDataset(f).names, ["cat"])
    }
}
