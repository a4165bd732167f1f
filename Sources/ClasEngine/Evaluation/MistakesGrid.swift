import ClasData
import ClasPlot
import ClasTensor
import Foundation

/// `tools eval --mistakes N`: the N wrong predictions made with the highest confidence, as a grid PNG of the
/// images as stored (before any transform), each captioned `<true class> as <predicted class> <score>%` — the quickest
/// way to find mislabelled images and the classes the model confuses.
final class MistakesGrid {
    struct Mistake {
        let path: String
        let label: Int
        let prediction: Int
        let score: Float
    }

    let limit: Int
    private let names: [String]
    private(set) var mistakes: [Mistake] = []

    init(limit: Int, classNames: [String]) {
        self.limit = limit
        names = classNames
    }

    /// Keeps the batch's wrong top-1 predictions that rank among the `limit` most confident so far.
    func add(paths: [String], logits: Tensor, labels: [Int]) {
        for (row, (path, top)) in zip(paths, PredictionsCSV.top1(logits)).enumerated() where row < labels.count {
            guard top.predicted != labels[row] else { continue }
            mistakes.append(Mistake(path: path, label: labels[row], prediction: top.predicted, score: top.score))
        }
        // Most confident first; ties in file order, so the grid is deterministic.
        mistakes.sort { $0.score != $1.score ? $0.score > $1.score : $0.path < $1.path }
        if mistakes.count > limit { mistakes.removeLast(mistakes.count - limit) }
    }

    /// The grid (an image that cannot be decoded any more is shown as a gray square).
    func render(title: String, evaluated: Int) -> Canvas {
        let tiles = mistakes.map { m -> (image: Image, caption: String) in
            let image = (try? ImageCodec.decodeFile(m.path))
                ?? Image(width: 32, height: 32, channels: 1, pixels: [UInt8](repeating: 128, count: 32 * 32))
            return (image, "\(name(m.label)) as \(name(m.prediction)) \(Int((m.score * 100).rounded()))%")
        }
        // Small images are enlarged to about 168 px, wide enough for captions such as "Ankle boot as Sneaker 97%".
        return ImageGrid(tiles: tiles, title: title,
                         subtitle: "\(mistakes.count) most confident wrong top-1 predictions of \(evaluated) images: "
                             + "true class as predicted class, softmax score", targetSize: 168).render()
    }

    private func name(_ k: Int) -> String { k >= 0 && k < names.count ? names[k] : "class \(k)" }
}
