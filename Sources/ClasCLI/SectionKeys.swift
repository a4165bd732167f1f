import ClasConfig

/// `tools list <Section>`: a config section's keys. `Global` has each key's type, default and meaning (a test
/// checks the table covers ``GlobalConfig/knownKeys``); the other sections list their keys and where to read more.
enum SectionKeys {
    /// (key, type, default, meaning) for `Global`, in the order of ``GlobalConfig``.
    static let global: [(String, String, String, String)] = [
        ("checkpoints", "string", "none", "checkpoint prefix to resume from (output/M/latest)"),
        ("pretrained_model", "string", "none", "weights (checkpoint, run folder, timm/PyTorch file or URL) loaded after the model is built"),
        ("output_dir", "string", "./output/", "where runs go: <output_dir>/<Arch.name>/ (eval/, infer/, export/ inside)"),
        ("device", "string", "cpu", "PaddleClas device name; SwiftClas always runs on the CPU (a notice for others)"),
        ("epochs", "int", "required", "number of training epochs (≥ 1)"),
        ("save_interval", "int", "1", "save epoch_N every this many epochs (≥ 1)"),
        ("eval_during_train", "bool", "True", "evaluate during training (and keep best_model)"),
        ("eval_interval", "int", "1", "evaluate every this many epochs (≥ 1)"),
        ("start_eval_epoch", "int", "0", "first epoch that may be evaluated (≥ 0)"),
        ("print_batch_step", "int", "10", "log every this many iterations (≥ 1)"),
        ("use_visualdl", "bool", "False", "write TensorBoard event files to <run>/vdl/"),
        ("image_shape", "[int]", "none", "input shape [C, H, W] for export, MACs and summaries"),
        ("save_inference_dir", "string", "./inference", "where tools export writes inference.onnx and inference.yml"),
        ("eval_mode", "string", "classification", "evaluation mode; PaddleClas's retrieval/adaface are refused"),
        ("seed", "int", "0", "random seed (initialisation, shuffling, augmentation)"),
        ("class_num", "int", "none", "deprecated place of Arch.class_num (moved there with a notice)"),
        ("update_freq", "int", "1", "gradient accumulation steps (≥ 1)"),
        ("iter_per_epoch", "int", "none", "fixed iterations per epoch (≥ 1); none: the dataset size"),
        ("train_mode", "string", "none", "progressive: size, RandAugmentV2 and dropout grow by stage; fixmatch, metabin refused"),
        ("num_threads", "int", "all cores", "SwiftClas: worker threads (≥ 1)"),
        ("skip_bad_images", "bool", "False", "SwiftClas: skip unreadable images (named once) instead of failing"),
        ("max_image_pixels", "int", "89478485", "SwiftClas: refuse larger images, like PIL's decompression-bomb limit"),
        ("collective_timeout", "number", "300", "SwiftClas: seconds a collective of an mpirun job may take before it stops"),
        ("overwrite", "bool", "False", "SwiftClas: let tools train write over a run's best_model/latest without resuming"),
        ("use_multilabel", "bool", "False", "multi-label/attribute task: tools infer defaults to MultiLabelThreshOutput"),
    ]

    /// The sections `tools list` knows, with their keys (nil: a component list, keys per component).
    static let sections: [(String, [String]?, String)] = [
        ("Global", GlobalConfig.knownKeys, ""),
        ("Arch", nil, "name plus the model's options: tools list models; README's Configs table"),
        ("Loss", ["Train", "Eval"], "lists of - Name: {weight, ...}: tools list losses"),
        ("Metric", ["Train", "Eval"], "lists of - Name: {...}: tools list metrics"),
        ("Optimizer", OptimizerConfig.knownKeys, "the optimizer's own keys: tools list optimizers; lr schedules: tools list schedulers"),
        ("DataLoader", DataLoaderConfig.knownKeys, "each split: " + DataLoaderSplit.knownKeys.joined(separator: ", ")
            + "; loader: " + LoaderOptions.knownKeys.joined(separator: ", ") + "; tools list datasets|samplers|transforms"),
        ("Infer", InferConfig.knownKeys, "PostProcess: tools list postprocess"),
        ("EMA", EMAConfig.knownKeys, ""),
        ("LRFinder", LRFinderConfig.knownKeys, "README: Learning-rate finder"),
        ("Slim", SlimConfig.knownKeys, "quant: calibration_images, calibration, percentile, batch_size, name"),
    ]

    /// The section named `name` (any case), or nil.
    static func find(_ name: String) -> (String, [String]?, String)? {
        sections.first { $0.0.lowercased() == name.lowercased() }
    }

    /// The text `tools list <Section>` prints.
    static func text(_ section: (String, [String]?, String)) -> String {
        var lines = ["\(section.0):"]
        if section.0 == "Global" {
            let width = global.map(\.0.count).max() ?? 0, typeWidth = global.map(\.1.count).max() ?? 0
            lines.append("  " + "key".padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                         + "type".padding(toLength: typeWidth, withPad: " ", startingAt: 0) + "  default — meaning")
            for (key, type, value, meaning) in global {
                lines.append("  " + key.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                             + type.padding(toLength: typeWidth, withPad: " ", startingAt: 0) + "  \(value) — \(meaning)")
            }
        } else {
            if let keys = section.1 { lines.append("  keys: " + keys.joined(separator: ", ")) }
            if !section.2.isEmpty { lines.append("  " + section.2) }
        }
        return lines.joined(separator: "\n")
    }
}
