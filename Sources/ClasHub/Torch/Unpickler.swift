import Foundation

/// A restricted unpickler for the `data.pkl` of a PyTorch checkpoint, accepting what
/// `torch.load(weights_only=True)` accepts for state dicts: primitive values and containers, `OrderedDict`,
/// storages through `persistent_load`, and tensors and parameters through the `torch._utils` rebuild functions.
/// Any other global, `REDUCE` of anything else, object construction (`NEWOBJ`, `INST`, `OBJ`), extensions and
/// out-of-band buffers are refused. Sizes are checked against the remaining input and fixed limits, so hostile bytes
/// end in an error, never a crash or an unbounded allocation.
struct Unpickler {
    struct Refused: Error, CustomStringConvertible {
        let offset: Int
        let reason: String
        var description: String { "pickle byte \(offset): \(reason)" }
    }

    static let maxStack = 1_000_000
    static let maxMemo = 1_000_000
    static let maxRank = 32

    private let bytes: [UInt8]
    private var pos = 0
    private var opStart = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private let arena = PickleArena()

    private init(_ data: Data) { bytes = [UInt8](data) }

    /// Runs the pickle to its `STOP` and passes the top value to `body`; the containers are emptied afterwards,
    /// so nothing of the value may be kept beyond `body` but what it extracts.
    static func load<T>(_ data: Data, _ body: (PickleValue) throws -> T) throws -> T {
        var u = Unpickler(data)
        defer { u.arena.clear() }
        let root = try u.run()
        return try body(root)
    }

    private func fail(_ reason: String) -> Refused { Refused(offset: opStart, reason: reason) }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - pos else { throw fail("truncated: \(n) bytes wanted, \(bytes.count - pos) left") }
        defer { pos += n }
        return bytes[pos..<pos + n]
    }

    private mutating func byte() throws -> UInt8 { try take(1).first! }

    private mutating func uint(_ n: Int) throws -> UInt64 {
        try take(n).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private mutating func line() throws -> String {
        guard let end = bytes[pos...].firstIndex(of: 0x0A), end - pos <= 10_000 else { throw fail("unterminated text line") }
        let s = String(decoding: bytes[pos..<end], as: UTF8.self)
        pos = end + 1
        return s
    }

    private mutating func length(_ n: Int) throws -> Int {
        let v = try uint(n)
        guard v <= UInt64(bytes.count - pos) else { throw fail("length \(v) runs past the end of the pickle") }
        return Int(v)
    }

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw fail("stack underflow") }
        if let m = marks.last, stack.count < m { throw fail("stack underflow past a mark") }
        return v
    }

    private mutating func push(_ v: PickleValue) throws {
        guard stack.count < Self.maxStack else { throw fail("more than \(Self.maxStack) values on the stack") }
        stack.append(v)
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("no mark") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func top() throws -> PickleValue {
        guard let v = stack.last else { throw fail("stack underflow") }
        return v
    }

    private mutating func memoize(_ key: Int) throws {
        guard memo.count < Self.maxMemo || memo[key] != nil else { throw fail("memo too large") }
        memo[key] = try top()
    }

    private mutating func recall(_ key: Int) throws {
        guard let v = memo[key] else { throw fail("memo key \(key) not set") }
        try push(v)
    }

    private mutating func run() throws -> PickleValue {
        while true {
            opStart = pos
            let op = try byte()
            switch op {
            case 0x80: let p = try byte(); guard p <= 5 else { throw fail("unknown protocol \(p)") }
            case 0x95: _ = try uint(8)  // FRAME: framing only
            case 0x2E:  // STOP
                guard stack.count == 1, marks.isEmpty else { throw fail("STOP with \(stack.count) values on the stack") }
                return stack[0]
            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4A: try push(.int(Int64(Int32(bitPattern: UInt32(try uint(4))))))  // BININT
            case 0x4B: try push(.int(Int64(try byte())))  // BININT1
            case 0x4D: try push(.int(Int64(try uint(2))))  // BININT2
            case 0x8A, 0x8B:  // LONG1, LONG4
                let n = try length(op == 0x8A ? 1 : 4)
                guard n <= 8 else { throw fail("integer of \(n) bytes is too large") }
                let raw = try take(n)
                var v: UInt64 = 0
                for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
                if n > 0, n < 8, raw.last! & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }
                try push(.int(Int64(bitPattern: v)))
            case 0x49:  // INT (text; "01"/"00" are booleans)
                let s = try line()
                if s == "01" || s == "00" { try push(.bool(s == "01")); break }
                guard let v = Int64(s) else { throw fail("bad INT '\(s.prefix(40))'") }
                try push(.int(v))
            case 0x4C:  // LONG (text)
                var s = try line()
                if s.hasSuffix("L") { s.removeLast() }
                guard let v = Int64(s) else { throw fail("bad LONG '\(s.prefix(40))'") }
                try push(.int(v))
            case 0x47: try push(.float(Double(bitPattern: try uint(8))))  // BINFLOAT (big-endian)
            case 0x46:
                let s = try line()
                guard let v = Double(s) else { throw fail("bad FLOAT '\(s.prefix(40))'") }
                try push(.float(v))
            case 0x58, 0x8C, 0x8D:  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                let n = try length(op == 0x8C ? 1 : op == 0x58 ? 4 : 8)
                guard let s = String(bytes: try take(n), encoding: .utf8) else { throw fail("string is not UTF-8") }
                try push(.string(s))
            case 0x55, 0x54:  // SHORT_BINSTRING, BINSTRING (Python 2 str)
                let n = try length(op == 0x55 ? 1 : 4)
                try push(.string(String(decoding: try take(n), as: UTF8.self)))
            case 0x43, 0x42, 0x8E, 0x96:  // SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8
                let n = try length(op == 0x43 ? 1 : op == 0x42 ? 4 : 8)
                try push(.bytes(Array(try take(n))))
            case 0x29: try push(.tuple(arena.seq()))
            case 0x85: try push(.tuple(arena.seq([try pop()])))
            case 0x86: let b = try pop(), a = try pop(); try push(.tuple(arena.seq([a, b])))
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(.tuple(arena.seq([a, b, c])))
            case 0x74: try push(.tuple(arena.seq(try popMark())))  // TUPLE
            case 0x5D: try push(.list(arena.seq()))
            case 0x6C: try push(.list(arena.seq(try popMark())))  // LIST
            case 0x7D: try push(.dict(arena.dict()))
            case 0x64: try push(.dict(try pairs(try popMark())))  // DICT
            case 0x8F: try push(.set(arena.seq()))
            case 0x91: try push(.set(arena.seq(try popMark())))  // FROZENSET
            case 0x28:  // MARK
                guard marks.count < Self.maxStack else { throw fail("too many marks") }
                marks.append(stack.count)
            case 0x61:  // APPEND
                let v = try pop()
                guard case .list(let l) = try top() else { throw fail("APPEND to a \(try top().kind)") }
                l.items.append(v)
            case 0x65:  // APPENDS
                let items = try popMark()
                guard case .list(let l) = try top() else { throw fail("APPENDS to a \(try top().kind)") }
                l.items += items
            case 0x73:  // SETITEM
                let v = try pop(), k = try pop()
                guard case .dict(let d) = try top() else { throw fail("SETITEM on a \(try top().kind)") }
                d.set(k, v)
            case 0x75:  // SETITEMS
                let items = try popMark()
                guard case .dict(let d) = try top() else { throw fail("SETITEMS on a \(try top().kind)") }
                for (k, v) in try pairs(items).entries { d.set(k, v) }
            case 0x90:  // ADDITEMS
                let items = try popMark()
                guard case .set(let s) = try top() else { throw fail("ADDITEMS on a non-set") }
                s.items += items
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popMark()  // POP_MARK
            case 0x32: try push(try top())  // DUP
            case 0x71: try memoize(Int(try byte()))  // BINPUT
            case 0x72: try memoize(Int(try uint(4)))  // LONG_BINPUT
            case 0x94: try memoize(memo.count)  // MEMOIZE
            case 0x70:  // PUT
                guard let k = Int(try line()) else { throw fail("bad PUT key") }
                try memoize(k)
            case 0x68: try recall(Int(try byte()))  // BINGET
            case 0x6A: try recall(Int(try uint(4)))  // LONG_BINGET
            case 0x67:  // GET
                guard let k = Int(try line()) else { throw fail("bad GET key") }
                try recall(k)
            case 0x63:  // GLOBAL
                let module = try line(), name = try line()
                try push(.global(try allowed(module, name)))
            case 0x93:  // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard case .string(let module) = m, case .string(let name) = n else { throw fail("STACK_GLOBAL needs two strings") }
                try push(.global(try allowed(module, name)))
            case 0x52:  // REDUCE
                let args = try pop(), callable = try pop()
                guard case .global(let g) = callable, case .tuple(let a) = args else {
                    throw fail("REDUCE of a \(callable.kind) is not allowed in a weights-only checkpoint")
                }
                try push(try TorchRebuild.call(g, a.items, arena: arena, fail: fail))
            case 0x62:  // BUILD: state on an OrderedDict (its _metadata) or a tensor is ignored
                let state = try pop()
                switch try top() {
                case .dict, .tensor: break
                default: throw fail("BUILD on a \(try top().kind) (state \(state.kind)) is not allowed")
                }
            case 0x51:  // BINPERSID
                try push(try persistent(try pop()))
            case 0x50:  // PERSID (text ids are not used by torch)
                throw fail("text persistent ids are not used by PyTorch checkpoints")
            case 0x81, 0x92, 0x69, 0x6F:
                throw fail("object construction (opcode 0x\(String(op, radix: 16))) is not allowed in a weights-only checkpoint")
            case 0x82, 0x83, 0x84:
                throw fail("extension registry opcodes are not allowed")
            case 0x97, 0x98:
                throw fail("out-of-band buffers are not allowed")
            default:
                throw fail("unknown or unsupported opcode 0x\(String(op, radix: 16))")
            }
        }
    }

    private func pairs(_ items: [PickleValue]) throws -> PickleDict {
        guard items.count % 2 == 0 else { throw fail("odd number of dict items") }
        let d = arena.dict()
        for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
        return d
    }

    private func allowed(_ module: String, _ name: String) throws -> TorchGlobal {
        guard let g = TorchGlobal.lookup(module: module, name: name) else {
            throw fail("global \(module.prefix(100)).\(name.prefix(100)) is not allowed in a weights-only checkpoint "
                + "(only tensors, storages, OrderedDict and primitive values are loaded)")
        }
        return g
    }

    private func persistent(_ id: PickleValue) throws -> PickleValue {
        guard case .tuple(let seq) = id, case let t = seq.items, t.count == 5, case .string("storage") = t[0] else {
            throw fail("persistent id is not ('storage', type, key, location, numel)")
        }
        guard case .global(.storageType(let dtype)) = t[1] else { throw fail("storage type is a \(t[1].kind)") }
        guard case .string(let key) = t[2], !key.isEmpty, key.count <= 64,
              key.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("a"..."z").contains($0) || ("A"..."Z").contains($0) })
        else { throw fail("bad storage key") }
        guard case .int(let count) = t[4], count >= 0, count <= Int64(Int32.max) * 4 else { throw fail("bad storage size") }
        return .storage(TorchStorageRef(dtype: dtype, key: key, count: Int(count)))
    }
}
