import ClasTensor
import Foundation

/// Keeps the replicas of a data-parallel run identical: compares them by checksum, copies rank 0's state to the
/// others, and averages what legitimately differs (BatchNorm running statistics without SyncBN).
enum ReplicaSync {
    /// A 64-bit checksum of the tensors' bits, in order (FNV-1a over 32-bit words).
    static func checksum(_ tensors: [Tensor]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for t in tensors {
            let words = UnsafeRawPointer(t.data).assumingMemoryBound(to: UInt32.self)
            for i in 0..<t.count { h = (h ^ UInt64(words[i])) &* 0x0000_0100_0000_01B3 }
            h = (h ^ UInt64(t.count)) &* 0x0000_0100_0000_01B3
        }
        return h
    }

    /// A checksum of names and shapes: equal when the processes built the same model and optimizer state.
    static func layoutChecksum(_ named: [(String, Tensor)]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for (name, t) in named {
            for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
            for d in t.shape { h = (h ^ UInt64(truncatingIfNeeded: d)) &* 0x0000_0100_0000_01B3 }
        }
        return h
    }

    /// Whether every process holds the same `value` (one all-reduce of minimum and maximum).
    static func agree(_ value: UInt64, _ comm: Communicator, label: String) -> Bool {
        // Two 32-bit halves, exact in doubles; [hi, lo, -hi, -lo] under MAX gives max and -min at once.
        let hi = Double(value >> 32), lo = Double(value & 0xFFFF_FFFF)
        var v = [hi, lo, -hi, -lo]
        comm.allReduce(&v, count: 4, operation: .max, label: label)
        return v[0] == -v[2] && v[1] == -v[3]
    }

    /// Copies process `root`'s tensors into every other process's (one broadcast of a packed buffer).
    static func broadcast(_ tensors: [Tensor], from root: Int = 0, _ comm: Communicator, label: String) {
        let total = tensors.reduce(0) { $0 + $1.count }
        guard total > 0 else { return }
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: total)
        defer { buffer.deallocate() }
        pack(tensors, into: buffer)
        comm.broadcast(UnsafeMutableRawPointer(buffer), count: total * MemoryLayout<Float>.size, root: root, label: label)
        unpack(buffer, into: tensors, scale: 1)
    }

    /// Replaces every tensor by its average over the processes (one all-reduce of a packed buffer).
    static func average(_ tensors: [Tensor], _ comm: Communicator, label: String) {
        let total = tensors.reduce(0) { $0 + $1.count }
        guard total > 0 else { return }
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: total)
        defer { buffer.deallocate() }
        pack(tensors, into: buffer)
        comm.allReduce(buffer, count: total, label: label)
        unpack(buffer, into: tensors, scale: 1 / Float(comm.worldSize))
    }

    private static func pack(_ tensors: [Tensor], into buffer: UnsafeMutablePointer<Float>) {
        var offset = 0
        for t in tensors {
            (buffer + offset).update(from: t.data, count: t.count)
            offset += t.count
        }
    }

    private static func unpack(_ buffer: UnsafeMutablePointer<Float>, into tensors: [Tensor], scale: Float) {
        var offset = 0
        for t in tensors {
            let d = t.data
            for i in 0..<t.count { d[i] = buffer[offset + i] * scale }
            offset += t.count
        }
    }
}
