import ClasTensor

/// `HideAndSeek` (Singh & Lee, https://arxiv.org/abs/1704.04232; PaddleClas `hide_and_seek.py`): a grid size is
/// drawn from {0, 16, 32, 44, 56} (0: unchanged); then each grid cell, visited column-major (x outer, y inner), is
/// set to 0 with probability 0.5. PaddleClas applies it after `NormalizeImage` (zero is the mean colour then).
///
/// Deviation: PaddleClas indexes its CHW array as `img[:, x:x_end, y:y_end]` with x over the width, which for
/// non-square images hides transposed cells (and misses some); SwiftClas hides the cell at columns x, rows y.
public struct HideAndSeek: ConfigurableImageOp, PixelOp {
    public static let name = "HideAndSeek"
    public static let gridSizes = [0, 16, 32, 44, 56]
    public static let hideProbability = 0.5

    public struct Options: ImageOpOptions {
        public static var keys: [String] { [] }
        public init() {}
    }

    public init(_ options: Options = Options()) throws {}

    func transform<C: PixelComponent>(_ image: PixelImage<C>, rng: inout RandomState) throws -> PixelImage<C> {
        let grid = Self.gridSizes[rng.int(below: Self.gridSizes.count)]
        guard grid > 0 else { return image }
        var out = image
        let c = image.channels
        out.pixels.withUnsafeMutableBufferPointer { p in
            for x in stride(from: 0, to: image.width, by: grid) {
                for y in stride(from: 0, to: image.height, by: grid) where rng.uniformDouble() <= Self.hideProbability {
                    for row in y..<min(image.height, y + grid) {
                        for col in x..<min(image.width, x + grid) {
                            for ch in 0..<c { p[(row * image.width + col) * c + ch] = .zero }
                        }
                    }
                }
            }
        }
        return out
    }
}
