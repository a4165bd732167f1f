import ClasNN
import ClasTensor

/// A model running as simulated int8: its traced, batch-norm-folded graph with fake quantisation on every
/// convolution's and linear layer's weights (int8, symmetric per output channel) and inputs (uint8, per tensor,
/// calibrated ranges). This is exactly what the QDQ ONNX export computes, so its accuracy in `tools eval` is the
/// deployed model's.
///
/// Its parameters are the wrapped model's own tensors (same names), so it can be fine-tuned with the ordinary
/// trainer (quantisation-aware training, straight-through gradients; batch norms stay folded with their running
/// statistics, dropout is off) and its checkpoints load into the plain model too. The activation ranges are buffers
/// `quant.<layer>.range`.
public final class QuantizedModel: Module {
    /// The float model (re-parameterized, in evaluation mode while traced).
    public let base: Module
    /// The graph that runs: folded and fake-quantised.
    public let graph: ExportGraph
    /// One quantizer per quantised activation.
    public let quantizerSet: QuantizerSet
    private let executor: GraphExecutor

    /// Traces `base` on `height`×`width`×`channels` images and inserts fake quantisation, weights with `weightBits`
    /// (8, or 7: `Slim.quant.reduce_range`). Activation ranges start uncalibrated
    /// (``calibrate(method:percentile:batches:)`` or a checkpoint sets them).
    public init(_ base: Module, height: Int, width: Int, channels: Int = 3, weightBits: Int = 8) throws {
        self.base = base
        let graph = try ExportGraph.trace(base, height: height, width: width, channels: channels)
        graph.foldBatchNorms()
        graph.removeIdentities()
        quantizerSet = QuantizerSet(graph.insertFakeQuantization(weightBits: weightBits), weightBits: weightBits)
        self.graph = graph
        executor = GraphExecutor(graph)
        super.init()
        train(base.isTraining)
    }

    public override var namedChildren: [(String, Module)] { base.namedChildren + [("quant", quantizerSet)] }
    public override var namedOwnTensors: [(String, Tensor)] { base.namedOwnTensors }

    public override func forward(_ x: Tensor) -> Tensor { executor.run(x, training: isTraining) }

    /// The activation quantizers.
    public var quantizers: [ActivationQuantizer] { quantizerSet.quantizers }

    /// Bits of the quantised weights (8, or 7 with `reduce_range`).
    public var weightBits: Int { Int(quantizerSet.weightBits.data[0]) }

    /// The weight bits a quantised checkpoint was made with (`quant.weight_bits`; 8 for checkpoints older than it).
    public static func weightBits(of weights: [String: Tensor]) -> Int {
        weights[QuantizerSet.weightBitsName].map { Int($0.data[0]) } ?? 8
    }

    /// Sets every activation range from float activations on calibration images.
    /// - Parameters:
    ///   - method: min/max, or percentiles (a second pass fills histograms over the min/max range).
    ///   - percentile: for `.percentile`, e.g. 99.99: the top and bottom 0.01 % of values are clipped.
    ///   - batches: calls its argument with every calibration batch (NHWC, preprocessed like evaluation images);
    ///     called once per pass.
    public func calibrate(method: CalibrationMethod, percentile: Double = 99.99,
                          batches: (_ body: (Tensor) throws -> Void) throws -> Void) throws {
        let wasTraining = isTraining
        eval()
        defer {
            for q in quantizers {
                q.observation = .none
                q.isEnabled = true
            }
            train(wasTraining)
        }
        for q in quantizers {
            q.range.data[0] = .infinity
            q.range.data[1] = -.infinity
            q.observation = .minMax
            q.isEnabled = false
        }
        try batches { x in _ = GradMode.withoutGrad { forward(x) } }
        if let q = quantizers.first(where: { !$0.isCalibrated }) {
            throw ExportError("calibration saw no data for \(q.site) (no calibration batches?)")
        }
        guard method == .percentile else { return }
        let histograms = quantizers.map { Histogram(low: $0.range.data[0], high: $0.range.data[1]) }
        for (q, h) in zip(quantizers, histograms) { q.observation = .histogram(h) }
        try batches { x in _ = GradMode.withoutGrad { forward(x) } }
        let tail = (100 - percentile) / 100
        for (q, h) in zip(quantizers, histograms) {
            q.range.data[0] = h.quantile(tail, upperEdge: false)
            q.range.data[1] = h.quantile(1 - tail, upperEdge: true)
        }
    }
}

extension ExportGraph {
    /// Inserts weight fake quantisation on every convolution and linear layer whose weight is a constant (or
    /// computed from constants, like a folded weight), and activation fake quantisation on their inputs (one
    /// quantizer per distinct input, shared by the layers reading it). Returns the quantizers, named after the
    /// first layer reading each input.
    public func insertFakeQuantization(weightBits: Int = 8) -> [ActivationQuantizer] {
        var out: [Node] = []
        var quantized: [Int: Int] = [:]
        var quantizers: [ActivationQuantizer] = []
        var sites = Set<String>()
        for (k, node) in nodes.enumerated() {
            guard case .tensor(let op) = node.op else {
                out.append(node)
                continue
            }
            switch op {
            case .conv2d, .linear: break
            default:
                out.append(node)
                continue
            }
            var node = node
            let x = node.inputs[0]
            if let q = quantized[x] {
                node.inputs[0] = q
            } else {
                var site = node.label ?? "node\(k)"
                var n = 1
                while sites.contains(site) { n += 1; site = "\(node.label ?? "node\(k)")_\(n)" }
                sites.insert(site)
                let quantizer = ActivationQuantizer(site: site)
                quantizers.append(quantizer)
                let v = addValue(.node(-1), shape: values[x].shape, batchAxis: values[x].batchAxis)
                out.append(Node(op: .activationFakeQuant(quantizer), inputs: [x], output: v, label: site))
                quantized[x] = v
                node.inputs[0] = v
            }
            let w = node.inputs[1]
            if isConstantDerived(w) {
                let v = addValue(.node(-1), shape: values[w].shape, name: values[w].name)
                out.append(Node(op: .weightFakeQuant(axis: 0, bits: weightBits), inputs: [w], output: v, label: node.label))
                node.inputs[1] = v
            }
            out.append(node)
        }
        setNodes(out)
        return quantizers
    }
}
