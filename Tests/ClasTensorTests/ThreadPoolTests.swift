import ClasKernels
import XCTest

/// The kernel pool (`pool.c`): every index of a job runs exactly once, in the chunk the fixed split gives it
/// (chunk k = [n·k/chunks, n·(k+1)/chunks)), whichever thread claims it; jobs follow each other without mixing.
final class ThreadPoolTests: XCTestCase {
    /// What the chunks of one job did: how often each index ran, and the chunk index each index ran under.
    private final class Record {
        var visits: [Int32]
        var chunkOf: [Int32]
        init(_ n: Int) { (visits, chunkOf) = ([Int32](repeating: 0, count: n), [Int32](repeating: -1, count: n)) }
    }

    private func run(_ n: Int, fine: Bool) -> Record {
        let record = Record(n)
        let fn: clas_range_fn = { ctx, begin, end, tid in
            let r = Unmanaged<Record>.fromOpaque(ctx!).takeUnretainedValue()
            for i in Int(begin)..<Int(end) {
                r.visits[i] += 1
                r.chunkOf[i] = tid
            }
        }
        withExtendedLifetime(record) {
            let ctx = Unmanaged.passUnretained(record).toOpaque()
            if fine { clas_parallel_for_fine(Int64(n), 1, fn, ctx) } else { clas_parallel_for(Int64(n), 1, fn, ctx) }
        }
        return record
    }

    func testEveryIndexRunsOnceInItsFixedChunk() {
        let saved = clas_num_threads()
        defer { clas_set_num_threads(saved) }
        for threads: Int32 in [1, 2, 3, 4] {
            clas_set_num_threads(threads)
            for fine in [false, true] {
                let perThread = fine ? 4 : 1
                for n in [1, 2, 3, 5, 7, 8, 9, 64, 1000] {
                    let chunks = threads == 1 ? 1 : min(n, Int(threads) * perThread)  // one thread: serial, chunk 0
                    // The split a chunk index stands for (one chunk runs serially as chunk 0).
                    let expected = (0..<n).map { i in
                        chunks <= 1 ? Int32(0) : Int32((0..<chunks).first { k in n * (k + 1) / chunks > i }!)
                    }
                    // Many jobs back to back: a late thread must never take a chunk of the next job.
                    for _ in 0..<200 {
                        let r = run(n, fine: fine)
                        XCTAssertEqual(r.visits, [Int32](repeating: 1, count: n), "threads \(threads) fine \(fine) n \(n)")
                        XCTAssertEqual(r.chunkOf, expected, "threads \(threads) fine \(fine) n \(n)")
                    }
                }
            }
        }
    }
}
