import ClasTensor
import XCTest
import _ClasTestSupport

/// A finite-difference gradient check for every differentiable operation.
final class GradientTests: XCTestCase {
    func testBroadcastArithmetic() {
        let pairs: [([Int], [Int])] = [([2, 3, 4], [2, 3, 4]), ([2, 3, 4], [4]), ([2, 1, 1, 5], [2, 3, 2, 5]),
                                       ([2, 3, 2, 5], [2, 1, 1, 5]), ([3, 1], [1, 4]), ([2, 3], [])]
        for (sa, sb) in pairs {
            let a = randn(sa, seed: 1), b = randn(sb, seed: 2)
            checkGradients([a, b]) { $0[0] + $0[1] }
            checkGradients([a, b]) { $0[0] - $0[1] }
            checkGradients([a, b]) { $0[0] * $0[1] }
            let positive = b.affine(0, 0) + b.abs() + 0.5  // keep divisors away from zero
            let d = positive.detachedCopy()
            checkGradients([a, d]) { $0[0] / $0[1] }
        }
    }

    func testScalarArithmetic() {
        let a = randn([3, 4])
        checkGradients([a]) { $0[0] * 2.5 + 1 }
        checkGradients([a]) { 3 - $0[0] / 4 }
        checkGradients([a]) { -$0[0] }
    }

    func testUnaryMath() {
        let a = randn([3, 5])
        let p = (a.abs() + 0.5).detachedCopy()
        checkGradients([a]) { $0[0].exp() }
        checkGradients([p]) { $0[0].log() }
        checkGradients([p]) { $0[0].sqrt() }
        checkGradients([a]) { $0[0].squared() }
        checkGradients([randnAvoiding([3, 5], kinks: [0])]) { $0[0].abs() }
        checkGradients([randnAvoiding([3, 5], kinks: [0.2])]) { $0[0].clamped(min: 0.2) }
    }

    func testActivations() {
        for act in Activation.allCases {
            let x = randnAvoiding([4, 7], kinks: [0, 6, -3, 3], std: 3)
            checkGradients([x]) { $0[0].activated(act) }
        }
    }

    func testReductions() {
        let a = randn([2, 3, 4])
        checkGradients([a]) { $0[0].sum() }
        checkGradients([a]) { $0[0].mean() }
        checkGradients([a]) { $0[0].sum(axes: [1]) }
        checkGradients([a]) { $0[0].sum(axes: [0, 2], keepDims: true) }
        checkGradients([a]) { $0[0].mean(axes: [-1]) }
    }

    func testShapeOps() {
        let a = randn([2, 3, 4]), b = randn([2, 5, 4], seed: 3)
        checkGradients([a]) { $0[0].reshaped([6, -1]) }
        checkGradients([a]) { $0[0].flattened() }
        checkGradients([a]) { $0[0].permuted([2, 0, 1]) }
        checkGradients([randn([3, 5])]) { $0[0].transposed() }
        checkGradients([a, b]) { Tensor.concat($0, axis: 1) }
        checkGradients([a]) { $0[0].narrowed(axis: 2, start: 1, length: 2) }
    }

    func testMatmulAndLinear() {
        checkGradients([randn([3, 4]), randn([4, 5], seed: 2)]) { Tensor.matmul($0[0], $0[1]) }
        checkGradients([randn([2, 3, 4]), randn([6, 4], seed: 2), randn([6], seed: 3)]) {
            Tensor.linear($0[0], weight: $0[1], bias: $0[2])
        }
        checkGradients([randn([5, 4]), randn([3, 4], seed: 2)]) { Tensor.linear($0[0], weight: $0[1], bias: nil) }
    }

    func testConvolutions() {
        struct Case {
            let input: [Int], cout: Int, k: (Int, Int), stride: (Int, Int), pad: Padding2D, dilation: (Int, Int)
            let groups: Int, bias: Bool
        }
        let cases = [
            Case(input: [2, 5, 5, 3], cout: 4, k: (1, 1), stride: (1, 1), pad: .zero, dilation: (1, 1), groups: 1, bias: true),
            Case(input: [2, 5, 5, 3], cout: 4, k: (1, 1), stride: (2, 2), pad: .zero, dilation: (1, 1), groups: 1, bias: false),
            Case(input: [2, 6, 5, 3], cout: 4, k: (3, 3), stride: (1, 1), pad: Padding2D(1), dilation: (1, 1), groups: 1, bias: true),
            Case(input: [2, 7, 7, 2], cout: 3, k: (3, 3), stride: (2, 2), pad: Padding2D(1), dilation: (1, 1), groups: 1, bias: false),
            Case(input: [1, 7, 7, 2], cout: 3, k: (3, 3), stride: (1, 1), pad: Padding2D(2), dilation: (2, 2), groups: 1, bias: true),
            Case(input: [1, 6, 6, 2], cout: 2, k: (3, 2), stride: (2, 1), pad: Padding2D(top: 0, bottom: 1, left: 1, right: 0),
                 dilation: (1, 1), groups: 1, bias: false),
            Case(input: [2, 5, 5, 4], cout: 6, k: (3, 3), stride: (1, 1), pad: Padding2D(1), dilation: (1, 1), groups: 2, bias: true),
            // direct kernel (few input channels): a 7×7 stride-2 stem with an output count off the vector width
            Case(input: [2, 9, 8, 3], cout: 19, k: (7, 7), stride: (2, 2), pad: Padding2D(3), dilation: (1, 1), groups: 1, bias: true),
            // im2col path with more input channels than the direct kernel takes
            Case(input: [1, 5, 5, 6], cout: 3, k: (3, 3), stride: (2, 2), pad: Padding2D(1), dilation: (1, 1), groups: 1, bias: true),
            // depthwise
            Case(input: [2, 6, 6, 5], cout: 5, k: (3, 3), stride: (1, 1), pad: Padding2D(1), dilation: (1, 1), groups: 5, bias: true),
            Case(input: [2, 7, 7, 3], cout: 3, k: (3, 3), stride: (2, 2), pad: Padding2D(1), dilation: (1, 1), groups: 3, bias: false),
            Case(input: [1, 9, 9, 70], cout: 70, k: (5, 5), stride: (2, 2), pad: Padding2D(2), dilation: (1, 1), groups: 70, bias: true),
            Case(input: [1, 8, 8, 4], cout: 4, k: (3, 3), stride: (1, 1), pad: Padding2D(2), dilation: (2, 2), groups: 4, bias: false),
            // 16- and 8-wide vector paths of the depthwise kernels (3×3 and 5×5, strides 1 and 2)
            Case(input: [2, 7, 7, 24], cout: 24, k: (3, 3), stride: (1, 1), pad: Padding2D(1), dilation: (1, 1), groups: 24, bias: true),
            Case(input: [2, 8, 8, 24], cout: 24, k: (3, 3), stride: (2, 2), pad: Padding2D(1), dilation: (1, 1), groups: 24, bias: false),
            Case(input: [2, 9, 9, 40], cout: 40, k: (5, 5), stride: (1, 1), pad: Padding2D(2), dilation: (1, 1), groups: 40, bias: true),
            Case(input: [1, 9, 9, 16], cout: 16, k: (5, 5), stride: (2, 2), pad: Padding2D(2), dilation: (1, 1), groups: 16, bias: false),
            // ConvNeXt's 7×7 (16- and 8-wide weight-gradient paths, interior and border pixels)
            Case(input: [2, 9, 10, 24], cout: 24, k: (7, 7), stride: (1, 1), pad: Padding2D(3), dilation: (1, 1), groups: 24, bias: true),
            Case(input: [1, 6, 6, 3], cout: 3, k: (3, 3), stride: (2, 2), pad: Padding2D(top: 0, bottom: 1, left: 0, right: 1),
                 dilation: (1, 1), groups: 3, bias: false),
        ]
        for (i, c) in cases.enumerated() {
            let x = randn(c.input, seed: UInt64(i))
            let w = randn([c.cout, c.k.0, c.k.1, c.input[3] / c.groups], seed: UInt64(100 + i), std: 0.5)
            var inputs = [x, w]
            if c.bias { inputs.append(randn([c.cout], seed: UInt64(200 + i))) }
            checkGradients(inputs, maxElements: 48) {
                Tensor.conv2d($0[0], weight: $0[1], bias: c.bias ? $0[2] : nil, stride: c.stride, padding: c.pad,
                              dilation: c.dilation, groups: c.groups)
            }
        }
    }

    /// Dense convolutions' gradients on images large enough for several blocks of output pixels per thread (the last
    /// one partial), against sums in double: few-channel stems (the direct kernel's weight gradient), a patch
    /// embedding (more than 96 outputs: im2col + GEMM), and im2col + GEMM with groups and strides, input gradient
    /// included (scattered per image).
    func testBlockedConvolutionGradientsMatchReference() {
        let cases: [(input: [Int], cout: Int, k: Int, stride: Int, pad: Int, groups: Int)] = [
            ([2, 23, 70, 3], 19, 3, 1, 1, 1), ([1, 21, 33, 3], 64, 7, 2, 3, 1), ([2, 16, 16, 3], 100, 4, 4, 0, 1),
            ([3, 40, 60, 5], 7, 3, 1, 1, 1), ([2, 36, 50, 6], 4, 3, 2, 1, 2),
        ]
        for (i, c) in cases.enumerated() {
            let cg = c.input[3] / c.groups, coutg = c.cout / c.groups
            let x = randn(c.input, seed: UInt64(400 + i)), w = randn([c.cout, c.k, c.k, cg], seed: UInt64(410 + i))
            let b = randn([c.cout], seed: UInt64(420 + i))
            for t in [x, w, b] { t.requiresGrad = true }
            let y = Tensor.conv2d(x, weight: w, bias: b, stride: (c.stride, c.stride), padding: Padding2D(c.pad),
                                  groups: c.groups)
            let r = randn(y.shape, seed: UInt64(430 + i))
            (y * r).sum().backward()
            let (n, h, wd, oh, ow) = (c.input[0], c.input[1], c.input[2], y.shape[1], y.shape[2])
            var gx = [Double](repeating: 0, count: x.count), gw = [Double](repeating: 0, count: w.count)
            var gb = [Double](repeating: 0, count: c.cout)
            for b0 in 0..<n { for i0 in 0..<oh { for j0 in 0..<ow { for o in 0..<c.cout {
                let g = Double(r[b0, i0, j0, o]), c0 = o / coutg * cg
                gb[o] += g
                for p in 0..<c.k { for q in 0..<c.k {
                    let ih = i0 * c.stride - c.pad + p, iw = j0 * c.stride - c.pad + q
                    if ih < 0 || ih >= h || iw < 0 || iw >= wd { continue }
                    for ch in 0..<cg {
                        let wi = ((o * c.k + p) * c.k + q) * cg + ch, xi = ((b0 * h + ih) * wd + iw) * c.input[3] + c0 + ch
                        gw[wi] += g * Double(x.data[xi])
                        gx[xi] += g * Double(w.data[wi])
                    }
                } }
            } } } }
            for (got, ref, what) in [(x.grad!.scalars, gx, "input"), (w.grad!.scalars, gw, "weight"),
                                     (b.grad!.scalars, gb, "bias")] {
                let scale = Swift.max(1, ref.map(Swift.abs).max() ?? 0)
                assertClose(got, ref.map { Float($0) }, tol: Float(2e-6 * scale), "case \(i) \(what) gradient")
            }
        }
    }

    func testBatchNorm() {
        // Smooth activations: finite differences are exact enough everywhere.
        for act in [Activation.none, .silu, .sigmoid, .gelu, .tanh] {
            for training in [true, false] {
                let x = randn([4, 3, 3, 5], std: 2)
                let gamma = (randn([5], seed: 3).abs() + 0.5).detachedCopy(), beta = randn([5], seed: 4)
                let rm = randn([5], seed: 5), rv = (randn([5], seed: 6).abs() + 0.5).detachedCopy()
                checkGradients([x, gamma, beta], rtol: 3e-2, atol: 5e-3) {
                    Tensor.batchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: rm, runningVar: rv,
                                     training: training, activation: act)
                }
            }
        }
    }

    func testFusedBatchNormActivationMatchesComposition() {
        // Kinked activations: the fused kernel must give the gradients of BN followed by the (checked) activation.
        for act in [Activation.relu, .relu6, .hardswish, .hardsigmoid] {
            for training in [true, false] {
                let x = randn([4, 3, 3, 5], std: 2), up = randn([4, 3, 3, 5], seed: 8)
                let gamma = (randn([5], seed: 3).abs() + 0.5).detachedCopy(), beta = randn([5], seed: 4)
                func grads(fused: Bool) -> [[Float]] {
                    let xs = x.detachedCopy(), gs = gamma.detachedCopy(), bs = beta.detachedCopy()
                    for t in [xs, gs, bs] { t.requiresGrad = true }
                    let rm = Tensor.zeros([5]), rv = Tensor.ones([5])
                    let y = fused
                        ? Tensor.batchNorm(xs, gamma: gs, beta: bs, runningMean: rm, runningVar: rv, training: training,
                                           activation: act)
                        : Tensor.batchNorm(xs, gamma: gs, beta: bs, runningMean: rm, runningVar: rv, training: training)
                            .activated(act)
                    (y * up).sum().backward()
                    return [xs, gs, bs].map { $0.grad?.scalars ?? [] }
                }
                let a = grads(fused: true), b = grads(fused: false)
                for k in 0..<3 { assertClose(a[k], b[k], tol: 1e-4, "\(act) training \(training) input \(k)") }
            }
        }
    }

    func testPooling() {
        // Distinct values so the maxima are unambiguous.
        let values: [Float] = (0..<216).map { (i: Int) -> Float in Float((i * 37) % 211) / 10 }
        let x = Tensor(shape: [2, 6, 6, 3], values: values)
        checkGradients([x]) { Tensor.maxPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: Padding2D(1)) }
        let y = randn([2, 5, 5, 3])
        checkGradients([y]) { Tensor.avgPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: Padding2D(1)) }
        checkGradients([y]) {
            Tensor.avgPool2d($0[0], kernel: (2, 2), stride: (1, 1), padding: Padding2D(1), countIncludePad: false)
        }
        checkGradients([y]) { Tensor.globalAvgPool($0[0]) }
        checkGradients([y]) { Tensor.globalAvgPool($0[0], keepDims: false) }
    }

    func testSoftmaxAndLosses() {
        let x = randn([4, 6])
        checkGradients([x]) { $0[0].softmax() }
        checkGradients([x]) { $0[0].logSoftmax() }
        checkGradients([x]) { Tensor.crossEntropy($0[0], labels: [0, 5, 2, 2]) }
        checkGradients([x]) { Tensor.crossEntropy($0[0], labels: [1, 3, 4, 0], labelSmoothing: 0.1) }
        let target = randn([4, 6], seed: 9).softmax()
        checkGradients([x]) { Tensor.softCrossEntropy($0[0], target: target) }
        let q = randn([4, 6], seed: 11)
        checkGradients([x, q]) { Tensor.klDivergence(logP: $0[0].logSoftmax(), logQ: $0[1].logSoftmax()) }
        checkGradients([x]) { $0[0].l2Normalized() }
        // Binary cross-entropy with logits (multi-label), including soft and unknown (-1) targets.
        let bits = Tensor(shape: [4, 6], values: (0..<24).map { [0, 1, 0.3, -1][$0 % 4] })
        checkGradients([(x * 3).detachedCopy()]) { Tensor.binaryCrossEntropyWithLogits($0[0], target: bits).mean() }
    }

    func testDropoutAndDropPath() {
        let x = randn([4, 3, 3, 2])
        checkGradients([x]) { var rng = RandomState(seed: 5); return $0[0].dropout(0.3, using: &rng) }
        checkGradients([x]) { var rng = RandomState(seed: 5); return $0[0].dropPath(0.5, using: &rng) }
    }

    func testGradientAccumulatesOverSharedInputs() {
        // y = x·x + x uses x three times: dy/dx = 2x + 1.
        let x = randn([5])
        x.requiresGrad = true
        (x * x + x).sum().backward()
        assertClose(x.grad?.scalars ?? [], x.scalars.map { 2 * $0 + 1 }, tol: 1e-6, "shared input")
    }
}
