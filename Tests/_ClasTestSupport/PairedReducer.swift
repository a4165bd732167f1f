import ClasTensor

/// Two processes of a SyncBN all-reduce simulated in one thread: each call records this side's values and adds the
/// partner's values from the same call of the previous round. Call k's local values depend only on the results of
/// calls before k, so repeating the rounds (`beginRound()` on both, then the forward/backward on both) reaches the
/// exact two-process result (a fixed point) after calls + 1 rounds.
public final class PairedReducer: CrossProcessReducer {
    public var recorded: [[Double]] = []
    public weak var partner: PairedReducer?
    private var partnerRound: [[Double]] = []
    private var call = 0

    public init() {}

    /// Starts a round with the partner's values of the previous one.
    public func beginRound() {
        partnerRound = partner?.recorded ?? []
        call = 0
    }

    public func allSum(_ values: UnsafeMutablePointer<Double>, count: Int) {
        let local = Array(UnsafeBufferPointer(start: values, count: count))
        if call < recorded.count { recorded[call] = local } else { recorded.append(local) }
        if call < partnerRound.count, partnerRound[call].count == count {
            for i in 0..<count { values[i] += partnerRound[call][i] }
        }
        call += 1
    }
}
