/// The callables a weights-only checkpoint may `REDUCE`, applied to already-checked arguments.
enum TorchRebuild {
    static func call(_ g: TorchGlobal, _ a: [PickleValue], arena: PickleArena, fail: (String) -> Error) throws -> PickleValue {
        switch g {
        case .rebuildTensorV2:
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard a.count >= 4, case .storage(let storage) = a[0], case .int(let offset) = a[1] else {
                throw fail("_rebuild_tensor_v2 needs (storage, offset, size, stride, ...)")
            }
            let shape = try ints(a[2], "size", fail), strides = try ints(a[3], "stride", fail)
            guard shape.count == strides.count, shape.count <= Unpickler.maxRank else {
                throw fail("tensor size \(shape) and stride \(strides) do not match")
            }
            let ref = TorchTensorRef(storage: storage, offset: Int(clamping: offset), shape: shape, strides: strides)
            try check(ref, fail)
            return .tensor(ref)
        case .rebuildParameter, .rebuildParameterWithState:
            guard let first = a.first, case .tensor = first else { throw fail("\(g.qualifiedName) needs a tensor") }
            return first
        case .rebuildFromTypeV2:
            // (func, new_type, args, state): apply func to args; the type is Parameter or Tensor.
            guard a.count == 4, case .global(let f) = a[0], case .tuple(let args) = a[2] else {
                throw fail("_rebuild_from_type_v2 needs (func, type, args, state)")
            }
            guard case .global(let t) = a[1], t == .parameterType || t == .tensorType else {
                throw fail("_rebuild_from_type_v2 with type \(a[1].kind) is not allowed")
            }
            guard f != .rebuildFromTypeV2 else { throw fail("nested _rebuild_from_type_v2") }
            return try call(f, args.items, arena: arena, fail: fail)
        case .orderedDict:
            let d = arena.dict()
            if let items = a.first {
                guard case .list(let l) = items else { throw fail("OrderedDict of a \(items.kind)") }
                for item in l.items {
                    guard case .tuple(let kv) = item, kv.items.count == 2 else { throw fail("OrderedDict item is not a pair") }
                    d.set(kv.items[0], kv.items[1])
                }
            }
            return .dict(d)
        case .set, .frozenset:
            guard let items = a.first else { return .set(arena.seq()) }
            switch items {
            case .list(let s), .tuple(let s), .set(let s): return .set(arena.seq(s.items))
            default: throw fail("\(g.qualifiedName) of a \(items.kind)")
            }
        case .codecsEncode:
            // _codecs.encode(text, 'latin1'): how protocol 2 pickles bytes.
            guard a.count == 2, case .string(let s) = a[0], case .string(let enc) = a[1], enc == "latin1" || enc == "latin-1"
            else { throw fail("_codecs.encode needs (str, 'latin1')") }
            var out: [UInt8] = []
            for u in s.unicodeScalars {
                guard u.value < 256 else { throw fail("_codecs.encode: character beyond latin1") }
                out.append(UInt8(u.value))
            }
            return .bytes(out)
        case .torchSize:
            guard a.count == 1 else { throw fail("torch.Size needs one argument") }
            switch a[0] {
            case .tuple(let s), .list(let s): return .tuple(arena.seq(s.items))
            default: throw fail("torch.Size of a \(a[0].kind)")
            }
        case .storageType, .dtype, .parameterType, .tensorType:
            throw fail("calling \(g.qualifiedName) is not allowed in a weights-only checkpoint")
        }
    }

    private static func ints(_ v: PickleValue, _ what: String, _ fail: (String) -> Error) throws -> [Int] {
        let items: [PickleValue]
        switch v {
        case .tuple(let s), .list(let s): items = s.items
        default: throw fail("tensor \(what) is a \(v.kind)")
        }
        return try items.map {
            guard case .int(let i) = $0, i >= 0, i <= Int64(Int32.max) else { throw fail("tensor \(what) has a bad entry") }
            return Int(i)
        }
    }

    /// The view must stay inside its storage, have fewer than 2³¹ elements and not amplify a small storage much.
    private static func check(_ t: TorchTensorRef, _ fail: (String) -> Error) throws {
        guard t.offset >= 0 else { throw fail("negative storage offset") }
        var count = 1
        var last = t.offset
        for (size, stride) in zip(t.shape, t.strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: size)
            guard !o1, c <= Int(Int32.max) else { throw fail("tensor of shape \(t.shape) is too large") }
            count = c
            if size > 0 {
                let (span, o2) = (size - 1).multipliedReportingOverflow(by: stride)
                let (l, o3) = last.addingReportingOverflow(span)
                guard !o2, !o3 else { throw fail("tensor strides overflow") }
                last = l
            }
        }
        // A stride-0 (expanded) view may repeat elements, but not blow a small file up into gigabytes.
        guard count <= max(t.storage.count, 1 << 24) else {
            throw fail("tensor of shape \(t.shape) repeats its \(t.storage.count)-element storage too often")
        }
        guard count == 0 || last < t.storage.count else {
            throw fail("tensor view (offset \(t.offset), shape \(t.shape), strides \(t.strides)) runs past its storage of \(t.storage.count) elements")
        }
    }
}
