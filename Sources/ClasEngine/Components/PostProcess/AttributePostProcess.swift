import ClasConfig
import ClasTensor

/// PaddleClas's attribute post-processes (`ppcls/data/postprocess/attr_rec.py`): σ of each output, described in
/// words for the PULC models' fixed attribute layouts. Each JSON line has `file_name`, the words (`attributes`,
/// or `attr` for vehicles), the thresholded 0/1 vector (`output`, or `pred` for vehicles) and, beyond PaddleClas,
/// the σ `scores` (5 decimals).
public struct AttributePostProcess: PostProcessor {
    /// The model's outputs per image.
    public let width: Int
    /// Words and 0/1 predictions from one image's σ values.
    let describe: ([Float]) -> (words: Any, predicted: [Int])
    let wordsKey: String, predictedKey: String

    public func results(logits: Tensor, files: [String]) -> [[String: Any]] {
        zip(files, sigmoidRows(logits)).map { file, p in
            let (words, predicted) = describe(p)
            return ["file_name": file, wordsKey: words, predictedKey: predicted, "scores": p.map(rounded5)]
        }
    }

    /// PaddleClas's `PersonAttribute` (PA-100K's 26 attributes: PULC person_attribute).
    static func person(threshold: Float, glasses: Float, hold: Float) -> AttributePostProcess {
        let ages = ["AgeLess18", "Age18-60", "AgeOver60"], directions = ["Front", "Side", "Back"]
        let bags = ["HandBag", "ShoulderBag", "Backpack"], uppers = ["UpperStride", "UpperLogo", "UpperPlaid", "UpperSplice"]
        let lowers = ["LowerStripe", "LowerPattern", "LongCoat", "Trousers", "Shorts", "Skirt&Dress"]
        return AttributePostProcess(width: 26, describe: { r in
            var words = [r[22] > threshold ? "Female" : "Male", ages[argmax(r[19..<22])], directions[argmax(r[23..<26])],
                         "Glasses: " + (r[1] > glasses ? "True" : "False"), "Hat: " + (r[0] > threshold ? "True" : "False"),
                         "HoldObjectsInFront: " + (r[18] > hold ? "True" : "False")]
            let bag = argmax(r[15..<18])
            words.append(r[15 + bag] > threshold ? bags[bag] : "No bag")
            var upper = "Upper: " + (r[3] > r[2] ? "LongSleeve" : "ShortSleeve")
            for i in 0..<4 where r[4 + i] > threshold { upper += " " + uppers[i] }
            words.append(upper)
            let worn = (0..<6).filter { r[8 + $0] > threshold }
            words.append("Lower: " + (worn.isEmpty ? [lowers[argmax(r[8..<14])]] : worn.map { lowers[$0] })
                .map { " " + $0 }.joined())
            words.append(r[14] > threshold ? "Boots" : "No boots")
            var thresholds = [Float](repeating: 0.5, count: 26)
            thresholds[1] = glasses
            thresholds[18] = hold
            return (words, zip(r, thresholds).map { $0 > $1 ? 1 : 0 })
        }, wordsKey: "attributes", predictedKey: "output")
    }

    /// PaddleClas's `VehicleAttribute` (VeRi-Wild colours and types, 19 outputs: PULC vehicle_attribute).
    static func vehicle(color: Float, type: Float) -> AttributePostProcess {
        let colors = ["yellow", "orange", "green", "gray", "red", "blue", "white", "golden", "brown", "black"]
        let types = ["sedan", "suv", "van", "hatchback", "mpv", "pickup", "bus", "truck", "estate"]
        return AttributePostProcess(width: 19, describe: { r in
            let c = argmax(r[0..<10]), t = argmax(r[10..<19])
            let colorInfo = r[c] >= color ? "Color: (\(colors[c]), prob: \(r[c]))" : "Color unknown"
            let typeInfo = r[10 + t] >= type ? "Type: (\(types[t]), prob: \(r[10 + t]))" : "Type unknown"
            return ("\(colorInfo), \(typeInfo)", r.indices.map { r[$0] > ($0 < 10 ? color : type) ? 1 : 0 })
        }, wordsKey: "attr", predictedKey: "pred")
    }

    /// PaddleClas's `TableAttribute` (6 outputs: PULC table_attribute). Each attribute's word uses its own threshold
    /// (PaddleClas uses `number_threshold` for the obstruction and angle words, unlike their 0/1 outputs).
    static func table(_ t: [Float]) -> AttributePostProcess {
        let words = [("Scanned", "Photo"), ("Little", "Numerous"), ("Black-and-White", "Multicolor"), ("Clear", "Blurry"),
                     ("Without-Obstacles", "With-Obstacles"), ("Horizontal", "Tilted")]
        return AttributePostProcess(width: 6, describe: { r in
            (words.indices.map { r[$0] > t[$0] ? words[$0].0 : words[$0].1 }, r.indices.map { r[$0] > t[$0] ? 1 : 0 })
        }, wordsKey: "attributes", predictedKey: "output")
    }
}

/// The index of the first largest value in `slice`, relative to its start (numpy's `argmax`).
private func argmax(_ slice: ArraySlice<Float>) -> Int {
    var best = slice.startIndex
    for i in slice.indices where slice[i] > slice[best] { best = i }
    return best - slice.startIndex
}

struct PersonAttributeOptions: ConfigOptions {
    var threshold: Double, glasses: Double, hold: Double
    enum CodingKeys: String, CodingKey, CaseIterable {
        case threshold, glasses = "glasses_threshold", hold = "hold_threshold"
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        threshold = try c.decode(.threshold, default: 0.5)
        glasses = try c.decode(.glasses, default: 0.3)
        hold = try c.decode(.hold, default: 0.6)
    }
}

struct VehicleAttributeOptions: ConfigOptions {
    var color: Double, type: Double
    enum CodingKeys: String, CodingKey, CaseIterable { case color = "color_threshold", type = "type_threshold" }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        color = try c.decode(.color, default: 0.5)
        type = try c.decode(.type, default: 0.5)
    }
}

struct TableAttributeOptions: ConfigOptions {
    var thresholds: [Float]
    enum CodingKeys: String, CodingKey, CaseIterable {
        case source = "source_threshold", number = "number_threshold", color = "color_threshold"
        case clarity = "clarity_threshold", obstruction = "obstruction_threshold", angle = "angle_threshold"
    }
    static let knownKeys = CodingKeys.allCases.map(\.stringValue)
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        thresholds = try CodingKeys.allCases.map { Float(try c.decode($0, default: 0.5)) }
    }
}

extension Registries {
    /// `PersonAttribute`, `VehicleAttribute`, `TableAttribute` (each checks the model's output count).
    static func registerAttributePostProcesses(into r: inout Registries) {
        func checked(_ name: String, _ p: AttributePostProcess, _ ctx: ComponentContext) throws -> AttributePostProcess {
            guard ctx.classCount == p.width else {
                throw EngineError("\(name) describes \(p.width) outputs, but the model has \(ctx.classCount) (Arch.class_num)")
            }
            return p
        }
        r.postProcess.register("PersonAttribute", summary: "PA-100K's 26 pedestrian attributes in words",
                               options: PersonAttributeOptions.self) { o, ctx in
            try checked("PersonAttribute", .person(threshold: Float(o.threshold), glasses: Float(o.glasses),
                                                   hold: Float(o.hold)), ctx)
        }
        r.postProcess.register("VehicleAttribute", summary: "vehicle colour (10) and type (9) in words",
                               options: VehicleAttributeOptions.self) { o, ctx in
            try checked("VehicleAttribute", .vehicle(color: Float(o.color), type: Float(o.type)), ctx)
        }
        r.postProcess.register("TableAttribute", summary: "6 table-image attributes in words",
                               options: TableAttributeOptions.self) { o, ctx in
            try checked("TableAttribute", .table(o.thresholds), ctx)
        }
    }
}
