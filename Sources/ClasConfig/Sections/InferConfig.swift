/// The `Infer` section: images to predict, their transforms and the post-processing.
public struct InferConfig: ConfigOptions, Sendable, Equatable {
    /// An image file or a directory (searched recursively). Required.
    public var inferImgs: String
    /// A list file of images, or nil.
    public var inferList: String?
    /// Images per batch (≥ 1). Default 1.
    public var batchSize: Int
    /// Preprocessing ops (PaddleClas lists end with `ToCHWImage`). Required.
    public var transforms: [ComponentSpec]
    /// `Topk`, `ThreshOutput`, …, or nil for raw outputs.
    public var postProcess: ComponentSpec?
    /// Directory for JSON results, or nil to only log them.
    public var saveDir: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case inferImgs = "infer_imgs"
        case inferList = "infer_list"
        case batchSize = "batch_size"
        case transforms
        case postProcess = "PostProcess"
        case saveDir = "save_dir"
    }

    public static let knownKeys = CodingKeys.allCases.map(\.stringValue)

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inferImgs = try c.decode(String.self, forKey: .inferImgs)
        inferList = try c.decodeIfPresent(String.self, forKey: .inferList)
        batchSize = try c.decode(.batchSize, default: 1)
        transforms = try c.decode([ComponentSpec].self, forKey: .transforms)
        postProcess = try c.decodeIfPresent(ComponentSpec.self, forKey: .postProcess)
        saveDir = try c.decodeIfPresent(String.self, forKey: .saveDir)
        try decoder.configCheck(batchSize >= 1, CodingKeys.batchSize, "must be at least 1, got \(batchSize)")
    }
}
