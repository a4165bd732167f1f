import ClasConfig

/// The `Arch` options of a model registered with a ``ModelCard``: its config keys, and the class count, which the
/// registry sets to the run's.
///
/// Each family declares `Options` with `CodingKeys: String, CodingKey, CaseIterable` spelled as in YAML (PaddleClas
/// names, with timm's spelling accepted as an alias where they differ) and a `knownKeys` list, so the conformance is
/// one line: `extension EfficientNet.Options: ArchOptions {}`.
public protocol ArchOptions: ConfigOptions {
    /// Classifier outputs (`class_num`).
    var classNum: Int { get set }
}

/// Keys PaddleClas configs carry that SwiftClas accepts without effect, with the reason shown in a notice.
let paddleIgnoredArchKeys: [String: String] = [
    // The engine reads `pretrained`/`use_ssld` of the top-level Arch (ArchPretrained); these notices are for models
    // built inside others (distillation students and teachers), which take a weights path instead.
    "pretrained": "ImageNet weights by name are loaded for the top-level Arch only; give this model a weights path",
    "use_ssld": "SSLD weights are not on the Hugging Face hub; give this model a weights path",
    "use_sync_bn": "read by the engine: SyncBN across the processes of an mpirun run",
    "infer_model_name": "only used by distillation models",
    "infer_output_key": "only used by retrieval models",
    "infer_add_softmax": "read from the top-level Arch only, where export appends a softmax",
]

extension KeyedDecodingContainer {
    /// The one of `key`, `alias` that is present (nil for neither); both at once is an error.
    private func spelling(_ key: Key, _ alias: Key) throws -> Key? {
        if contains(key) && contains(alias) {
            throw DecodingError.dataCorruptedError(
                forKey: alias, in: self,
                debugDescription: "'\(key.stringValue)' and '\(alias.stringValue)' are the same option; give only one")
        }
        return contains(key) ? key : contains(alias) ? alias : nil
    }

    /// A probability under either spelling: nil when absent, 0 for an explicit null (PaddleClas: `dropout_prob: null`
    /// means no dropout).
    func decodeRate(_ key: Key, or alias: Key) throws -> Float? {
        guard let k = try spelling(key, alias) else { return nil }
        if try decodeNil(forKey: k) { return 0 }
        let rate = try decode(Float.self, forKey: k)
        guard rate >= 0 && rate < 1 else {
            throw DecodingError.dataCorruptedError(forKey: k, in: self, debugDescription: "expects a rate in [0, 1), got \(rate)")
        }
        return rate
    }

    /// A probability under one spelling (see ``decodeRate(_:or:)``).
    func decodeRate(_ key: Key) throws -> Float? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { return 0 }
        let rate = try decode(Float.self, forKey: key)
        guard rate >= 0 && rate < 1 else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "expects a rate in [0, 1), got \(rate)")
        }
        return rate
    }

    /// A positive count under one or two spellings, or `defaultValue` when absent or null.
    func decodePositive(_ key: Key, or alias: Key? = nil, default defaultValue: Int) throws -> Int {
        let present = try alias.flatMap { try spelling(key, $0) } ?? (contains(key) ? key : nil)
        guard let k = present, let value = try decodeIfPresent(Int.self, forKey: k) else { return defaultValue }
        guard value > 0 else {
            throw DecodingError.dataCorruptedError(forKey: k, in: self, debugDescription: "expects a positive integer, got \(value)")
        }
        return value
    }
}

/// One entry of PaddleClas's `stride_list`: a stride for both directions (`2`) or (vertical, horizontal) (`[2, 1]`).
struct StrideEntry: Decodable {
    let pair: [Int]

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let values = (try? c.decode(Int.self)).map { [$0, $0] } ?? (try? c.decode([Int].self))
        guard let values, values.count == 2, values.allSatisfy({ $0 > 0 }) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "a stride is a positive integer or a "
                                                   + "[vertical, horizontal] pair, e.g. 2 or [2, 1]")
        }
        pair = values
    }
}

extension KeyedDecodingContainer {
    /// PaddleClas's `return_patterns` / `return_stages` make a model return intermediate outputs, which only feature
    /// distillation reads: outside a `DistillationModel` they are refused (null, false or an empty list pass).
    func refuseIntermediateOutputs(_ patterns: Key, _ stages: Key) throws {
        for (key, isStages) in [(patterns, false), (stages, true)] where contains(key) {
            if try decodeNil(forKey: key) { continue }
            if isStages, (try? decode(Bool.self, forKey: key)) == false { continue }
            if !isStages, (try? decode([String].self, forKey: key))?.isEmpty == true { continue }
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "intermediate outputs are for feature distillation losses; name them in a model "
                    + "of a DistillationModel (its `models` list), not in the top-level Arch")
        }
    }
}
