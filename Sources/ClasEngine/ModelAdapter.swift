import ClasConfig
import ClasNN

/// What a ``ModelAdapter`` sees: the run's config and mode, and the weights that were loaded.
public struct ModelAdapterContext {
    public let config: RunConfig
    public let mode: Engine.Mode
    /// The contents of `Global.pretrained_model`, when it was loaded.
    public let weights: Checkpoint.Contents?
    public let classCount: Int
    public let registries: Registries
    public let logger: RunLogger
    /// The engine's config decoder (for sections an adapter reads itself).
    public let decoder: ConfigDecoder
}

/// Replaces the model after it is built and its weights are loaded, or returns nil to keep it. ClasExport uses this
/// to run quantised checkpoints as simulated int8 in `tools eval`, `tools infer` and `tools export`, and to wrap
/// the model for quantisation-aware training in `tools compress`. Adapters run in order (``Registries/modelAdapters``).
public typealias ModelAdapter = (_ model: Module, _ context: ModelAdapterContext) throws -> Module?
