import ClasEngine
@testable import ClasHub
import ClasModels
import ClasNN
import ClasTensor
import Foundation
import XCTest

/// PyTorch checkpoints written by torch (Fixtures/make_torch_fixtures.py) load to exactly torch's values; hostile
/// and malformed pickles and archives are refused with a reason.
final class TorchCheckpointTests: XCTestCase {
    func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
    }

    func expected() throws -> [String: [String: (shape: [Int], values: [Float])]] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: try fixture("expected.json"))) as! [String: Any]
        return json.mapValues { file in
            (file as! [String: Any]).mapValues { t in
                let t = t as! [String: Any]
                return ((t["shape"] as! [NSNumber]).map(\.intValue), (t["values"] as! [NSNumber]).map { Float($0.doubleValue) })
            }
        }
    }

    func testFixturesMatchTorchValues() throws {
        let all = try expected()
        for file in ["state_dict.pth", "mixed.pt", "checkpoint.bin", "deflated.pth"] {
            let loaded = try PretrainedWeights.load(try fixture(file))
            let want = try XCTUnwrap(all[file])
            XCTAssertEqual(Set(loaded.map(\.0)), Set(want.keys), file)
            for (name, tensor) in loaded {
                let w = try XCTUnwrap(want[name])
                XCTAssertEqual(tensor.shape, w.shape, "\(file) \(name)")
                XCTAssertEqual(tensor.scalars, w.values, "\(file) \(name)")
            }
        }
        let sd = try TorchCheckpoint.read(try fixture("state_dict.pth").path)
        XCTAssertEqual(sd.map(\.0), ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                                     "1.num_batches_tracked", "3.weight", "3.bias"])
        XCTAssertEqual(sd[6].1.scalars, [7])
    }

    /// `Global.pretrained_model` and `Arch.pretrained` read `.pth` files through `Checkpoint.read`: PyTorch layout
    /// converted (OIHW → OHWI), `num_batches_tracked` dropped, values exactly torch's.
    func testCheckpointReadsPyTorchFilesConverted() throws {
        let want = try XCTUnwrap(try expected()["state_dict.pth"])
        let c = try Checkpoint.read(prefix: try fixture("state_dict.pth").path)
        XCTAssertTrue(c.isForeign)
        XCTAssertNil(c.state)
        XCTAssertEqual(Set(c.model.keys), Set(want.keys).subtracting(["1.num_batches_tracked"]))
        let conv = try XCTUnwrap(c.model["0.weight"]), torch = try XCTUnwrap(want["0.weight"])
        XCTAssertEqual(conv.shape, [4, 3, 3, 3])
        // OHWI[o, h, w, i] = OIHW[o, i, h, w]
        for o in 0..<4 { for i in 0..<3 { for h in 0..<3 { for w in 0..<3 {
            XCTAssertEqual(conv.scalars[((o * 3 + h) * 3 + w) * 3 + i], torch.values[((o * 3 + i) * 3 + h) * 3 + w])
        } } } }
        XCTAssertEqual(c.model["3.weight"]?.scalars, want["3.weight"]?.values)
        XCTAssertEqual(Checkpoint.path(for: "x/model.pth"), "x/model.pth")
    }

    /// A timm model's state dict saved by torch (`.pth`) and by safetensors (scripts/torch_pth_fixture.py) loads
    /// into SwiftClas's MobileNetV3_small_x0_5 through `Global.pretrained_model`'s reader: every tensor, and logits
    /// identical between the two files and equal to timm's.
    func testTorchPthLoadsLikeSafetensors() throws {
        let name = "mobilenetv3_small_050_c10"
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: try fixture("\(name).json"))) as! [String: Any]
        let timm = (json["logits"] as! [NSNumber]).map(\.floatValue)
        var x = [Float](repeating: 0, count: 2 * 32 * 32 * 3)  // NHWC of the script's NCHW formula
        for n in 0..<2 { for h in 0..<32 { for w in 0..<32 { for c in 0..<3 {
            x[((n * 32 + h) * 32 + w) * 3 + c] = Float((h * 7 + w * 13 + c * 29 + n * 5) % 31) / 15 - 1
        } } } }
        var logits: [[Float]] = []
        for file in ["\(name).pth", "\(name).safetensors"] {
            let contents = try Checkpoint.read(prefix: try fixture(file).path)
            XCTAssertTrue(contents.isForeign, file)
            let model = try ModelRegistry.builtins().make("MobileNetV3_small_x0_5", classCount: 10)
            let report = model.load(contents.model)
            XCTAssertTrue(report.missing.isEmpty && report.mismatched.isEmpty, "\(file): \(report)")
            XCTAssertEqual(report.loaded, model.stateDict().count, file)
            model.eval()
            logits.append(GradMode.withoutGrad { model(Tensor(shape: [2, 32, 32, 3], values: x)) }.scalars)
        }
        XCTAssertEqual(logits[0], logits[1], "the .pth and the .safetensors give bit-identical logits")
        XCTAssertEqual(logits[0].count, timm.count)
        let worst = Swift.zip(logits[0], timm).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 1e-4, "SwiftClas vs timm (logits of standard deviation ~1.5)")
    }

    // MARK: hostile pickles

    func refuse(_ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Unpickler.load(Data(bytes)) { _ in }, file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(fragment), "\(error)", file: file, line: line)
        }
    }

    func text(_ s: String) -> [UInt8] { Array(s.utf8) }
    func unicode(_ s: String) -> [UInt8] { [0x58] + le32(s.utf8.count) + text(s) }
    func le32(_ n: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } }

    func testDangerousGlobalsAreRefused() {
        refuse([0x80, 2] + text("cos\nsystem\n") + unicode("ls") + [0x85, 0x52, 0x2E], "global os.system is not allowed")
        refuse([0x80, 2] + text("cbuiltins\neval\n") + unicode("1") + [0x85, 0x52, 0x2E], "builtins.eval")
        refuse([0x80, 4] + unicode("subprocess") + unicode("Popen") + [0x93, 0x2E], "subprocess.Popen")
        refuse([0x80, 2] + text("ctorch\nload\n") + [0x2E], "torch.load")
        // An allowed name that is not callable, and REDUCE of a non-global.
        refuse([0x80, 2] + text("ctorch\nFloatStorage\n") + [0x29, 0x52, 0x2E], "calling torch.FloatStorage")
        refuse([0x80, 2, 0x4B, 1, 0x29, 0x52, 0x2E], "REDUCE of a int")
        // Object construction, BUILD on other objects, extensions, buffers.
        refuse([0x80, 2] + text("ctorch\nSize\n") + [0x29, 0x81, 0x2E], "object construction")
        refuse([0x80, 2, 0x5D, 0x7D, 0x62, 0x2E], "BUILD on a list")
        refuse([0x80, 2, 0x82, 1, 0x2E], "extension")
        refuse([0x80, 5, 0x97, 0x2E], "out-of-band")
        refuse([0x80, 2, 0x50] + text("0\n") + [0x2E], "persistent ids")
    }

    func testMalformedPicklesAreRefused() {
        refuse([0x80, 2, 0x58, 0xFF, 0xFF, 0xFF, 0x7F], "runs past the end")
        refuse([0x80, 2, 0x73, 0x2E], "stack underflow")
        refuse([0x80, 2, 0x8B, 0, 0, 0, 0x80], "runs past the end")
        refuse([0x80, 2, 0x8A, 9] + [UInt8](repeating: 1, count: 9) + [0x2E], "too large")
        refuse([0x80, 2, 0x68, 5, 0x2E], "memo key 5 not set")
        refuse([0x80, 2, 0xFF], "unknown or unsupported opcode 0xff")
        refuse([0x80, 2, 0x4B, 1], "truncated")
        refuse([0x80, 2, 0x4B, 1, 0x4B, 2, 0x2E], "STOP with 2 values")
        refuse([0x80, 9], "unknown protocol")
        refuse([0x80, 2, 0x28, 0x4B, 1, 0x2E], "STOP with")
        refuse([0x80, 2, 0x49] + [UInt8](repeating: 0x31, count: 20_000), "unterminated")
    }

    /// `{'w': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', numel), 0, size, stride, False, OrderedDict())}`
    func tensorPickle(numel: Int, size: [Int], stride: [Int], global: String = "torch\nFloatStorage\n") -> [UInt8] {
        tensorPickle([("w", numel, size, stride)], global: global)
    }

    /// A dict of such tensors, all on storage '0'.
    func tensorPickle(_ tensors: [(String, Int, [Int], [Int])], global: String = "torch\nFloatStorage\n") -> [UInt8] {
        func tuple(_ v: [Int]) -> [UInt8] { [0x28] + v.flatMap { [0x4A] + le32($0) } + [0x74] }
        var b: [UInt8] = [0x80, 2, 0x7D]
        for (name, numel, size, stride) in tensors {
            b += unicode(name)
            b += text("ctorch._utils\n_rebuild_tensor_v2\n")
            b += [0x28, 0x28]
            b += unicode("storage")
            b += text("c" + global)
            b += unicode("0")
            b += unicode("cpu")
            b += [0x4A] + le32(numel)
            b += [0x74, 0x51, 0x4B, 0]
            b += tuple(size)
            b += tuple(stride)
            b += [0x89]
            b += text("ccollections\nOrderedDict\n")
            b += [0x29, 0x52, 0x74, 0x52, 0x73]
        }
        return b + [0x2E]
    }

    func testTensorViewsAreBoundsChecked() throws {
        let shape = try Unpickler.load(Data(tensorPickle(numel: 6, size: [2, 3], stride: [3, 1]))) { root -> [Int]? in
            guard case .dict(let d) = root, case .tensor(let t)? = d["w"] else { return nil }
            return t.shape
        }
        XCTAssertEqual(shape, [2, 3])
        refuse(tensorPickle(numel: 4, size: [10], stride: [1]), "runs past its storage")
        refuse(tensorPickle(numel: 4, size: [2, 2], stride: [1, 3]), "runs past its storage")
        refuse(tensorPickle(numel: 4, size: [1 << 20, 1 << 20], stride: [0, 0]), "too large")
        refuse(tensorPickle(numel: 4, size: [1 << 25], stride: [0]), "repeats its 4-element storage")
        refuse(tensorPickle(numel: 4, size: [2], stride: [1, 1]), "do not match")
        refuse(tensorPickle(numel: 4, size: [2], stride: [1], global: "torch\nComplexFloatStorage\n"), "not allowed")
    }

    /// Every prefix and 3000 random byte mutations of torch's own data.pkl end in a value or an error, never a crash.
    func testMutatedPicklesNeverCrash() throws {
        let archive = try ZipArchive(Data(contentsOf: try fixture("mixed.pt")))
        let pickle = try archive.contents(of: try XCTUnwrap(archive["mixed/data.pkl"]), limit: 1 << 20)
        XCTAssertNoThrow(try Unpickler.load(pickle) { _ in })
        for n in 0..<pickle.count { _ = try? Unpickler.load(pickle.prefix(n)) { _ in } }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for _ in 0..<3000 {
            var bytes = [UInt8](pickle)
            for _ in 0..<(1 + next() % 4) { bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next()) }
            _ = try? Unpickler.load(Data(bytes)) { _ in }
        }
    }

    /// A million nested tuples and lists (a byte or two per level) load and are released without recursion.
    func testDeepNestingDoesNotOverflowTheStack() throws {
        let tuples = [0x80, 2, 0x29] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E]
        XCTAssertNoThrow(try Unpickler.load(Data(tuples)) { _ in })
        let lists = [0x80, 2] + [UInt8](repeating: 0x5D, count: 500_000) + [UInt8](repeating: 0x61, count: 499_999) + [0x2E]
        XCTAssertNoThrow(try Unpickler.load(Data(lists)) { _ in })
        refuse([0x80, 2] + [UInt8](repeating: 0x5D, count: 500_000) + [0x2E], "STOP with 500000 values")
    }

    // MARK: whole files

    func zip(_ entries: [(String, [UInt8])]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("clashub-\(UUID().uuidString).pth")
        try TestZip.make(entries).write(to: url)
        return url
    }

    func refuseFile(_ url: URL, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try TorchCheckpoint.read(url.path), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(fragment), "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(url.path), file: file, line: line)
        }
    }

    func testHostileAndBrokenFilesAreRefused() throws {
        let evil = [0x80, 2] + text("cposix\nsystem\n") + unicode("touch /tmp/pwned") + [0x85, 0x52, 0x2E]
        refuseFile(try zip([("archive/data.pkl", evil)]), "global posix.system is not allowed")
        refuseFile(try zip([("archive/data.pkl", tensorPickle(numel: 6, size: [6], stride: [1]))]), "storage 0 is missing")
        refuseFile(try zip([("archive/data.pkl", tensorPickle(numel: 6, size: [6], stride: [1])),
                            ("archive/data/0", [UInt8](repeating: 0, count: 8))]), "8 bytes, 24 needed")
        refuseFile(try zip([("archive/other", [1])]), "no <name>/data.pkl")
        // One storage declared with two sizes (found by FuzzTorch: the second view was checked against its own
        // declaration but read from the first one's smaller buffer).
        refuseFile(try zip([("archive/data.pkl", tensorPickle([("a", 2, [2], [1]), ("b", 24, [24], [1])])),
                            ("archive/data/0", [UInt8](repeating: 0, count: 96))]), "declared with different types or sizes")
        refuseFile(try zip([("archive/data.pkl", [0x80, 2, 0x5D, 0x2E])]), "is a list, not a dict")
        refuseFile(try zip([("archive/data.pkl", tensorPickle(numel: 6, size: [6], stride: [1])),
                            ("archive/byteorder", text("big"))]), "byte order")
        // A self-referencing dict holds no tensors (and is not walked forever).
        refuseFile(try zip([("archive/data.pkl", [0x80, 2, 0x7D, 0x71, 0] + unicode("a") + [0x68, 0, 0x73, 0x2E])]),
                   "no tensors")

        let legacy = FileManager.default.temporaryDirectory.appendingPathComponent("clashub-legacy-\(UUID().uuidString).pth")
        try Data([0x80, 2, 0x8A, 0x0A]).write(to: legacy)
        refuseFile(legacy, "legacy")
        let junk = FileManager.default.temporaryDirectory.appendingPathComponent("clashub-junk-\(UUID().uuidString).pth")
        try Data("hello".utf8).write(to: junk)
        refuseFile(junk, "not a zip file")

        // A flipped byte in a storage fails the zip's CRC-32.
        var bytes = [UInt8](try Data(contentsOf: try fixture("state_dict.pth")))
        let data0 = try XCTUnwrap(findFirst(Array("state_dict/data/0".utf8), in: bytes))
        bytes[data0 + 200] ^= 0x55
        let corrupt = FileManager.default.temporaryDirectory.appendingPathComponent("clashub-crc-\(UUID().uuidString).pth")
        try Data(bytes).write(to: corrupt)
        refuseFile(corrupt, "corrupt")
    }

    /// The first occurrence of `needle` (the local header's name, before the data).
    func findFirst(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i..<i + needle.count].elementsEqual(needle) { return i }
        return nil
    }
}
