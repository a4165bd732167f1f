import ClasTensor

/// A batch as the engine consumes it: NHWC images, integer labels, optional soft targets, file paths.
public struct EngineBatch {
    public var images: Tensor
    public var targets: Targets
    public var paths: [String]

    public init(images: Tensor, targets: Targets, paths: [String]) {
        self.images = images
        self.targets = targets
        self.paths = paths
    }
}

/// A source of batches for one split, as the trainer and evaluator see it.
public protocol BatchStream: AnyObject {
    /// Batches in one epoch.
    var batchesPerEpoch: Int { get }
    /// Samples in the split.
    var sampleCount: Int { get }
    /// Starts reading `epoch` at batch `start` (resuming mid-epoch). Batches come in order.
    func start(epoch: Int, from start: Int) throws -> BatchCursor
}

/// Reads the batches of one epoch.
public protocol BatchCursor: AnyObject {
    /// The next batch, or nil at the end of the epoch. Errors name the offending file.
    func next() throws -> EngineBatch?
    /// Stops background work early.
    func cancel()
    /// Distinct bad images skipped so far by this cursor (`Global.skip_bad_images`).
    var skippedCount: Int { get }
}

extension BatchCursor {
    public var skippedCount: Int { 0 }
}
