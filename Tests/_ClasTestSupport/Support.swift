import ClasTensor
import XCTest

/// Result of comparing analytic and numerical gradients.
public struct GradientReport {
    public var maxAbsError: Float = 0
    public var maxRelError: Float = 0
    public var checked = 0
}

/// Checks the gradients of `f` with respect to every input against central finite differences.
///
/// The scalar checked is Σ f(x)·r with a fixed random r, so every output element contributes. At most
/// `maxElements` elements per input are probed (spread evenly). An element passes when
/// |analytic − numeric| ≤ atol + rtol·max(|analytic|, |numeric|).
@discardableResult
public func checkGradients(
    _ inputs: [Tensor], eps: Float = 1e-2, rtol: Float = 1e-2, atol: Float = 2e-3, maxElements: Int = 96,
    file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor
) -> GradientReport {
    for x in inputs {
        x.requiresGrad = true
        x.grad = nil
    }
    let probe = f(inputs)
    var rng = RandomState(seed: 1234)
    let r = Tensor.randomNormal(probe.shape, using: &rng)
    func loss() -> Double {
        let y = GradMode.withoutGrad { f(inputs) }
        var s = 0.0
        for i in 0..<y.count { s += Double(y.data[i]) * Double(r.data[i]) }
        return s
    }
    let out = f(inputs)
    (out * r).sum().backward()
    var report = GradientReport()
    for (k, x) in inputs.enumerated() {
        guard let grad = x.grad else {
            XCTFail("input \(k) received no gradient", file: file, line: line)
            continue
        }
        XCTAssertEqual(grad.shape, x.shape, "gradient shape of input \(k)", file: file, line: line)
        let stride = max(1, x.count / maxElements)
        for i in Swift.stride(from: 0, to: x.count, by: stride) {
            let saved = x.data[i]
            x.data[i] = saved + eps
            let plus = loss()
            x.data[i] = saved - eps
            let minus = loss()
            x.data[i] = saved
            let numeric = Float((plus - minus) / (2 * Double(eps)))
            let analytic = grad.data[i]
            let err = Swift.abs(analytic - numeric)
            let scale = max(Swift.abs(analytic), Swift.abs(numeric))
            report.maxAbsError = max(report.maxAbsError, err)
            if scale > 1e-3 { report.maxRelError = max(report.maxRelError, err / scale) }
            report.checked += 1
            if err > atol + rtol * scale {
                XCTFail("input \(k) element \(i): analytic \(analytic) vs numeric \(numeric)", file: file, line: line)
                return report
            }
        }
    }
    return report
}

/// A tensor of normal samples from a fixed seed.
public func randn(_ shape: [Int], seed: UInt64 = 7, std: Float = 1) -> Tensor {
    var rng = RandomState(seed: seed)
    return Tensor.randomNormal(shape, std: std, using: &rng)
}

/// Normal samples pushed at least `margin` away from each of `kinks` (keeps finite differences off kinks).
public func randnAvoiding(_ shape: [Int], kinks: [Float], margin: Float = 0.05, seed: UInt64 = 7, std: Float = 1.5)
    -> Tensor
{
    let t = randn(shape, seed: seed, std: std)
    for i in 0..<t.count {
        for k in kinks where Swift.abs(t.data[i] - k) < margin {
            t.data[i] = t.data[i] >= k ? k + margin : k - margin
        }
    }
    return t
}

/// Asserts two float arrays agree elementwise within `tol` (absolute) and reports the first difference.
public func assertClose(
    _ a: [Float], _ b: [Float], tol: Float = 1e-5, _ message: String = "", file: StaticString = #filePath,
    line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, "\(message): counts differ", file: file, line: line)
    for i in 0..<min(a.count, b.count) where !(Swift.abs(a[i] - b[i]) <= tol) {
        XCTFail("\(message): element \(i): \(a[i]) vs \(b[i]) (tol \(tol))", file: file, line: line)
        return
    }
}

/// Path of a fresh temporary folder for a test.
public func temporaryDirectory(_ name: String = #function) -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "swiftclas-\(safe)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
