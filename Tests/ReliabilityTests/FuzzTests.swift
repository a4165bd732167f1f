import ClasConfig
import ClasData
import ClasEngine
import ClasTensor
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif
import _ClasTestSupport

/// Random mutations (fixed seeds, 500 cases per format, about a second in all) of a valid PNG, JPEG,
/// safetensors file, YAML config and `-o` override: each input gives a valid result or the reader's own error
/// type, never a crash. Before each case the input is written to `fuzz-current` in the test's temporary folder,
/// so an input that kills the process can be found and replayed. (Long coverage-guided runs are the libFuzzer
/// targets' job; this keeps the readers honest in every CI run.)
final class FuzzTests: ReliabilityTestCase {
    static let cases = 500

    /// Byte-level mutations: bit flips, random or boundary bytes, 32-bit boundary values, truncation, deletion and
    /// duplication of short runs; `focus` bytes at the start get half of the edits (headers live there).
    struct Mutator {
        var rng: RandomState

        mutating func mutate(_ input: [UInt8], focus: Int = 64, alphabet: [UInt8]? = nil) -> [UInt8] {
            var b = input
            for _ in 0...rng.int(below: 4) {
                guard !b.isEmpty else { break }
                let i = rng.int(below: 2) == 0 ? rng.int(below: min(focus, b.count)) : rng.int(below: b.count)
                switch rng.int(below: 8) {
                case 0: b[i] ^= UInt8(1) << UInt8(rng.int(below: 8))
                case 1: b[i] = alphabet.map { $0[rng.int(below: $0.count)] } ?? UInt8(truncatingIfNeeded: rng.next())
                case 2: b[i] = [0, 1, 0x7F, 0x80, 0xFF][rng.int(below: 5)]
                case 3:
                    let value: [UInt8] = [[0x7F, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0], [0, 1, 0, 0]][rng.int(below: 4)]
                    for k in 0..<min(4, b.count - i) { b[i + k] = value[k] }
                case 4: if rng.int(below: 4) == 0 { b.removeSubrange(i...) }
                case 5: b.removeSubrange(i..<min(b.count, i + 1 + rng.int(below: 16)))
                case 6:
                    let run = Array(b[i..<min(b.count, i + 1 + rng.int(below: 16))])
                    b.insert(contentsOf: run, at: rng.int(below: b.count + 1))
                default: b[i] = b[rng.int(below: b.count)]
                }
            }
            return b
        }
    }

    private var dir = ""
    /// `fuzz-current`, rewritten in place before each case (open/close per case would cost more than the cases).
    private var current: Int32 = -1

    override func setUp() {
        dir = scratchDirectory(name)
        current = open("\(dir)/fuzz-current", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    }

    override func tearDown() {
        close(current)
        super.tearDown()
    }

    /// Writes the case about to run, for replay if it kills the process.
    private func record(_ bytes: [UInt8], _ ext: String) {
        _ = ftruncate(current, 0)
        _ = bytes.withUnsafeBytes { pwrite(current, $0.baseAddress, $0.count, 0) }
    }

    /// Keeps a failing input and fails the test with its file name.
    private func keep(_ bytes: [UInt8], _ ext: String, _ index: Int, _ message: String) {
        let path = "\(dir)/fuzz-fail-\(index).\(ext)"
        try? Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTFail("case \(index) (\(path)): \(message)")
    }

    // MARK: Images

    /// Recomputes the CRC of every chunk it can walk, so mutations get past libpng's checksum test to the parser.
    private func fixingCRCs(_ png: [UInt8]) -> [UInt8] {
        var b = png, i = 8
        while i + 12 <= b.count {
            let length = Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard length <= b.count - i - 12 else { break }
            let crc = PNGBytes.crc32(Array(b[(i + 4)..<(i + 8 + length)]))
            for k in 0..<4 { b[i + 8 + length + k] = UInt8((crc >> (24 - 8 * UInt32(k))) & 0xFF) }
            i += 12 + length
        }
        return b
    }

    private func fuzzImages(_ seeds: [[UInt8]], ext: String, seed: UInt64, fix: (([UInt8]) -> [UInt8])? = nil) {
        var m = Mutator(rng: RandomState(seed: seed))
        var decoded = 0, refused = 0
        for index in 0..<Self.cases {
            var bytes = m.mutate(seeds[index % seeds.count])
            if let fix, index % 2 == 0 { bytes = fix(bytes) }
            record(bytes, ext)
            do {
                let image = try ImageCodec.decode(bytes, path: "case-\(index)", maxPixels: 1 << 20)
                decoded += 1
                if image.width <= 0 || image.height <= 0 || image.channels != 3
                    || image.pixels.count != image.width * image.height * 3 {
                    keep(bytes, ext, index, "decoded to an inconsistent image \(image.sizeDescription)")
                }
            } catch let error as ImageError {
                refused += 1
                if error.path != "case-\(index)" { keep(bytes, ext, index, "error names \(error.path)") }
            } catch {
                keep(bytes, ext, index, "unexpected error type \(type(of: error)): \(error)")
            }
        }
        print("fuzz \(ext): \(Self.cases) cases, \(decoded) decoded, \(refused) refused")
        XCTAssertGreaterThan(refused, Self.cases / 10, "the mutations should break many files")
        XCTAssertGreaterThan(decoded, 0, "some mutations should stay decodable")
    }

    func testMutatedPNGs() throws {
        let gray = try ImageCodec.encodePNG(Image(width: 9, height: 7, channels: 1, pixels: (0..<63).map { UInt8($0 * 4) }))
        fuzzImages([DatasetFiles.png, PNGBytes.palette(size: 16), PNGBytes.rgb16(size: 8), gray], ext: "png", seed: 1,
                   fix: fixingCRCs)
    }

    func testMutatedJPEGs() throws {
        let cmyk = try ImageCodec.encodeJPEG(Image(width: 16, height: 16, channels: 4,
                                                   pixels: (0..<1024).map { UInt8(($0 * 7) % 256) }), cmyk: true)
        let gray = try ImageCodec.encodeJPEG(Image(width: 24, height: 8, channels: 1, pixels: (0..<192).map { UInt8($0) }))
        fuzzImages([DatasetFiles.jpeg, DatasetFiles.noisyJPEG, cmyk, gray], ext: "jpg", seed: 2)
    }

    // MARK: Safetensors

    func testMutatedSafetensors() throws {
        let path = "\(dir)/seed.safetensors"
        try Safetensors.write([("a", Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])), ("b", Tensor(shape: [], values: [7])),
                               ("c", Tensor(shape: [0], values: []))],
                              metadata: ["format": "swiftclas", "epoch": "3"], to: path)
        let seed = fileBytes(path)
        let json = Array("{}[]\",:0123456789-.eE ".utf8)
        var m = Mutator(rng: RandomState(seed: 3))
        var parsed = 0, refused = 0
        for index in 0..<Self.cases {
            let bytes = m.mutate(seed, focus: seed.count - 28, alphabet: index % 2 == 0 ? json : nil)
            record(bytes, "safetensors")
            do {
                let (entries, _) = try Safetensors.parse(Data(bytes), path: "case-\(index)")
                parsed += 1
                for e in entries where e.tensor.count != e.tensor.shape.reduce(1, *) {
                    keep(bytes, "safetensors", index, "\(e.name): \(e.tensor.count) values for shape \(e.tensor.shape)")
                }
            } catch let error as Safetensors.FormatError {
                refused += 1
                if error.path != "case-\(index)" { keep(bytes, "safetensors", index, "error names \(error.path)") }
            } catch {
                keep(bytes, "safetensors", index, "unexpected error type \(type(of: error)): \(error)")
            }
        }
        print("fuzz safetensors: \(Self.cases) cases, \(parsed) parsed, \(refused) refused")
        XCTAssertGreaterThan(refused, Self.cases / 4)
        XCTAssertGreaterThan(parsed, 0)
    }

    // MARK: Configs

    /// Mutated configs: YAML parsing and section decoding give a config or a `ConfigError`; every 5th mutant that
    /// parses also goes through full `Engine` validation (registries, datasets, model), with the output folder
    /// and process-wide settings pinned by overrides.
    func testMutatedYAMLConfigs() throws {
        let run = try FaultRun(name: name, perClass: 1, epochs: 1)
        let anchors = """
            Global: &g {epochs: 2, seed: 1, output_dir: \(run.dir)/out}
            Arch: {name: MobileNetV3_small_x0_35, class_num: 4}
            Loss:
              Train: [{CELoss: {weight: 1.0}}]
            Optimizer:
              name: Momentum
              momentum: 0.9
              lr: {name: Piecewise, decay_epochs: [1], values: [0.1, 0.01]}
            Extra: {<<: *g, 'quoted': "a\\tb", block: |
                text}
            """
        let seeds = [fileBytes(run.config), Array(anchors.utf8)]
        let yaml = Array("{}[]-:,&*!|>'\"#%@` \n\t0123456789.e_<".utf8)
        var m = Mutator(rng: RandomState(seed: 4))
        var loaded = 0, refused = 0, engines = 0
        let decoder = ConfigDecoder()
        for index in 0..<Self.cases {
            let seed = seeds[index % seeds.count]
            let bytes = m.mutate(seed, focus: seed.count, alphabet: index % 3 == 0 ? nil : yaml)
            record(bytes, "yaml")
            guard let text = String(bytes: bytes, encoding: .utf8) else { continue }
            let path = "\(dir)/case.yaml"
            do {
                let node = try ConfigLoader.parse(text, path: path)
                _ = try decoder.decode(RunConfig.self, from: node)
                loaded += 1
            } catch is ConfigError {
                refused += 1
                continue
            } catch {
                keep(bytes, "yaml", index, "unexpected error type \(type(of: error)): \(error)")
                continue
            }
            guard loaded % 5 == 0 else { continue }
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            engines += 1
            do {
                // (num_threads and max_image_pixels are process-wide: pinned so later tests see the defaults.)
                _ = try Engine(configPath: path, overrides: ["Global.output_dir=\(dir)/out", "Global.num_threads=2",
                                                             "Global.max_image_pixels=89478485"], mode: .train, quiet: true)
            } catch {
                XCTAssertFalse("\(error)".isEmpty)
            }
        }
        print("fuzz yaml: \(Self.cases) cases, \(loaded) loaded (\(engines) through Engine), \(refused) refused")
        XCTAssertGreaterThan(refused, Self.cases / 10)
        XCTAssertGreaterThan(loaded, 10)
        XCTAssertGreaterThan(engines, 2)
    }

    /// Random `-o` overrides built from real key paths, indexes and YAML values, then mutated.
    func testMutatedOverrides() throws {
        let run = try FaultRun(name: name, perClass: 1, epochs: 1)
        let keys = ["Global.epochs", "Global", "Arch.name", "Loss.Train.0.CELoss.weight", "Loss.Train.-1", "Loss.Train.9",
                    "Optimizer.lr.learning_rate", "DataLoader.Train.dataset.transform_ops.1.NormalizeImage.mean.0",
                    "DataLoader.Train.sampler.batch_size", "Metric.Eval.0.TopkAcc.topk", "New.key", "Global.seed"]
        let values = ["3", "-1", "0", "1e9", ".inf", "[1, 2", "{a: 1}", "null", "~", "'x'", "\"\\u0000\"", "*a", "&a b",
                      "[[[]]]", "!!binary AA==", "MobileNetV3_small_x1_0", "True", "0x1F", "1_000", "= =", ""]
        var m = Mutator(rng: RandomState(seed: 5))
        var applied = 0, refused = 0
        let decoder = ConfigDecoder()
        for index in 0..<Self.cases {
            var text = Array("\(keys[m.rng.int(below: keys.count)])=\(values[m.rng.int(below: values.count)])".utf8)
            if index % 2 == 1 { text = m.mutate(text, focus: text.count, alphabet: Array(".=-0123456789[]{}:, ".utf8)) }
            guard let override = String(bytes: text, encoding: .utf8) else { continue }
            record(text, "override")
            do {
                _ = try decoder.decode(RunConfig.self, from: ConfigLoader.load(run.config, overrides: [override]))
                applied += 1
            } catch let error as ConfigError {
                refused += 1
                XCTAssertTrue(error.description.contains("-o #1") || error.description.contains(run.config),
                              "case \(index) '\(override)': the error does not say where: \(error)")
            } catch {
                keep(text, "override", index, "unexpected error type \(type(of: error)): \(error)")
            }
        }
        print("fuzz overrides: \(Self.cases) cases, \(applied) applied, \(refused) refused")
        XCTAssertGreaterThan(refused, Self.cases / 10)
        XCTAssertGreaterThan(applied, Self.cases / 10)
    }
}
