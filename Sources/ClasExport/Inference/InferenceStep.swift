import ClasKernels
import ClasTensor

/// Weights packed once, in the layout a kernel reads (freed with the plan).
final class PackedWeights {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int, fill: (UnsafeMutablePointer<Float>) -> Void) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        fill(pointer)
    }

    deinit { pointer.deallocate() }
}

/// What one step of an ``InferencePlan`` computes. Convolutions and linear layers carry their fused epilogue:
/// y = act(conv(x) + bias (+ residual)).
enum InferenceKernel {
    /// Dense convolution (groups 1) over packed weights and bias (`clas_conv_packed`); inputs: x (, residual).
    case conv(ConvAttributes, weights: PackedWeights, cout: Int, residual: Bool, act: Activation)
    /// 3×3 stride-1 dense convolution by Winograd F(4×4, 3×3) over transformed weights (`clas_conv_winograd`);
    /// inputs: x (, residual).
    case winograd(ConvAttributes, weights: PackedWeights, cout: Int, residual: Bool, act: Activation)
    /// Few-input-channel direct convolution (an RGB stem); inputs: x.
    case directConv(ConvAttributes, weights: PackedWeights, bias: PackedWeights, cout: Int, act: Activation)
    /// 1×1 stride-1 convolution of x ⊙ gate (squeeze-excite's broadcast multiply folded into the product,
    /// `clas_gemm_packed_scaled`); inputs: x [N, H, W, K], gate [N, 1, 1, K] (, residual).
    case scaledPointwise(weights: PackedWeights, cout: Int, residual: Bool, act: Activation)
    /// Depthwise convolution; inputs: x.
    case depthwise(ConvAttributes, weights: PackedWeights, bias: PackedWeights, act: Activation)
    /// x [..., K] · Wᵀ + bias over packed weights; inputs: x (, residual).
    case linear(weights: PackedWeights, n: Int, k: Int, residual: Bool, act: Activation)
    /// An activation on its own; inputs: x.
    case activation(Activation)
    /// Elementwise a op b, same shapes or b broadcast over the middle ([N, H·W, C] op [N, 1, C]); inputs: a, b.
    case binary(BinaryOp)
    /// Mean over H and W; inputs: x [N, H, W, C].
    case globalAvgPool
    /// Max or average pooling; inputs: x.
    case pool(ConvAttributes, max: Bool, countIncludePad: Bool)
    /// Any other recorded operation, run with the ordinary tensor operations (copies in and out).
    case fallback(TracedOp)
}

/// Window attributes of a convolution or pooling, turned into a `clas_conv_geom` for a given input shape.
struct ConvAttributes {
    var kernel: (Int, Int)
    var stride: (Int, Int)
    var padding: Padding2D
    var dilation: (Int, Int)

    /// The geometry over an NHWC input of `shape`.
    func geometry(_ shape: [Int]) -> clas_conv_geom {
        let ekh = dilation.0 * (kernel.0 - 1) + 1, ekw = dilation.1 * (kernel.1 - 1) + 1
        let oh = (shape[1] + padding.top + padding.bottom - ekh) / stride.0 + 1
        let ow = (shape[2] + padding.left + padding.right - ekw) / stride.1 + 1
        return clas_conv_geom(n: Int64(shape[0]), h: Int64(shape[1]), w: Int64(shape[2]), c: Int64(shape[3]),
                              oh: Int64(oh), ow: Int64(ow), kh: Int64(kernel.0), kw: Int64(kernel.1),
                              sh: Int64(stride.0), sw: Int64(stride.1), pt: Int64(padding.top),
                              pl: Int64(padding.left), dh: Int64(dilation.0), dw: Int64(dilation.1))
    }
}

/// One step: a kernel, the graph values it reads and the value it writes.
struct InferenceStep {
    var kernel: InferenceKernel
    var inputs: [Int]
    var output: Int
    /// The graph nodes the step replaces (for the summary).
    var fused: String
}

extension InferenceStep {
    /// The floats of packed weights the step reads.
    var weightFloats: Int {
        switch kernel {
        case let .conv(_, w, _, _, _), let .winograd(_, w, _, _, _), let .scaledPointwise(w, _, _, _),
             let .linear(w, _, _, _, _):
            return w.count
        case let .directConv(_, w, b, _, _), let .depthwise(_, w, b, _): return w.count + b.count
        case .activation, .binary, .globalAvgPool, .pool, .fallback: return 0
        }
    }

    /// Runs the step: `ptr` gives each value's memory, `shape` its shape at this batch size.
    func run(_ ptr: (Int) -> UnsafeMutablePointer<Float>, _ shape: (Int) -> [Int]) {
        let y = ptr(output)
        let xs = shape(inputs[0])
        switch kernel {
        case let .conv(a, w, cout, residual, act):
            var g = a.geometry(xs)
            clas_conv_packed(&g, ptr(inputs[0]), w.pointer, Int64(cout), residual ? ptr(inputs[1]) : nil,
                             act.rawValue, y)
        case let .winograd(a, w, cout, residual, act):
            var g = a.geometry(xs)
            clas_conv_winograd(&g, ptr(inputs[0]), w.pointer, Int64(cout), residual ? ptr(inputs[1]) : nil,
                               act.rawValue, y)
        case let .scaledPointwise(w, cout, residual, act):
            let k = xs[3], rows = xs.reduce(1, *) / k
            clas_gemm_packed_scaled(Int64(rows), Int64(cout), Int64(k), ptr(inputs[0]), ptr(inputs[1]),
                                    Int64(xs[1] * xs[2]), w.pointer, residual ? ptr(inputs[2]) : nil,
                                    act.rawValue, y)
        case let .directConv(a, w, b, cout, act):
            var g = a.geometry(xs)
            clas_conv_direct_forward_packed(&g, ptr(inputs[0]), w.pointer, b.pointer, Int64(cout), act.rawValue, y)
        case let .depthwise(a, w, b, act):
            var g = a.geometry(xs)
            clas_dwconv_forward_packed(&g, ptr(inputs[0]), w.pointer, b.pointer, act.rawValue, y)
        case let .linear(w, n, k, residual, act):
            let rows = xs.reduce(1, *) / k
            clas_gemm_packed(Int64(rows), Int64(n), Int64(k), ptr(inputs[0]), Int64(k), w.pointer,
                             residual ? ptr(inputs[1]) : nil, act.rawValue, y)
        case .activation(let act):
            clas_act_forward(act.rawValue, ptr(inputs[0]), y, Int64(xs.reduce(1, *)))
        case .binary(let op):
            let bs = shape(inputs[1]), count = xs.reduce(1, *), bcount = bs.reduce(1, *)
            if count == bcount {
                clas_binary(op.rawValue, ptr(inputs[0]), ptr(inputs[1]), y, Int64(count))
            } else {
                let n = xs[0], c = xs[xs.count - 1]
                clas_binary_bcast_mid(op.rawValue, ptr(inputs[0]), ptr(inputs[1]), y, Int64(n),
                                      Int64(count / (n * c)), Int64(c))
            }
        case .globalAvgPool:
            let n = xs[0], c = xs[3], s = xs[1] * xs[2]
            clas_global_avg_pool(ptr(inputs[0]), y, Int64(n), Int64(s), Int64(c))
        case let .pool(a, isMax, countIncludePad):
            var g = a.geometry(xs)
            if isMax { clas_maxpool_forward(&g, ptr(inputs[0]), y, nil) }
            else { clas_avgpool_forward(&g, ptr(inputs[0]), y, countIncludePad) }
        case .fallback(let op):
            let tensors = inputs.map { v -> Tensor in
                let s = shape(v), t = Tensor(uninitializedShape: s)
                t.data.update(from: ptr(v), count: t.count)
                return t
            }
            let out = GraphExecutor.apply(op, tensors, batchAxis: nil)
            y.update(from: out.data, count: out.count)
        }
    }
}
