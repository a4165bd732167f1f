import ArgumentParser
import ClasConfig
import ClasEngine

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List registered components.",
        discussion: """
            Kinds: models, losses, optimizers, schedulers, transforms, batch_transforms,
            datasets, samplers, metrics, postprocess (default: all).
            Shipped configs with their one-line descriptions: tools list configs.
            Config sections: tools list Global (each key's type, default and meaning),
            Arch, Loss, Metric, Optimizer, DataLoader, Infer, EMA, LRFinder, Slim.
            """)

    @Argument(help: "What to list.")
    var kind: String?

    func run() throws {
        let r = CommandContext.registries
        let sections: [(String, [(String, [String], String, [String])])] = [
            ("models", rows(r.arch.entries).map { row in
                // Where Arch.pretrained=True takes the weights from.
                let weights = r.arch.card(named: row.0)?.weights.map { "; pretrained: \($0)" } ?? ""
                return (row.0, row.1, row.2 + weights, row.3)
            }), ("losses", rows(r.loss.entries)), ("optimizers", rows(r.optimizer.entries)),
            ("schedulers", rows(r.lrScheduler.entries)), ("transforms", rows(r.data.transform.entries)),
            ("batch_transforms", rows(r.data.batchTransform.entries)), ("datasets", rows(r.data.dataset.entries)),
            ("samplers", rows(r.data.sampler.entries)), ("metrics", rows(r.metric.entries)),
            ("postprocess", rows(r.postProcess.entries)),
        ]
        if kind?.lowercased() == "configs" {
            print(ConfigCatalogue.text(root: ConfigCatalogue.root()))
            return
        }
        if let kind, let section = SectionKeys.find(kind) {
            print(SectionKeys.text(section))
            return
        }
        let wanted = kind?.lowercased()
        guard wanted == nil || sections.contains(where: { $0.0 == wanted }) else {
            let suggestion = Suggest.closest(to: kind ?? "", in: sections.map(\.0) + ["configs"] + SectionKeys.sections.map(\.0)).first.map { " Did you mean '\($0)'?" } ?? ""
            throw ValidationError("unknown kind '\(kind ?? "")'.\(suggestion) Kinds: \(sections.map(\.0).joined(separator: ", ")), configs; config sections: "
                                  + SectionKeys.sections.map(\.0).joined(separator: ", "))
        }
        for (name, entries) in sections where wanted == nil || wanted == name {
            print("\(name):")
            for (n, aliases, summary, keys) in entries {
                let alias = aliases.isEmpty ? "" : " (\(aliases.joined(separator: ", ")))"
                print("  \(n)\(alias) — \(summary)")
                if !keys.isEmpty { print("      keys: \(keys.joined(separator: ", "))") }
            }
        }
    }

    private func rows<P, C>(_ entries: [Registry<P, C>.Entry]) -> [(String, [String], String, [String])] {
        entries.map { ($0.name, $0.aliases, $0.summary, $0.optionKeys) }
    }
}
