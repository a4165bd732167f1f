import ClasKernels

/// Mixed precision (AMP) for training: while it is on, every matrix product of the training ops (linear layers,
/// convolutions as GEMM, attention products) rounds its two inputs to bfloat16 and sums the products in float32, on
/// the CPU's AVX512_BF16 instructions, at about twice the multiply-adds of float32. Weights, gradients, optimizer
/// state and every other op stay float32, as with PyTorch's `torch.autocast(dtype=torch.bfloat16)`; bfloat16 has
/// float32's exponent range, so no loss scaling is needed. The largest activations the fused transformer ops keep for
/// their backward pass are kept in bfloat16 too (``KeptActivation``), as autocast keeps its bf16 outputs.
public enum MixedPrecision {
    /// Whether this CPU has the bf16 instructions (AVX512_BF16 with AVX512 F/BW/VL).
    public static var isSupported: Bool { clas_bf16_gemm_supported() }

    /// Whether bf16 products are on now.
    public static var isEnabled: Bool { clas_bf16_gemm_enabled() }

    /// Runs `body` with bf16 products when `enabled` (and supported), restoring the previous setting after.
    public static func run<T>(enabled: Bool, _ body: () throws -> T) rethrows -> T {
        let previous = clas_bf16_gemm_enabled()
        _ = clas_set_bf16_gemm(enabled)
        defer { _ = clas_set_bf16_gemm(previous) }
        return try body()
    }
}

/// An activation a fused op keeps for its backward pass: float32, or bfloat16 (two per float of storage) under AMP.
struct KeptActivation {
    let storage: Tensor
    let isBFloat16: Bool

    init(count: Int, bfloat16: Bool) {
        storage = Tensor(uninitializedShape: [bfloat16 ? (count + 1) / 2 : count])
        isBFloat16 = bfloat16
    }

    var float: UnsafeMutablePointer<Float>? { isBFloat16 ? nil : storage.data }
    var bfloat16: UnsafeMutablePointer<UInt16>? {
        isBFloat16 ? UnsafeMutableRawPointer(storage.data).assumingMemoryBound(to: UInt16.self) : nil
    }
}
