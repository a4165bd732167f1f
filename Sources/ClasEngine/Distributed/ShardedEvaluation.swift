import ClasData
import ClasTensor

/// A metric whose state is a vector of sums, so per-process results combine by adding them: evaluation can then
/// be split across processes. Metrics that do not conform are evaluated on the whole split by every process.
public protocol ReducibleMetric: Metric {
    /// The accumulated state as sums (e.g. hits per k, then the sample count).
    var partialSums: [Double] { get }
    /// Replaces the state by `sums` (the totals over all processes).
    func setPartialSums(_ sums: [Double])
}

/// The contiguous part `[rank·N/W, (rank+1)·N/W)` of a dataset that one process evaluates: shards are disjoint
/// and cover every sample exactly once (no padding, unlike training).
struct DatasetShard: ImageDataset {
    let base: any ImageDataset
    let range: Range<Int>

    init(_ base: any ImageDataset, rank: Int, worldSize: Int) {
        self.base = base
        range = (rank * base.count / worldSize)..<((rank + 1) * base.count / worldSize)
    }

    var count: Int { range.count }
    func sample(at index: Int) -> (path: String, label: Int) { base.sample(at: range.lowerBound + index) }
    var classCount: Int { base.classCount }
    var classNames: [String]? { base.classNames }
    var labelKey: String? { base.labelKey }
    func targetVector(at index: Int) -> [Float]? { base.targetVector(at: range.lowerBound + index) }
    var labelRatio: [Float]? { base.labelRatio }
}

enum ShardedEvaluation {
    /// Whether a split of `count` samples is worth sharding over `worldSize` processes with these metrics: every
    /// shard gets a sample and every metric can be combined.
    static func canShard(count: Int, worldSize: Int, metrics: [Metric]) -> Bool {
        worldSize > 1 && count >= worldSize && metrics.allSatisfy { $0 is ReducibleMetric }
    }

    /// Combines loss averages (in `order`) and metric states over all processes, in place.
    static func reduce(meters: inout [String: AverageMeter], order: [String], metrics: [Metric],
                       communicator: Communicator) {
        var values: [Double] = []
        for name in order {
            let m = meters[name] ?? AverageMeter()
            values += [m.sum, Double(m.count)]
        }
        let reducible = metrics.compactMap { $0 as? ReducibleMetric }
        for m in reducible { values += m.partialSums }
        // Same length everywhere: the losses and metrics come from the config and every shard has a batch.
        let length = values.count
        communicator.allReduce(&values, count: length, operation: .sum, label: "evaluation results")
        var k = 0
        for name in order {
            var m = AverageMeter()
            let count = Int(values[k + 1])
            if count > 0 { m.add(values[k] / Double(count), weight: count) }
            meters[name] = m
            k += 2
        }
        for m in reducible {
            let n = m.partialSums.count
            m.setPartialSums(Array(values[k..<k + n]))
            k += n
        }
    }
}
