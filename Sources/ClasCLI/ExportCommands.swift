import ArgumentParser
import ClasConfig
import ClasEngine
import ClasExport

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export weights to ONNX (inference.onnx + inference.yml) for deployment.",
        discussion: """
            Writes Global.save_inference_dir/inference.onnx (input x: [N, C, H, W] float32, NCHW, dynamic N; output
            logits: [N, classes]; batch norms folded, MobileOne re-parameterized, opset 17) and inference.yml
            (PaddleClas deployment format: preprocessing from Infer.transforms, Topk with label_list).
            The input size is Global.image_shape (else the last resize/crop size of Infer.transforms).
            Quantised weights (from tools quantize or tools compress) export as an int8 QDQ model.
            Example:
              tools export -c CONFIG -o Global.pretrained_model=output/MobileNetV3_small_x1_0/best_model \\
                  -o Global.save_inference_dir=inference
            """)

    @OptionGroup var options: ConfigArguments
    @OptionGroup var weights: WeightsArguments
    @Flag(help: "Append a Softmax so the model outputs probabilities (as the config key Arch.infer_add_softmax: True does).")
    var softmax = false

    func run() throws {
        try reportingErrors {
            let engine = try Engine(config: options.load(), mode: .export, registries: CommandContext.registries)
            try weights.check(engine, command: "export")
            try ExportRun(engine: engine, appendSoftmax: softmax).run()
        }
    }
}

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize", abstract: "Post-training int8 quantisation: calibrate, evaluate, export a QDQ ONNX model.",
        discussion: """
            Calibrates activation ranges on training images (Slim.quant: calibration_images 512, calibration
            percentile|minmax, percentile 99.99, batch_size 64), evaluates the float and simulated-int8 model on
            DataLoader.Eval, saves Global.output_dir/<Arch.name>/quant_model.safetensors (tools eval/infer/export run
            it as int8) and writes the int8 inference.onnx + inference.yml to Global.save_inference_dir.
            Example:
              tools quantize -c CONFIG -o Global.pretrained_model=output/MobileNetV3_small_x1_0/best_model \\
                  -o Global.save_inference_dir=inference_int8
            """)

    @OptionGroup var options: ConfigArguments
    @OptionGroup var weights: WeightsArguments

    func run() throws {
        try reportingErrors {
            // Evaluate float vs int8 when the config has an evaluation split.
            let config = try options.load()
            let engine = try Engine(config: config, mode: config.dataLoader?.eval == nil ? .export : .eval,
                                    registries: CommandContext.registries)
            try weights.check(engine, command: "quantize")
            try QuantizeRun(engine: engine).run()
        }
    }
}

struct CompressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress", abstract: "Quantisation-aware int8 fine-tuning, then export a QDQ ONNX model.",
        discussion: """
            Fine-tunes Global.pretrained_model with int8 fake quantisation (straight-through gradients, batch norms
            folded) for Global.epochs with the config's optimizer; evaluation is the simulated int8 accuracy.
            Checkpoints go to Global.output_dir/compress/<Arch.name>/; the best is exported to
            Global.save_inference_dir. Use few epochs and a low learning rate, e.g.
              tools compress -c CONFIG -o Global.pretrained_model=output/MobileNetV3_small_x1_0/best_model \\
                  -o Global.epochs=2 -o Optimizer.lr.learning_rate=0.005 -o Optimizer.lr.warmup_epoch=0 \\
                  -o Global.save_inference_dir=inference_qat
            """)

    @OptionGroup var options: ConfigArguments

    func run() throws {
        try reportingErrors {
            try CompressRun.run(config: options.load(), registries: CommandContext.registries)
        }
    }
}
