import ClasConfig
import ClasNN
import ClasTensor

/// `Arch.use_sync_bn: True`: BatchNorm statistics over the global batch (all processes) instead of each
/// process's own. Read from `Arch` for any model (the key is removed before the model's options are decoded).
enum SyncBatchNorm {
    static let key = "use_sync_bn"

    /// The switch and the spec the model factory should see.
    static func read(_ spec: ComponentSpec) throws -> (Bool, ComponentSpec) {
        guard let node = spec.args[key], !node.isNull else { return (false, spec) }
        guard let value = node.scalar.flatMap({ Scalars.bool($0.text) }) else {
            throw ConfigError("\(spec.path).\(key) expects a boolean, got \(node.summary)", at: node)
        }
        return (value, spec.removingArgs([key]))
    }

    /// Makes every BatchNorm of `model` reduce its statistics over `communicator`; returns how many there are.
    @discardableResult
    static func apply(to model: Module, communicator: Communicator) -> Int {
        let reducer = Reducer(communicator)
        var n = 0
        for case let (_, bn as BatchNorm) in model.namedModules() {
            bn.statisticsReducer = reducer
            n += 1
        }
        return n
    }

    /// Sums SyncBN's per-channel values with an all-reduce.
    final class Reducer: CrossProcessReducer {
        let communicator: Communicator
        init(_ communicator: Communicator) { self.communicator = communicator }
        func allSum(_ values: UnsafeMutablePointer<Double>, count: Int) {
            communicator.allReduce(values, count: count, operation: .sum, label: "SyncBN statistics")
        }
    }
}
