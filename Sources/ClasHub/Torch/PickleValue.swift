/// A value of the restricted unpickler. Containers are references (pickle's memo shares them) owned by a
/// `PickleArena`, which empties them all when it goes, so a hostile million-deep nesting is released iteratively
/// instead of by a recursion that would overflow the stack.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleSeq)
    case list(PickleSeq)
    case dict(PickleDict)
    case set(PickleSeq)
    /// An allowed global (a torch storage type, a dtype, or a callable of the allow list).
    case global(TorchGlobal)
    /// A storage reference from `persistent_load`: (`storage`, type, key, location, numel).
    case storage(TorchStorageRef)
    case tensor(TorchTensorRef)

    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .set: return "set"
        case .global(let g): return g.qualifiedName
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// The items of a tuple, list or set.
final class PickleSeq {
    var items: [PickleValue]
    fileprivate init(_ items: [PickleValue]) { self.items = items }
}

/// Creates every container of one unpickling and empties them all at the end.
final class PickleArena {
    private var seqs: [PickleSeq] = []
    private var dicts: [PickleDict] = []

    func seq(_ items: [PickleValue] = []) -> PickleSeq {
        let s = PickleSeq(items)
        seqs.append(s)
        return s
    }

    func dict() -> PickleDict {
        let d = PickleDict()
        dicts.append(d)
        return d
    }

    /// Empties every container (shallow releases only).
    func clear() {
        for s in seqs { s.items = [] }
        for d in dicts { d.removeAll() }
        seqs = []
        dicts = []
    }

    deinit { clear() }
}

final class PickleDict {
    /// Entries in insertion order; a repeated key replaces the earlier value (as Python does).
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var index: [String: Int] = [:]

    fileprivate init() {}

    fileprivate func removeAll() {
        entries = []
        index = [:]
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let k = Self.hashKey(key), let i = index[k] {
            entries[i].value = value
            return
        }
        if let k = Self.hashKey(key) { index[k] = entries.count }
        entries.append((key, value))
    }

    subscript(_ key: String) -> PickleValue? {
        index["s:" + key].map { entries[$0].value }
    }

    private static func hashKey(_ v: PickleValue) -> String? {
        switch v {
        case .string(let s): return "s:" + s
        case .int(let i): return "i:\(i)"
        default: return nil
        }
    }
}

/// The globals a weights-only checkpoint may name: the list `torch.load(weights_only=True)` accepts for state dicts.
enum TorchGlobal: Equatable {
    case storageType(TorchDType)
    case rebuildTensorV2, rebuildParameter, rebuildParameterWithState, rebuildFromTypeV2
    case orderedDict, set, frozenset, codecsEncode, torchSize, parameterType, tensorType
    case dtype(String)

    var qualifiedName: String {
        switch self {
        case .storageType(let d): return "torch.\(d.storageName)"
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .rebuildFromTypeV2: return "torch._tensor._rebuild_from_type_v2"
        case .orderedDict: return "collections.OrderedDict"
        case .set: return "builtins.set"
        case .frozenset: return "builtins.frozenset"
        case .codecsEncode: return "_codecs.encode"
        case .torchSize: return "torch.Size"
        case .parameterType: return "torch.nn.parameter.Parameter"
        case .tensorType: return "torch.Tensor"
        case .dtype(let n): return "torch.\(n)"
        }
    }

    /// The allowed global named `module.name`, or nil.
    static func lookup(module: String, name: String) -> TorchGlobal? {
        switch (module, name) {
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch._tensor", "_rebuild_from_type_v2"): return .rebuildFromTypeV2
        case ("collections", "OrderedDict"): return .orderedDict
        case ("builtins", "set"), ("__builtin__", "set"): return .set
        case ("builtins", "frozenset"), ("__builtin__", "frozenset"): return .frozenset
        case ("_codecs", "encode"): return .codecsEncode
        case ("torch", "Size"): return .torchSize
        case ("torch.nn.parameter", "Parameter"): return .parameterType
        case ("torch", "Tensor"), ("torch._tensor", "Tensor"): return .tensorType
        case ("torch", let n):
            if let d = TorchDType(storageName: n) { return .storageType(d) }
            if TorchDType.dtypeNames.contains(n) { return .dtype(n) }
            return nil
        default: return nil
        }
    }
}

/// `('storage', torch.FloatStorage, '0', 'cpu', numel)`: the bytes are the zip entry `data/<key>`.
struct TorchStorageRef {
    let dtype: TorchDType
    let key: String
    let count: Int
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, ...)`: a strided view of a storage.
struct TorchTensorRef {
    let storage: TorchStorageRef
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}
