import ClasKernels
import Synchronization

/// Consecutive steps of an ``InferencePlan`` that a batch goes through in image groups of one size
/// (`imagesPerGroup`, at most a share of the batch per thread; `.max` for the tail: one share per thread).
struct BatchPhase {
    let steps: Range<Int>
    let imagesPerGroup: Int
}

/// Runs a batch image group by image group: `body(begin, end, slot)` for the groups `begin ..< end`, on the threads
/// of the kernel pool (`slot`: the thread's index, below `threads`, so buffers made per slot before the call are
/// never used by two threads at once). Each thread claims the next unclaimed group until none is left, so a thread
/// the OS deschedules (a busy machine) holds up at most its current group, not a fixed half of the batch; every
/// group's result is the same whichever thread computes it. Kernels called inside run on the calling thread (the
/// pool does not nest). With `threads` 1 everything runs on the caller as `body(0, groups, 0)`.
func forEachImageGroup(_ groups: Int, threads: Int, _ body: @escaping (Int, Int, Int) -> Void) {
    guard threads > 1, groups > 1 else {
        body(0, groups, 0)
        return
    }
    let job = GroupJob(groups: groups, body)
    withExtendedLifetime(job) {
        // One pool chunk per slot; a chunk runs on one thread and claims groups until they run out.
        clas_parallel_for(Int64(min(threads, groups)), 1, { ctx, begin, _, _ in
            let job = Unmanaged<GroupJob>.fromOpaque(ctx!).takeUnretainedValue()
            while true {
                let g = job.next.add(1, ordering: .relaxed).oldValue
                if g >= job.groups { break }
                job.body(g, g + 1, Int(begin))
            }
        }, Unmanaged.passUnretained(job).toOpaque())
    }
}

/// The work of one batch split into image groups, handed to the kernel thread pool.
private final class GroupJob {
    let groups: Int
    let body: (Int, Int, Int) -> Void
    /// The next group no thread has claimed.
    let next = Atomic<Int>(0)
    init(groups: Int, _ body: @escaping (Int, Int, Int) -> Void) { (self.groups, self.body) = (groups, body) }
}
