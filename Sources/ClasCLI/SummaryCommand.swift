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
        try reportingErrors {
            let net: Module, name: String, resolution: Int
            if let model {
                guard let entry = ModelZoo.entry(named: model) else {
                    throw ValidationError("no model named '\(model)' ('tools list models' shows all)")
                }
                net = try entry.make(classes)
                name = entry.name
                resolution = size ?? entry.resolution
            } else {
                let engine = try Engine(configPath: config ?? "", overrides: overrides, mode: .export,
                                        registries: CommandContext.registries, quiet: true)
                net = engine.model
                name = engine.config.arch.name
                resolution = size ?? engine.config.global.imageShape?[1] ?? ModelZoo.entry(named: name)?.resolution ?? 224
            }
            print("\(name)")
            print(ModelSummary(net, inputSize: resolution))
        }
    }
}
