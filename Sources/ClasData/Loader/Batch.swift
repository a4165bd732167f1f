import ClasTensor

/// One batch from the loader: images stacked NHWC, with their labels and files, in sampler order.
public struct Batch {
    /// `[N, H, W, C]` float32 (normalised if the pipeline has `NormalizeImage`, else 0...255).
    public let images: Tensor
    /// One label per image (-1 when unknown).
    public let labels: [Int]
    /// One path per image (a replacement's path when a bad image was skipped).
    public let paths: [String]
    /// The dataset index of each image (after replacement).
    public let indices: [Int]
    /// Bad images replaced while assembling this batch (only with `skipBadImages`).
    public let skipped: [SkippedSample]

    /// Number of images.
    public var count: Int { labels.count }
}

/// A bad image that was skipped and replaced by the next readable one (deterministically: index + 1, + 2, ...).
public struct SkippedSample: Sendable, CustomStringConvertible {
    /// Dataset index and file of the bad image.
    public let index: Int
    public let path: String
    /// Why it failed (the error's description).
    public let reason: String

    public var description: String { "skipped bad image \(path) (index \(index)): \(reason)" }
}

/// A loader problem that is not about one image file (configuration, batch assembly, every image bad).
public struct DataLoaderError: Error, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
