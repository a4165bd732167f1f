import ClasConfig
import ClasModels
import ClasNN
import ClasOptim
import ClasTensor

/// What loss, metric and post-processing factories receive.
public struct ComponentContext {
    public var classCount: Int
    /// The model names of a distillation model (`Teacher`, `Student`, …), empty otherwise.
    public var modelNames: [String]
    /// The scale s of each AM-softmax head by model name ("" for a single model); see ``HeadOptions``.
    public var cosineHeadScales: [String: Float]
    /// The intermediate outputs each model returns (`return_patterns`), by model name.
    public var outputNames: [String: [String]]
    /// What the run's data is (multi-label or not), when the run has data; nil in infer mode.
    public var multiLabel: MultiLabelTraits?
    /// The config path of the data these losses train on when it has no labels (`DataLoader.Train.dataset`, a
    /// `CustomLabelDataset` without `label_key`); nil otherwise.
    public var unlabelledData: String?
    public init(classCount: Int, modelNames: [String] = [], cosineHeadScales: [String: Float] = [:],
                outputNames: [String: [String]] = [:], multiLabel: MultiLabelTraits? = nil) {
        self.classCount = classCount
        self.modelNames = modelNames
        self.cosineHeadScales = cosineHeadScales
        self.outputNames = outputNames
        self.multiLabel = multiLabel
    }
}

/// Whether a run's data carries per-class target vectors (``MultiLabelDataset``) and the label ratio.
public struct MultiLabelTraits: Equatable {
    public var isMultiLabel: Bool
    /// The training data (else the evaluation data) computes `label_ratio`.
    public var hasLabelRatio: Bool
    public init(isMultiLabel: Bool, hasLabelRatio: Bool) {
        self.isMultiLabel = isMultiLabel
        self.hasLabelRatio = hasLabelRatio
    }
}

/// What learning-rate schedule factories receive.
public struct ScheduleContext {
    /// Training epochs (`Global.epochs`).
    public var epochs: Int
    /// Optimizer steps per epoch (iterations ÷ `update_freq`).
    public var stepsPerEpoch: Int
    public init(epochs: Int, stepsPerEpoch: Int) {
        self.epochs = epochs
        self.stepsPerEpoch = stepsPerEpoch
    }
}

/// Builds an optimizer once the parameters, learning rate and decay policy are known.
public typealias OptimizerFactory = (_ parameters: [(String, Tensor)], _ learningRate: Float,
                                     _ regularizer: WeightDecayPolicy?) throws -> Optimizer

/// One registry per config section kind, holding every component SwiftClas can build from a config.
///
/// Start from ``builtins()`` and add your own before running a command:
/// ```swift
/// var registries = Registries.builtins()
/// registries.arch.register(ModelCard(name: "MyNet", family: "MyNet", summary: "my model", inputSize: 96,
///                                    classifier: ["fc."], featureChannels: 256, stages: ["stage1", "stage2"]),
///                          options: MyNet.Options.self) { MyNet(options: $0) }
/// ```
/// Factory contracts: `arch` (a ``ModelRegistry``, models with their ``ModelCard``s) returns a `Module` whose
/// forward maps NHWC images to [N, classCount] logits;
/// `loss` returns a ``LossFunction``; `optimizer` an ``OptimizerFactory``; `lrScheduler` an `LRSchedule` stepped
/// per optimizer step; `metric` a ``Metric``; `postProcess` a ``PostProcessor``; data registries come from
/// ClasData (datasets, transform ops, batch ops, samplers).
public struct Registries {
    public var arch = ModelRegistry()
    public var loss = Registry<LossFunction, ComponentContext>(kind: "loss", listCommand: "tools list losses")
    public var optimizer = Registry<OptimizerFactory, Void>(kind: "optimizer", listCommand: "tools list optimizers")
    public var lrScheduler = Registry<LRSchedule, ScheduleContext>(kind: "lr scheduler", listCommand: "tools list schedulers")
    public var metric = Registry<Metric, ComponentContext>(kind: "metric", listCommand: "tools list metrics")
    public var postProcess = Registry<PostProcessor, ComponentContext>(kind: "post-process", listCommand: "tools list postprocess")
    public var data = DataRegistries()
    /// Run after the model is built and loaded; each may replace it (see ``ModelAdapter``). Empty in ``builtins()``.
    public var modelAdapters: [ModelAdapter] = []

    /// Empty registries.
    public init() {}

    /// Registries holding every built-in component.
    public static func builtins() -> Registries {
        var r = Registries()
        r.arch = ModelRegistry.builtins()
        DistillationModel.register(into: &r)
        AttentionModel.register(into: &r)
        CrossEntropyLoss.register(into: &r)
        AMSoftmaxLoss.register(into: &r)
        DistillationLoss.register(into: &r)
        PairDistillationLoss.register(into: &r)
        AFDLoss.register(into: &r)
        MultiLabelLoss.register(into: &r)
        MultiLabelAsymmetricLoss.register(into: &r)
        registerBaseOptimizers(into: &r)
        SAM.register(into: &r)
        CosineSchedule.register(into: &r)
        PiecewiseSchedule.register(into: &r)
        MultiStepSchedule.register(into: &r)
        PolynomialSchedule.register(into: &r)
        OneCycleSchedule.register(into: &r)
        ConstantLR.register(into: &r)
        ReduceOnPlateau.register(into: &r)
        TopkAccuracy.register(into: &r)
        DistillationTopkAccuracy.register(into: &r)
        registerClassificationMetrics(into: &r)
        registerMultiLabelMetrics(into: &r)
        TopkPostProcess.register(into: &r)
        registerMultiLabelPostProcesses(into: &r)
        r.data = DataRegistries.builtins()
        return r
    }

    /// The optimizers that update weights themselves (SAM wraps one of them).
    static func registerBaseOptimizers(into r: inout Registries) {
        Momentum.register(into: &r)
        Adam.register(into: &r)
        RMSProp.register(into: &r)
    }
}
