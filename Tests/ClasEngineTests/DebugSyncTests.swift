import ClasEngine
import ClasNN
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

final class DebugSyncTests: XCTestCase {
    final class PairedReducer: CrossProcessReducer {
        var recorded: [[Double]] = []
        weak var partner: PairedReducer?
        private var partnerRound: [[Double]] = []
        private var call = 0
        func beginRound() { partnerRound = partner?.recorded ?? []; call = 0 }
        func allSum(_ values: UnsafeMutablePointer<Double>, count: Int) {
            let local = Array(UnsafeBufferPointer(start: values, count: count))
            if call < recorded.count { recorded[call] = local } else { recorded.append(local) }
            if call < partnerRound.count, partnerRound[call].count == count { for i in 0..<count { values[i] += partnerRound[call][i] } }
            call += 1
        }
    }

    func testDebug() throws {
        guard let cfg = ProcessInfo.processInfo.environment["DEBUG_CONFIG"], let state = ProcessInfo.processInfo.environment["DEBUG_STATE"] else { throw XCTSkip("debug") }
        let ov = ["Arch.dropout_prob=0", "Global.eval_during_train=False", "DataLoader.Train.sampler.batch_size=8", "Global.output_dir=/tmp/dbg/x"]
        func engine(_ state: String = state) throws -> Engine {
            let e = try Engine(configPath: cfg, overrides: ov, mode: .train, quiet: true)
            var d: [String: Tensor] = [:]
            for en in try Safetensors.read(state).entries where !en.name.hasPrefix("optimizer") { d[en.name] = en.tensor }
            _ = e.model.load(d)
            return e
        }
        let ew = try engine(), ea = try engine(), eb = try engine()
        let cursor = try ew.trainData!.start(epoch: 1, from: 2)
        let batch = try cursor.next()!
        cursor.cancel()
        let x = batch.images, labels = batch.targets.labels
        let half = x.count / 2
        let xa = Tensor(shape: [4] + Array(x.shape.dropFirst()), values: Array(x.scalars[0..<half]))
        let xb = Tensor(shape: [4] + Array(x.shape.dropFirst()), values: Array(x.scalars[half...]))
        func loss(_ logits: Tensor, _ l: [Int]) -> Tensor {
            let w = Tensor(shape: logits.shape, values: (0..<logits.count).map { i in Float(l[i / 4] == i % 4 ? 1 : 0) })
            return (logits.logSoftmax() * w).sum().affine(-1.0 / 8, 0)
        }
        func grads(_ m: Module) -> [String: [Float]] {
            var o: [String: [Float]] = [:]
            for (n, p) in m.namedParameters() { o[n] = p.grad?.scalars ?? [] }
            for (n, b) in m.namedBuffers() { o[n] = b.scalars }
            return o
        }
        loss(ew.model(x), labels).backward()
        let whole = grads(ew.model)
        if let other = ProcessInfo.processInfo.environment["DEBUG_STATE2"] {
            let e2 = try engine(other)
            loss(e2.model(x), labels).backward()
            let w2 = grads(e2.model)
            var rows: [(Float, String, Float)] = []
            for (name, e) in whole where !name.contains("running") {
                rows.append(((zip(w2[name]!, e).map { abs($0 - $1) }.max() ?? 0), name, e.map(abs).max() ?? 0))
            }
            print("whole(state) vs whole(state2)")
            for r in rows.sorted(by: { $0.0 > $1.0 }).prefix(6) { print(r) }
        }
        let ra = PairedReducer(), rb = PairedReducer()
        ra.partner = rb; rb.partner = ra
        for case let (_, bn as BatchNorm) in ea.model.namedModules() { bn.statisticsReducer = ra }
        for case let (_, bn as BatchNorm) in eb.model.namedModules() { bn.statisticsReducer = rb }
        let initial = ea.model.stateDict().map { ($0.0, $0.1.detachedCopy()) }
        var a: [String: [Float]] = [:], b: [String: [Float]] = [:], prev: [[Double]] = []
        for round in 0..<400 {
            for m in [ea.model, eb.model] { for ((_, t), (_, s)) in zip(m.stateDict(), initial) { t.copy(from: s) }; for p in m.parameters() { p.grad = nil } }
            ra.beginRound(); rb.beginRound()
            loss(ea.model(xa), Array(labels[0..<4])).backward()
            loss(eb.model(xb), Array(labels[4...])).backward()
            a = grads(ea.model); b = grads(eb.model)
            if round > 0 && ra.recorded == prev { print("settled after", round); break }
            prev = ra.recorded
        }
        var rows: [(Float, String, Float)] = []
        for (name, e) in whole {
            let ga = a[name]!, gb = b[name]!
            let c = name.contains("running") ? ga : zip(ga, gb).map { $0 + $1 }
            let d = zip(c, e).map { abs($0 - $1) }.max() ?? 0
            rows.append((d, name, e.map(abs).max() ?? 0))
        }
        for r in rows.sorted(by: { $0.0 > $1.0 }).prefix(12) { print(r) }
        // print reductions with suspicious content
        for (k, v) in ra.recorded.enumerated() where k < 200 {
            let c = (v.count - 1) / 2
            let rbv = rb.recorded[k]
            _ = c; _ = rbv
        }
    }
}
