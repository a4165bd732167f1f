import ClasTensor
import Foundation

/// Averages gradients over all processes in buckets of a few megabytes, started during the backward pass.
///
/// Parameters are grouped into buckets in reverse model order (roughly the order the backward pass finishes
/// them). As each parameter's gradient becomes final (``gradientReady(_:)``, called by `Tensor.backward`), it is
/// copied into its bucket's contiguous buffer; a bucket whose gradients are all in is summed with a non-blocking
/// all-reduce while the backward pass goes on. Buckets always start in the same order on every process (a bucket
/// waits for the ones before it), as MPI requires. ``finish()`` completes the rest and replaces every gradient by
/// the average (sum / world size), as new tensors: gradients may share storage, so they are never changed in place.
final class GradientAverager {
    /// Where a parameter's gradient lives in the buckets.
    private struct Slot {
        let tensor: Tensor
        let bucket: Int
        let offset: Int
        var ready = false
        var hasGradient = false
    }

    /// One contiguous buffer reduced with one collective.
    private final class Bucket {
        let values: UnsafeMutablePointer<Float>
        let count: Int
        let slots: [Int]
        var readySlots = 0
        var pending: PendingReduction?

        init(count: Int, slots: [Int]) {
            values = .allocate(capacity: max(count, 1))
            self.count = count
            self.slots = slots
        }

        deinit { values.deallocate() }
    }

    let communicator: Communicator
    /// Whether buckets start during the backward pass (otherwise all are reduced in ``finish()``).
    let overlap: Bool
    private var slots: [Slot] = []
    private var buckets: [Bucket] = []
    private let index: [ObjectIdentifier: Int]
    private var nextToStart = 0

    /// - Parameters:
    ///   - parameters: the trainable parameters, in model order (the same on every process).
    ///   - bucketBytes: the size a bucket grows to before a new one starts.
    ///   - overlap: start reductions during the backward pass.
    init(parameters: [Tensor], communicator: Communicator, bucketBytes: Int = 4 << 20, overlap: Bool = true) {
        self.communicator = communicator
        self.overlap = overlap
        let capacity = max(1, bucketBytes / MemoryLayout<Float>.size)
        var members: [Int] = [], size = 0
        var grouped: [(count: Int, slots: [Int])] = []
        for t in parameters.reversed() {
            if size > 0 && size + t.count > capacity {
                grouped.append((size, members))
                members = []
                size = 0
            }
            members.append(slots.count)
            slots.append(Slot(tensor: t, bucket: grouped.count, offset: size))
            size += t.count
        }
        if !members.isEmpty { grouped.append((size, members)) }
        buckets = grouped.map { Bucket(count: $0.count, slots: $0.slots) }
        index = Dictionary(uniqueKeysWithValues: slots.enumerated().map { (ObjectIdentifier($0.element.tensor), $0.offset) })
    }

    /// Number of buckets (one collective each per step).
    var bucketCount: Int { buckets.count }

    /// Element counts of the buckets, in the order they are reduced.
    var bucketSizes: [Int] { buckets.map(\.count) }

    /// Called when `tensor`'s gradient is final for this step; other tensors are ignored.
    func gradientReady(_ tensor: Tensor) {
        guard let i = index[ObjectIdentifier(tensor)], !slots[i].ready else { return }
        collect(i)
        guard overlap else { return }
        startCompleteBuckets()
        for b in buckets[..<nextToStart] { _ = b.pending?.poll() }
    }

    /// Completes every reduction and replaces each gradient by its average over the processes. Parameters without
    /// a gradient on this process contribute zeros and keep no gradient.
    func finish() {
        for i in slots.indices where !slots[i].ready { collect(i) }
        if overlap {
            startCompleteBuckets()
            for b in buckets { b.pending?.wait() }
        } else {
            for (k, b) in buckets.enumerated() where b.count > 0 {
                communicator.allReduce(b.values, count: b.count, label: "gradient all-reduce (bucket \(k + 1)/\(buckets.count))")
            }
        }
        let scale = 1 / Float(communicator.worldSize)
        for i in slots.indices {
            defer { slots[i].ready = false; slots[i].hasGradient = false }
            guard slots[i].hasGradient else { continue }
            let t = slots[i].tensor, source = buckets[slots[i].bucket].values + slots[i].offset
            let g = Tensor(uninitializedShape: t.shape)
            let out = g.data
            for k in 0..<t.count { out[k] = source[k] * scale }
            t.grad = g
        }
        for b in buckets {
            b.readySlots = 0
            b.pending = nil
        }
        nextToStart = 0
    }

    /// Copies slot `i`'s gradient (or zeros) into its bucket and marks it ready.
    private func collect(_ i: Int) {
        let slot = slots[i], bucket = buckets[slot.bucket], destination = bucket.values + slot.offset
        if let g = slot.tensor.grad {
            destination.update(from: g.data, count: slot.tensor.count)
            slots[i].hasGradient = true
        } else {
            destination.initialize(repeating: 0, count: slot.tensor.count)
        }
        slots[i].ready = true
        bucket.readySlots += 1
    }

    /// Starts, in order, every bucket whose gradients are all in.
    private func startCompleteBuckets() {
        while nextToStart < buckets.count, buckets[nextToStart].readySlots == buckets[nextToStart].slots.count {
            let b = buckets[nextToStart]
            b.pending = communicator.startAllReduce(
                b.values, count: b.count, label: "gradient all-reduce (bucket \(nextToStart + 1)/\(buckets.count))")
            nextToStart += 1
        }
    }
}
