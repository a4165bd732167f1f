import Foundation

extension Trainer {
    /// The observers every training run gets: `train_curves.png`, TensorBoard events with `Global.use_visualdl`,
    /// and `history.csv` with the closing summary. Always the same three, last, so checkpoints written before
    /// observer state was keyed by name (`observer<i>.…`) keep their positions whatever `use_visualdl` says.
    static func standardObservers(_ engine: Engine) -> [TrainingObserver] {
        let dir = engine.outputDir as NSString
        return [TrainingCurvesObserver(path: dir.appendingPathComponent("train_curves.png")),
                TensorBoardObserver(directory: dir.appendingPathComponent("vdl"),
                                    printEvery: engine.config.global.printBatchStep,
                                    enabled: engine.config.global.useVisualDL),
                RunHistoryObserver(path: dir.appendingPathComponent("history.csv"))]
    }
}
