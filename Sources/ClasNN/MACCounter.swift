import ClasTensor

/// Counts multiply-accumulates of convolutions and linear layers during a forward pass, the way timm's and
/// fvcore's counters report model cost (normalisation, activations and additions are not counted).
public enum MACCounter {
    nonisolated(unsafe) static var active = false
    nonisolated(unsafe) static var total = 0

    /// Runs `body` and returns its MACs.
    public static func count(_ body: () throws -> Void) rethrows -> Int {
        let saved = (active, total)
        active = true
        total = 0
        defer { (active, total) = saved }
        try body()
        return total
    }

    /// Adds `macs` while counting (layers that run convolutions or matrix products call this).
    @inline(__always) public static func add(_ macs: Int) {
        if active { total += macs }
    }
}
