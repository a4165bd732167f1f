import ClasConfig

extension Registries {
    /// `mAP`, `PrecisionRecallF1`, `BalancedAccuracy` and `ConfusionMatrix` (no options), usable in `Metric.Train`
    /// and `Metric.Eval`.
    static func registerClassificationMetrics(into r: inout Registries) {
        r.metric.register("mAP", aliases: ["MeanAveragePrecision"],
                          summary: "mean over classes of the one-vs-rest average precision (softmax scores)",
                          options: NoOptions.self) { _, ctx in MeanAveragePrecision(classCount: ctx.classCount) }
        r.metric.register("PrecisionRecallF1", summary: "macro-averaged precision, recall and F1 (macro_precision, …)",
                          options: NoOptions.self) { _, ctx in PrecisionRecallF1(classCount: ctx.classCount) }
        r.metric.register("BalancedAccuracy", summary: "mean per-class recall (balanced_acc)",
                          options: NoOptions.self) { _, ctx in BalancedAccuracy(classCount: ctx.classCount) }
        r.metric.register("ConfusionMatrix", summary: "confusion matrix (logs nothing; written by tools eval)",
                          options: NoOptions.self) { _, ctx in ConfusionMatrixMetric(classCount: ctx.classCount) }
    }
}
