import ClasData
import ClasKernels
import ClasModels
import ClasNN
import ClasTensor
import Foundation

/// `tools infer`: runs `Infer.transforms` on every image of `Infer.infer_imgs` (a file or a folder, searched
/// recursively in sorted order), classifies them in batches and prints one JSON line per image
/// (`file_name`, `class_ids`, `scores`, `label_names`), also written to `Infer.save_dir` when set.
public final class Predictor {
    public let engine: Engine

    public init(engine: Engine) { self.engine = engine }

    /// Classifies the images (`files`, else those of `Infer.infer_imgs`); returns the results in file order.
    @discardableResult
    public func run(print printing: Bool = true, files given: [String]? = nil) throws -> [[String: Any]] {
        guard let infer = engine.config.infer else { throw EngineError("tools infer needs an Infer section") }
        let r = engine.registries, d = engine.decoder
        let ops = try infer.transforms.map { try r.data.transform.build($0, context: (), decoder: d) }
        let context = engine.componentContext
        let names = engine.classNames.map { Dictionary(uniqueKeysWithValues: $0.enumerated().map { ($0, $1) }) } ?? [:]
        var post: PostProcessor = engine.isMultiLabel ? MultiLabelThreshOutput(threshold: 0.5, labelNames: [:])
            : TopkPostProcess(k: min(5, engine.classCount), labelNames: [:])
        if let spec = infer.postProcess { post = try r.postProcess.build(spec, context: context, decoder: d) }
        // Without a class_id_map_file, the names the run knows (folder datasets, or stored in the weights).
        if let topk = post as? TopkPostProcess, topk.labelNames.isEmpty {
            post = TopkPostProcess(k: topk.k, labelNames: names)
        } else if var multi = post as? MultiLabelThreshOutput, multi.labelNames.isEmpty {
            multi.labelNames = names
            post = multi
        }
        let files: [String]
        if let given {
            files = given
        } else if let list = infer.inferList {
            let dataset = try ImageNetDataset(imageRoot: infer.inferImgs, listPath: list)
            files = (0..<dataset.count).map { dataset.sample(at: $0).path }
        } else {
            files = try ImageFiles.collect(infer.inferImgs)
        }
        let dataset = ImageListDataset(paths: files)
        let sampler = try BatchSampler(datasetCount: files.count, batchSize: infer.batchSize)
        let loader = try DataLoader(dataset: dataset, transforms: ops, sampler: sampler,
                                    // Decode and resize on up to two threads while the plan computes the previous
                                    // batch (prefetched), so both cores stay busy.
                                    options: .init(numWorkers: max(1, min(2, Int(clas_num_threads()))), seed: engine.seed,
                                                   skipBadImages: engine.config.global.skipBadImages)) { skipped in
            self.engine.logger.warning(skipped.description)
        }
        if let m = engine.model as? Reparameterizable { m.reparameterize() }
        engine.model.eval()
        let runner = InferenceRunner(model: engine.model)
        var results: [[String: Any]] = []
        let started = DispatchTime.now().uptimeNanoseconds
        let epoch = loader.epoch(0)
        while let batch = try epoch.next() {
            let outputs = GradMode.withoutGrad { runner.outputs(batch.images) }
            for result in post.results(outputs, files: batch.paths) {
                results.append(result)
                if printing, let line = Predictor.jsonLine(result) { print(line) }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let path = runner.compiledShapes.isEmpty ? "model forward" + (runner.lastFailure.map { ": \($0)" } ?? "")
            : "inference mode"
        engine.logger.info(String(format: "[Infer] %d images in %.2f s: %.1f img/s", results.count, seconds,
                                  Double(results.count) / max(seconds, 1e-9)) + " (\(path))")
        if let dir = infer.saveDir {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try AtomicFile.write(data, to: (dir as NSString).appendingPathComponent("predictions.json"))
        }
        return results
    }

    public static func jsonLine(_ object: [String: Any]) -> String? {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
