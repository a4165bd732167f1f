import ClasData
import ClasEngine
import Foundation
import XCTest
import _ClasTestSupport

/// Messy data folders: broken and unusual image files, hidden files, empty classes, bad list files and labels,
/// train/val disagreements. Each gives a clear error naming the file (and line), or with `Global.skip_bad_images`
/// a counted, logged skip; never a crash, never a wrong label.
final class BadDataTests: ReliabilityTestCase {
    // MARK: Image files

    /// Every kind of unreadable file is refused by the decoder with an error naming the file and the reason;
    /// the decompression bombs are refused from their header under the default pixel limit.
    func testEveryBrokenFileIsRefusedNamingItAndTheReason() throws {
        let dir = scratchDirectory()
        for bad in DatasetFiles.broken {
            let path = "\(dir)/\(bad.name)"
            try writeBytes(bad.bytes, to: path)
            let message = assertThrows([path]) { try ImageCodec.decodeFile(path) }
            XCTAssertTrue(message.replacingOccurrences(of: path, with: "").contains(bad.reason),
                          "\(bad.name): «\(message)» lacks «\(bad.reason)»")
        }
    }

    /// CMYK and gray JPEGs, 16-bit, palette, gray+alpha and RGBA PNGs, 1×1 images, an upper-case extension and a
    /// JPEG named `.png` are all read (as 3 channels) and train without `skip_bad_images` and without a skip.
    func testUnusualButValidImagesDecodeAndTrain() throws {
        let resize = ["DecodeImage: {to_rgb: True}", "ResizeImage: {size: 32}",
                      "NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}"]
        let run = try FaultRun(perClass: 1, epochs: 1, evalDuringTrain: false, trainOps: resize)
        for (i, odd) in DatasetFiles.odd.enumerated() {
            let path = "\(run.dir)/train/class_\(i % 4)/\(odd.name)"
            try writeBytes(odd.bytes, to: path)
            let image = try ImageCodec.decodeFile(path)
            XCTAssertEqual(image.channels, 3, odd.name)
            XCTAssertGreaterThan(image.width * image.height, 0, odd.name)
        }
        let r = try ToolsProcess.run(["train", "-c", run.config])
        XCTAssertEqual(r.status, 0, r.stderr)
        let iterations = (4 + DatasetFiles.odd.count + 3) / 4
        XCTAssertTrue(r.stdout.contains("4 classes, 1 epochs × \(iterations) iterations"), r.stdout)
        XCTAssertFalse(r.stdout.contains("skipped"), r.stdout)
        XCTAssertTrue(try run.weights("latest").values.allSatisfy { $0.allSatisfy(\.isFinite) })
    }

    /// Without `skip_bad_images`, a truncated JPEG stops `tools train` with an error naming it (exit 1, no crash)
    /// before any checkpoint is written.
    func testBadImageStopsTrainingNamingTheFile() throws {
        let run = try FaultRun(epochs: 1, evalDuringTrain: false)
        let bad = "\(run.dir)/train/class_3/cut.jpg"
        let jpeg = DatasetFiles.noisyJPEG
        try writeBytes(Array(jpeg.prefix(jpeg.count / 2)), to: bad)
        let r = try ToolsProcess.run(["train", "-c", run.config])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertNil(r.signal)
        XCTAssertTrue(r.stderr.contains("error: cannot decode image \(bad): truncated file"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.checkpoint("latest")))
    }

    /// With `skip_bad_images`, every broken file (spread over the classes, in both splits) is skipped: each is
    /// named in the log, the number per epoch is reported, training finishes, and no batch pairs an image with
    /// another image's label.
    func testSkipBadImagesNamesAndCountsEverySkipAndKeepsLabelsRight() throws {
        let run = try FaultRun(epochs: 2, global: ["skip_bad_images: True"])
        let broken = DatasetFiles.broken
        var trainBad: [String] = [], valBad: [String] = []
        for (i, bad) in broken.enumerated() {
            let path = "\(run.dir)/train/class_\(i % 4)/\(bad.name)"
            try writeBytes(bad.bytes, to: path)
            trainBad.append(path)
        }
        for bad in broken.prefix(2) {
            let path = "\(run.dir)/val/class_2/\(bad.name)"
            try writeBytes(bad.bytes, to: path)
            valBad.append(path)
        }
        let r = try ToolsProcess.run(["train", "-c", run.config])
        XCTAssertEqual(r.status, 0, r.stderr)
        for path in trainBad + valBad {
            XCTAssertTrue(r.stdout.contains("skipped bad image \(path) (index "), "\(path) not named:\n\(r.stdout)")
        }
        for epoch in 1...2 {
            XCTAssertTrue(r.stdout.contains("[Train][Epoch \(epoch)/2] skipped \(trainBad.count) bad image(s)"), r.stdout)
            XCTAssertTrue(r.stdout.contains("[Eval][Epoch \(epoch)] skipped \(valBad.count) bad image(s)"), r.stdout)
        }
        XCTAssertTrue(run.trainLog().contains { $0.contains("skipped \(trainBad.count) bad image(s)") }, "in train.log too")

        // The batches themselves: only good files, each with its own folder's label.
        let engine = try Engine(configPath: run.config, mode: .train, quiet: true)
        let data = try XCTUnwrap(engine.trainData)
        let cursor = try data.start(epoch: 1, from: 0)
        defer { cursor.cancel() }
        var seen = 0
        while let batch = try cursor.next() {
            for (path, label) in zip(batch.paths, batch.targets.labels) {
                XCTAssertFalse(trainBad.contains(path), "a bad file reached a batch: \(path)")
                XCTAssertTrue(path.contains("/class_\(label)/"), "\(path) labelled \(label)")
                seen += 1
            }
        }
        XCTAssertEqual(seen, 16 + broken.count, "bad samples are replaced, not dropped")
        XCTAssertEqual(cursor.skippedCount, broken.count)
    }

    /// `Global.max_image_pixels` is the decompression-bomb limit: 32×32 images (1024 pixels) are refused at 1000.
    func testPixelLimitIsConfigurable() throws {
        let run = try FaultRun(epochs: 1, evalDuringTrain: false)
        let r = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.max_image_pixels=1000"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertNil(r.signal)
        XCTAssertTrue(r.stderr.contains("32x32 = 1024 pixels exceeds the limit of 1000"), r.stderr)
        let ok = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.max_image_pixels=1024"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let zero = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.max_image_pixels=0"])
        XCTAssertEqual(zero.status, 2, "out of range: \(zero.stderr)")
        XCTAssertTrue(zero.stderr.contains("max_image_pixels"), zero.stderr)
    }

    // MARK: Folder structure

    /// Hidden files and folders (`.DS_Store`, AppleDouble `._x.png`, `.cache/`) and non-image files are ignored:
    /// four classes, no skip, no error.
    func testHiddenAndNonImageFilesAreIgnored() throws {
        let run = try FaultRun(perClass: 1, epochs: 1, evalDuringTrain: false)
        try writeBytes([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31], to: "\(run.dir)/train/.DS_Store")
        try writeBytes([0, 5, 22, 7, 0, 2, 0, 0], to: "\(run.dir)/train/class_0/._0.png")
        try writeBytes(DatasetFiles.png, to: "\(run.dir)/train/.cache/thumb.png")
        try writeBytes(DatasetFiles.png, to: "\(run.dir)/train/class_1/.hidden.png")
        try writeBytes(Array("labels by hand".utf8), to: "\(run.dir)/train/class_2/README.txt")
        try writeBytes([1, 2, 3], to: "\(run.dir)/train/class_3/Thumbs.db")
        try writeBytes(DatasetFiles.png, to: "\(run.dir)/train/stray.png")
        let r = try ToolsProcess.run(["train", "-c", run.config])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(", 4 classes,"), r.stdout)
        XCTAssertFalse(r.stdout.contains("skipped"), r.stdout)
    }

    func testEmptyClassFolderIsNamedAndNothingIsWritten() throws {
        let run = try FaultRun(perClass: 1, epochs: 1)
        let empty = "\(run.dir)/train/class_9"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try writeBytes(Array("x".utf8), to: "\(empty)/notes.txt")
        let r = try assertRefused(run, ["class folder without images", empty])
        XCTAssertTrue(r.stderr.contains("\(run.dir)/train"), r.stderr)
    }

    func testTrainAndValWithDifferentClassFoldersAreRefused() throws {
        let run = try FaultRun(perClass: 1, epochs: 1)
        try writeBytes(DatasetFiles.png, to: "\(run.dir)/val/class_4/0.png")
        try assertRefused(run, ["DataLoader.Train and DataLoader.Eval have different classes: 4", "vs 5"])
    }

    // MARK: List files

    func testListLineWithAMissingFileIsNamedWithItsLine() throws {
        let run = try FaultRun(perClass: 2, epochs: 1, listFiles: true)
        try appendLine("train/class_1/gone.png 1", to: "\(run.dir)/train_list.txt")
        try assertRefused(run, ["\(run.dir)/train_list.txt", "1 of 9 listed images do not exist",
                                "line 9: \(run.dir)/train/class_1/gone.png"])
    }

    func testNonIntegerLabelIsNamedWithItsLine() throws {
        let run = try FaultRun(perClass: 2, epochs: 1, listFiles: true)
        try appendLine("train/class_1/0.png one", to: "\(run.dir)/train_list.txt")
        try assertRefused(run, ["\(run.dir)/train_list.txt:9: label 'one' is not an integer"])
    }

    func testNegativeLabelIsNamedWithItsLine() throws {
        let run = try FaultRun(perClass: 2, epochs: 1, listFiles: true)
        try appendLine("train/class_1/0.png -1", to: "\(run.dir)/train_list.txt")
        try assertRefused(run, ["\(run.dir)/train_list.txt:9: label -1 is negative"])
    }

    func testLabelAtOrAboveClassNumIsNamedWithItsLine() throws {
        let run = try FaultRun(perClass: 2, epochs: 1, arch: ["class_num: 4"], listFiles: true)
        try appendLine("train/class_1/0.png 4", to: "\(run.dir)/train_list.txt")
        try assertRefused(run, ["\(run.dir)/train_list.txt:9: label 4 is not below the class count 4"])
    }

    /// A corrupt label in a list (no `Arch.class_num`) would make a classifier with 10⁸ outputs: refused.
    func testAbsurdLabelWithoutClassNumIsRefused() throws {
        let run = try FaultRun(perClass: 2, epochs: 1, listFiles: true)
        try appendLine("train/class_1/0.png 99999999", to: "\(run.dir)/train_list.txt")
        try assertRefused(run, ["the data's largest label gives 100000000 classes, more than 1000000"])
    }

    /// `resize_short` on an image with an extreme aspect ratio (1×40000 → 32×1280000) is refused like a
    /// decompression bomb, naming the file (it used to allocate the whole thing).
    func testExtremeAspectRatioIsRefusedBeforeResizing() throws {
        let ops = ["DecodeImage: {to_rgb: True}", "ResizeImage: {resize_short: 32}", "CropImage: {size: 32}",
                   "NormalizeImage: {scale: 1.0/255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: ''}"]
        let run = try FaultRun(perClass: 2, epochs: 1, evalDuringTrain: false, trainOps: ops)
        let needle = "\(run.dir)/train/class_0/needle.png"
        try writeBytes(try ImageCodec.encodePNG(Image(width: 1, height: 40_000, channels: 3,
                                                      pixels: [UInt8](repeating: 90, count: 120_000))), to: needle)
        let r = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.max_image_pixels=1000000"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertNil(r.signal)
        XCTAssertTrue(r.stderr.contains(needle), r.stderr)
        XCTAssertTrue(r.stderr.contains("would be resized to 32x1280000, more than the pixel limit 1000000"), r.stderr)
        let skipped = try ToolsProcess.run(["train", "-c", run.config, "-o", "Global.max_image_pixels=1000000",
                                            "-o", "Global.skip_bad_images=True"])
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        XCTAssertTrue(skipped.stdout.contains("skipped bad image \(needle)"), skipped.stdout)
    }

    /// A validation list with a label the training list never uses (and no `Arch.class_num`): the model would
    /// have too few outputs for it. Refused up front, naming the validation list's line (this used to crash in
    /// the loss at the first evaluation).
    func testValidationLabelBeyondTheTrainingClassesIsNamedWithItsLine() throws {
        let run = try FaultRun(perClass: 2, epochs: 1, listFiles: true)
        try appendLine("val/class_1/0.png 7", to: "\(run.dir)/val_list.txt")
        try assertRefused(run, ["\(run.dir)/val_list.txt:9: label 7 is not below the class count 4"])
    }

    /// A validation list using fewer classes than the training list is fine (a small validation set).
    func testValidationListWithFewerClassesIsAccepted() throws {
        let run = try FaultRun(perClass: 2, epochs: 1, listFiles: true)
        let kept = try String(contentsOfFile: "\(run.dir)/val_list.txt", encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasSuffix(" 3") }.joined(separator: "\n")
        try kept.write(toFile: "\(run.dir)/val_list.txt", atomically: true, encoding: .utf8)
        let r = try ToolsProcess.run(["train", "-c", run.config])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(", 4 classes,"), r.stdout)
    }

    // MARK: Helpers

    /// Runs `tools train` on `run` and asserts an error exit (no crash) whose message contains `needles`, and that
    /// nothing was written to the output folder.
    @discardableResult
    private func assertRefused(_ run: FaultRun, _ needles: [String], file: StaticString = #filePath,
                               line: UInt = #line) throws -> ToolsResult {
        let r = try ToolsProcess.run(["train", "-c", run.config])
        XCTAssertNotEqual(r.status, 0, "expected an error exit", file: file, line: line)
        XCTAssertNil(r.signal, "crashed: \(r.stderr)", file: file, line: line)
        for n in needles where !r.stderr.contains(n) {
            XCTFail("stderr «\(r.stderr)» lacks «\(n)»", file: file, line: line)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.outputDir), "the output folder was created",
                       file: file, line: line)
        return r
    }

    private func appendLine(_ line: String, to path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try (text + line + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
