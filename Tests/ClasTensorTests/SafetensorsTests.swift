import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

final class SafetensorsTests: XCTestCase {
    func testRoundTrip() throws {
        let dir = temporaryDirectory()
        let path = dir + "/model.safetensors"
        let a = randn([3, 4]), b = Tensor(7), c = Tensor.zeros([0, 5])
        try Safetensors.write([("blocks.0.weight", a), ("scalar", b), ("empty", c)], metadata: ["epoch": "3"], to: path)
        let (entries, meta) = try Safetensors.read(path)
        XCTAssertEqual(meta, ["epoch": "3"])
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.tensor) })
        XCTAssertEqual(byName["blocks.0.weight"]?.shape, [3, 4])
        XCTAssertEqual(byName["blocks.0.weight"]?.scalars, a.scalars)
        XCTAssertEqual(byName["scalar"]?.shape, [])
        XCTAssertEqual(byName["scalar"]?.item, 7)
        XCTAssertEqual(byName["empty"]?.shape, [0, 5])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp-\(getpid())"), "temporary file left behind")
    }

    /// Builds a file from a raw header and data section.
    private func file(header: String, data: [UInt8] = [], lengthOverride: UInt64? = nil) -> Data {
        var length = (lengthOverride ?? UInt64(header.utf8.count)).littleEndian
        var d = Data(bytes: &length, count: 8)
        d.append(Data(header.utf8))
        d.append(contentsOf: data)
        return d
    }

    private func assertRejected(_ data: Data, _ fragment: String, line: UInt = #line) {
        XCTAssertThrowsError(try Safetensors.parse(data, path: "bad.safetensors"), line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("bad.safetensors"), "error names the file: \(text)", line: line)
            XCTAssertTrue(text.contains(fragment), "expected '\(fragment)' in: \(text)", line: line)
        }
    }

    func testMalformedFilesAreRefused() {
        let eight = [UInt8](repeating: 0, count: 8)
        assertRejected(Data([1, 2, 3]), "shorter than")
        assertRejected(file(header: "{}", lengthOverride: 1 << 40), "too large")
        assertRejected(file(header: "{}", lengthOverride: 100), "past the end")
        assertRejected(file(header: "not json"), "not JSON")
        assertRejected(file(header: "[1,2]"), "not a JSON object")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, data: eight), "outside")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight), "needs 12 bytes")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#, data: eight), "invalid shape")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: eight), "outside")
        assertRejected(file(header: #"{"a":{"dtype":"X9","shape":[1],"data_offsets":[0,4]}}"#, data: eight), "unsupported dtype")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[1]}}"#, data: eight), "lacks")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                            data: eight), "overlaps")
        assertRejected(file(header: #"{"__metadata__":{"k":1}}"#), "not a string")
        assertRejected(file(header: #"{"a":{"dtype":"F32","shape":[100000000,100000000],"data_offsets":[0,8]}}"#, data: eight),
                       "too large")
    }

    func testReadsOtherDtypes() throws {
        // F16 1.5 = 0x3E00, BF16 -2 = 0xC000, I64 7.
        let data: [UInt8] = [0x00, 0x3E, 0x00, 0xC0] + [7, 0, 0, 0, 0, 0, 0, 0]
        let header = #"{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[2,4]},"n":{"dtype":"I64","shape":[],"data_offsets":[4,12]}}"#
        let (entries, _) = try Safetensors.parse(file(header: header, data: data), path: "x")
        let v = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.tensor.scalars) })
        XCTAssertEqual(v["h"], [1.5])
        XCTAssertEqual(v["b"], [-2])
        XCTAssertEqual(v["n"], [7])
    }

    /// Python's `safetensors` library reads our files (skipped with the reason where the package is missing, failing under
    /// `CI=true`; see ``TestPython``).
    func testPythonSafetensorsReadsOurFiles() throws {
        try TestPython.require(["safetensors.numpy", "numpy"])
        let (python, args) = TestPython.command
        let dir = temporaryDirectory()
        let path = dir + "/t.safetensors"
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5.5, -6])
        try Safetensors.write([("layer.weight", a), ("b", Tensor(shape: [1], values: [0.25]))], metadata: ["format": "swiftclas"], to: path)
        let script = """
        import sys, numpy as np
        from safetensors.numpy import load_file
        from safetensors import safe_open
        t = load_file(sys.argv[1])
        assert t['layer.weight'].dtype == np.float32 and t['layer.weight'].shape == (2, 3), t
        assert (t['layer.weight'] == np.array([[1, 2, 3], [4, 5.5, -6]], np.float32)).all()
        assert t['b'].tolist() == [0.25]
        with safe_open(sys.argv[1], 'np') as f: assert f.metadata() == {'format': 'swiftclas'}
        print('ok')
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = args + ["-c", script, path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        p.waitUntilExit()
        let out = String(data: pipe.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8) ?? ""
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }
}
