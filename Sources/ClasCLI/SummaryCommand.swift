import ArgumentParser
import ClasEngine
import ClasModels
import ClasNN
import Foundation

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary", abstract: "Print a model's layers, parameters and MACs.",
        discussion: """
            Examples:
              tools summary -c configs/quickstart_mobilenet_v3_small_fmnist.yaml
              tools summary --model efficientnet_b0            (1000 classes, its default resolution)
            """)

    @Option(name: [.customShort("c"), .customLong("config")], help: "Config whose Arch to summarise.")
    var config: String?
    @Option(name: [.customShort("o"), .customLong("override")], parsing: .singleValue, help: "Config override (repeatable).")
    var overrides: [String] = []
    @Option(help: "A model by name instead of a config.")
    var model: String?
    @Option(help: "Input resolution (default: the model's or Global.image_shape).")
    var size: Int?
    @Option(help: "Classes when using --model.")
    var classes = 1000

    func validate() throws {
        guard (config == nil) != (model == nil) else { throw ValidationError("give either -c CONFIG or --model NAME") }
    }

    func run() throws {
        try reportingErrors { print(try describe(registries: CommandContext.registries)) }
    }

    /// The model's name and summary at its resolution: `--size`, else `Global.image_shape`, else its card's input
    /// size, else 224.
    func describe(registries: Registries) throws -> String {
        let net: Module, name: String, configured: Int?
        if let model {
            guard let entry = registries.arch.entry(named: model) else {
                throw ValidationError("no model named '\(model)' ('tools list models' shows all)")
            }
            let card = registries.arch.card(named: model)
            let resolution = size ?? card?.inputSize ?? 224
            net = try registries.arch.make(model, classCount: classes,
                                           options: card?.fixedInputSize == true ? ["img_size": "\(resolution)"] : [:])
            name = entry.name
            configured = nil
        } else {
            let engine = try Engine(configPath: config ?? "", overrides: overrides, mode: .export, registries: registries,
                                    quiet: true)
            net = engine.model
            name = engine.config.arch.name
            configured = engine.config.global.imageShape?[1]
        }
        let resolution = size ?? configured ?? registries.arch.card(named: name)?.inputSize ?? 224
        return "\(name)\n\(ModelSummary(net, inputSize: resolution))"
    }
}
