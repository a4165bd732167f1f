import ClasTensor

/// Reads, decodes and transforms samples and stacks them into batches. Pure and thread-safe: the result depends
/// only on (seed, epoch, indices), never on which thread runs it.
struct BatchAssembler: Sendable {
    /// A batch image size (multi-scale sampling).
    struct Size: Hashable, Sendable {
        let width: Int, height: Int
    }

    let dataset: any ImageDataset
    let transforms: [any ImageOp]
    /// The transforms of each multi-scale batch size.
    var sizedTransforms: [Size: [any ImageOp]] = [:]
    let seed: UInt64
    let skipBadImages: Bool
    /// How many following indices are tried before giving up on a bad image.
    let maxReplacements: Int

    /// The random stream of sample `index` in `epoch`: bit 63 set (so it never equals a sampler's epoch stream),
    /// epoch in bits 40...62, index in bits 0...39.
    static func stream(epoch: Int, index: Int) -> UInt64 {
        1 << 63 | (UInt64(truncatingIfNeeded: epoch) & 0x7F_FFFF) << 40 | (UInt64(truncatingIfNeeded: index) & 0xFF_FFFF_FFFF)
    }

    /// Sample `index` of `epoch` after every transform, as a float HWC image.
    func load(index: Int, epoch: Int, size: Size? = nil) throws -> (image: FloatImage, label: Int, path: String) {
        let (path, label) = dataset.sample(at: index)
        var rng = RandomState(seed: seed, stream: Self.stream(epoch: epoch, index: index))
        var sample = Sample(path: path, label: label, payload: .encoded(try FileIO.read(path)))
        try Transforms.apply(size.flatMap { sizedTransforms[$0] } ?? transforms, to: &sample, rng: &rng)
        if let key = dataset.labelKey {
            guard let value = sample.values[key] else {
                let known = sample.values.keys.sorted()
                throw ConfigurationFailure(DataLoaderError("label_key '\(key)': no transform op reported it for \(path) "
                    + "(reported: \(known.isEmpty ? "none" : known.joined(separator: ", "))); add the op that makes it, "
                    + "e.g. RandomRot90 for random_rot90_orientation"))
            }
            sample.label = value
        }
        switch sample.payload {
        case .encoded:
            throw ConfigurationFailure(DataLoaderError("transform_ops never decode the image (add DecodeImage first); "
                                                       + "sample \(path)"))
        case .image(let image): return (image.toFloat(), sample.label, path)
        case .floatImage(let image): return (image, sample.label, path)
        }
    }

    /// Loads `index`, or with `skipBadImages` the first readable index after it (wrapping), recording skips.
    func loadSkippingBad(index: Int, epoch: Int, size: Size?, skipped: inout [SkippedSample])
        throws -> (image: FloatImage, label: Int, path: String, index: Int)
    {
        var candidate = index
        var attempts = 0
        while true {
            do {
                let r = try load(index: candidate, epoch: epoch, size: size)
                return (r.image, r.label, r.path, candidate)
            } catch let failure as ConfigurationFailure {
                throw failure.error
            } catch {
                guard skipBadImages else { throw error }
                skipped.append(SkippedSample(index: candidate, path: dataset.sample(at: candidate).path,
                                             reason: "\(error)"))
                attempts += 1
                if attempts >= min(maxReplacements, dataset.count) {
                    throw DataLoaderError("skip_bad_images: \(attempts) images in a row failed from index \(index) "
                                          + "on; the last error: \(error)")
                }
                candidate = (candidate + 1) % dataset.count
            }
        }
    }

    /// Assembles the batch of `indices`; `isCancelled` is polled between samples.
    func assemble(_ indices: [Int], epoch: Int, size: Size? = nil, isCancelled: () -> Bool) throws -> Batch {
        var skipped: [SkippedSample] = []
        var images: Tensor?
        var labels: [Int] = [], paths: [String] = [], used: [Int] = []
        var first: (path: String, size: String, count: Int)?
        for (slot, index) in indices.enumerated() {
            if isCancelled() { throw CancellationError() }
            let s = try loadSkippingBad(index: index, epoch: epoch, size: size, skipped: &skipped)
            let img = s.image
            if first == nil {
                first = (s.path, img.sizeDescription, img.pixels.count)
                images = Tensor(uninitializedShape: [indices.count, img.height, img.width, img.channels])
            }
            guard let first, let images, img.pixels.count == first.count, img.sizeDescription == first.size else {
                throw DataLoaderError("\(s.path) is \(img.sizeDescription) (WxHxC) after the transforms, but \(first?.path ?? "?") "
                                      + "in the same batch is \(first?.size ?? "?"); every image of a batch must have "
                                      + "one size: add ResizeImage/CropImage/RandCropImage to transform_ops")
            }
            img.pixels.withUnsafeBufferPointer { src in
                guard let base = src.baseAddress else { return }
                (images.data + slot * first.count).update(from: base, count: first.count)
            }
            labels.append(s.label)
            paths.append(s.path)
            used.append(s.index)
        }
        let tensor = images ?? Tensor(uninitializedShape: [0, 0, 0, 0])
        return Batch(images: tensor, labels: labels, paths: paths, indices: used, skipped: skipped)
    }
}

/// A pipeline mistake that no replacement image can fix; never skipped.
private struct ConfigurationFailure: Error {
    let error: DataLoaderError
    init(_ error: DataLoaderError) { self.error = error }
}
