import ClasTensor

extension OnnxInterpreter {
    /// A node's inputs and attributes, with typed, checked access.
    struct Args {
        let node: OnnxProgram.Node
        let values: [Value?]
        /// The program's uint8 constants (to tell a uint8 zero point from an int8 one).
        var uint8Constants: Set<Int> = []

        func error(_ message: String) -> OnnxImportError { OnnxImportError("\(node.label): \(message)") }

        func value(_ i: Int) throws -> Value {
            guard i < values.count, let v = values[i] else { throw error("input \(i) is missing") }
            return v
        }
        /// A float input in ONNX order.
        func logical(_ i: Int) throws -> Tensor {
            switch try value(i) {
            case let .float(t, nhwc): return nhwc ? t.permuted([0, 3, 1, 2]) : t
            case let .integers(shape, values): return Tensor(shape: shape, values: values.map(Float.init))
            case .quantized: throw error("input \(i) is uint8; only DequantizeLinear and quantised layers read it")
            }
        }
        /// A rank-4 float input stored NHWC.
        func nhwc(_ i: Int) throws -> Tensor {
            guard case let .float(t, stored) = try value(i) else { throw error("input \(i) is not a float tensor") }
            guard t.rank == 4 else { throw error("input \(i) has shape \(t.shape); expected [N, C, H, W]") }
            return stored ? t : t.permuted([0, 2, 3, 1])
        }
        /// An integer input (shapes, axes), or nil when omitted.
        func integers(_ i: Int) throws -> [Int]? {
            guard i < values.count, let v = values[i] else { return nil }
            guard case let .integers(shape, ints) = v, shape.count <= 1 else {
                throw error("input \(i) must be a 1-D integer constant")
            }
            return ints
        }
        /// A one-element float input as a number, or nil when omitted.
        func scalar(_ i: Int) throws -> Float? {
            guard i < values.count, values[i] != nil else { return nil }
            let t = try logical(i)
            guard t.count == 1 else { throw error("input \(i) must be a single number, got shape \(t.shape)") }
            return t.data[0]
        }
        /// The per-tensor scale and uint8 zero point of a `QuantizeLinear`/`DequantizeLinear` (inputs 1 and 2).
        func quantization() throws -> (scale: Float, zero: Int32) {
            let s = try logical(1)
            guard s.count == 1, s.data[0] > 0, s.data[0].isFinite else {
                throw error("scale of shape \(s.shape): SwiftClas runs per-tensor activation quantisation with a "
                            + "positive scale")
            }
            guard values.count > 2, let z = node.inputs[2] else { return (s.data[0], 0) }
            guard uint8Constants.contains(z), case let .integers(_, zero)? = values[2], zero.count == 1 else {
                throw error("the zero point must be one uint8 constant (int8 activations are not supported)")
            }
            return (s.data[0], Int32(zero[0]))
        }
        func unary(_ f: (Tensor) -> Tensor) throws -> Value {
            guard case let .float(t, nhwc) = try value(0) else { throw error("input 0 is not a float tensor") }
            return .float(f(t), nhwc: nhwc)
        }
        func axis(_ a: Int, rank: Int) throws -> Int {
            guard a >= -rank && a < rank else { throw error("axis \(a) for rank \(rank)") }
            return a < 0 ? a + rank : a
        }

        func int(_ name: String, default d: Int? = nil) throws -> Int {
            switch node.attributes[name] {
            case .int(let v)?: return v
            case nil: if let d { return d }; throw error("needs attribute '\(name)'")
            default: throw error("attribute '\(name)' must be an integer")
            }
        }
        func ints(_ name: String) throws -> [Int]? {
            switch node.attributes[name] {
            case .ints(let v)?: return v
            case nil: return nil
            default: throw error("attribute '\(name)' must be a list of integers")
            }
        }
        func float(_ name: String, default d: Float) throws -> Float {
            switch node.attributes[name] {
            case .float(let v)?: return v
            case nil: return d
            default: throw error("attribute '\(name)' must be a float")
            }
        }
        func string(_ name: String) throws -> String? {
            switch node.attributes[name] {
            case .string(let v)?: return v
            case nil: return nil
            default: throw error("attribute '\(name)' must be a string")
            }
        }
    }
}
