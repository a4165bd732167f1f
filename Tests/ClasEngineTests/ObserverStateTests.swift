import ClasEngine
import ClasTensor
import XCTest

/// Observers' checkpoint state is keyed by their name; checkpoints keyed by position (`observer0.`) still resume.
final class ObserverStateTests: XCTestCase {
    func testCheckpointKeyedByPositionStillResumes() throws {
        let plateau = "Optimizer.lr={name: ReduceOnPlateau, learning_rate: 0.05, mode: min, threshold: 1.0, patience: 0, "
            + "factor: 0.5, min_lr: 0.0001}"
        let straight = try TinyRun(epochs: 3, name: "observerStraight")
        try Trainer(engine: Engine(configPath: straight.config, overrides: [plateau], mode: .train, quiet: true)).run()
        let split = try TinyRun(epochs: 3, name: "observerLegacy")
        try Trainer(engine: Engine(configPath: split.config, overrides: [plateau], mode: .train, quiet: true)).runEpochs(until: 2)

        // Rewrite the checkpoint as an older SwiftClas wrote it: observer state under `observer<position>.`.
        let file = "\(split.modelDir)/latest.safetensors"
        let (entries, metadata) = try Safetensors.read(file)
        XCTAssertEqual(metadata["observer.ReduceOnPlateau.lr"], "0.025")
        let legacy = Dictionary(uniqueKeysWithValues: metadata.map { key, value in
            (key.replacingOccurrences(of: "observer.ReduceOnPlateau.", with: "observer0."), value)
        })
        try Safetensors.write(entries.map { ($0.name, $0.tensor) }, metadata: legacy, to: file)

        try Trainer(engine: Engine(configPath: split.config, overrides: [plateau, "Global.checkpoints=\(split.modelDir)/latest"],
                                   mode: .train, quiet: true)).run()
        XCTAssertEqual(try straight.weights("latest"), try split.weights("latest"))
        let resaved = try Checkpoint.read(prefix: "\(split.modelDir)/latest").state?.extra ?? [:]
        XCTAssertNotNil(resaved["observer.ReduceOnPlateau.lr"])
        XCTAssertFalse(resaved.keys.contains { $0.hasPrefix("observer0.") }, "saved again under the observer's name only")
    }
}
