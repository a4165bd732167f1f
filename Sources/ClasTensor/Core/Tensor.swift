import ClasKernels
import Foundation

/// A float buffer from the kernel library's size-class cache, returned to it when the last tensor using it goes.
public final class Storage {
    /// The first element. Tensors are contiguous, so element `i` of a tensor is `pointer[i]`.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of floats in use.
    public let count: Int
    private let capacity: Int64

    /// A buffer of `count` floats, uninitialised.
    public init(count: Int) {
        var capacity: Int64 = 0
        guard let p = clas_buffer_alloc(Int64(count), &capacity) else {
            fatalError("out of memory allocating \(count) floats")
        }
        self.pointer = p
        self.count = count
        self.capacity = capacity
    }

    deinit { clas_buffer_free(pointer, capacity) }
}

/// A contiguous `Float32` tensor with reverse-mode automatic differentiation.
///
/// Images are NHWC (channels last); see docs/design.md. Operations build a graph when grad mode is on and an input
/// requires a gradient; `backward()` fills `grad` of the leaves (parameters). A tensor never changes shape; its
/// contents change only through explicit in-place APIs (optimizer updates, `copy(from:)`).
public final class Tensor {
    /// The dimensions, outermost first.
    public let shape: [Int]
    /// The elements, shared by reshaped views.
    public let storage: Storage
    /// Whether gradients flow to this tensor (parameters, and results of operations on them).
    public var requiresGrad: Bool
    /// The accumulated gradient after `backward()` (leaves, and tensors with `retainsGrad`).
    public var grad: Tensor?
    /// Keep the gradient of this intermediate tensor during `backward()` (for tests and inspection).
    public var retainsGrad = false
    /// The operation that produced this tensor, when it is part of a graph.
    var gradFn: GradFn?

    /// A tensor over existing storage (which must hold exactly the shape's element count).
    public init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(Tensor.count(of: shape) == storage.count, "shape \(shape) does not match \(storage.count) elements")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// An uninitialised tensor (every element must be written before it is read).
    public convenience init(uninitializedShape shape: [Int]) {
        self.init(shape: shape, storage: Storage(count: Tensor.count(of: shape)))
    }

    /// A tensor holding `values` (row-major), which must have the shape's element count.
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) {
        precondition(values.count == Tensor.count(of: shape), "\(values.count) values for shape \(shape)")
        self.init(uninitializedShape: shape)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { storage.pointer.update(from: base, count: values.count) }
        }
        self.requiresGrad = requiresGrad
    }

    /// A tensor with every element equal to `value`.
    public convenience init(shape: [Int], repeating value: Float, requiresGrad: Bool = false) {
        self.init(uninitializedShape: shape)
        clas_fill(storage.pointer, value, Int64(count))
        self.requiresGrad = requiresGrad
    }

    /// A rank-0 tensor.
    public convenience init(_ value: Float) { self.init(shape: [], values: [value]) }

    /// Zeros of the given shape.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, repeating: 0, requiresGrad: requiresGrad)
    }

    /// Ones of the given shape.
    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, repeating: 1, requiresGrad: requiresGrad)
    }

    /// Number of elements of a shape.
    @inline(__always) public static func count(of shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Number of elements.
    @inline(__always) public var count: Int { storage.count }
    /// Number of dimensions.
    @inline(__always) public var rank: Int { shape.count }
    /// The raw elements (contiguous, row-major).
    @inline(__always) public var data: UnsafeMutablePointer<Float> { storage.pointer }

    /// The elements as an array.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item of a tensor with \(count) elements")
        return data[0]
    }

    /// Element at a multi-index.
    public subscript(index: Int...) -> Float {
        get { data[flatIndex(index)] }
        set { data[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == rank, "index \(index) for shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "index \(index) out of range for shape \(shape)")
            flat = flat * d + i
        }
        return flat
    }

    /// A copy that does not share storage and is not part of any graph.
    public func detachedCopy() -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// The same storage, outside any graph (gradients do not flow through it).
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// Overwrites the elements with another tensor's (same element count); not recorded in the graph.
    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy of \(other.shape) into \(shape)")
        if other.storage !== storage { data.update(from: other.data, count: count) }
    }

    /// Sets every element to `value`; not recorded in the graph.
    public func fill(_ value: Float) { clas_fill(data, value, Int64(count)) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(shown)\(count > 8 ? ", …" : "")])"
    }
}
