import ClasConfig
import ClasTensor
import Foundation

struct TopkAccOptions: ConfigOptions {
    var topk: [Int]
    enum CodingKeys: String, CodingKey, CaseIterable { case topk }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        topk = try c.decode(.topk, default: [1, 5])
        try decoder.configCheck(!topk.isEmpty && topk.allSatisfy { $0 >= 1 }, CodingKeys.topk,
                                "expects positive integers, got \(topk)")
    }
}

extension Registries {
    static func registerMetrics(into r: inout Registries) {
        r.metric.register("TopkAcc", summary: "top-k accuracy (topk: [1, 5])", options: TopkAccOptions.self) { o, ctx in
            TopkAccuracy(topk: o.topk.filter { $0 <= max(ctx.classCount, 1) })
        }
        r.metric.register("DistillationTopkAcc", summary: "top-k accuracy of one model of a DistillationModel (model_key)",
                          options: DistillationTopkAccuracy.Options.self) { try DistillationTopkAccuracy.make($0, $1) }
        registerClassificationMetrics(into: &r)
    }
}
