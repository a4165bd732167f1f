import ClasKernels

/// Runs a batch image group by image group: `body(begin, end, slot)` for the groups `begin ..< end`, with the groups
/// split into one contiguous chunk per thread of the kernel pool (`slot`: the thread's index, below `threads`, so
/// buffers made per slot before the call are never used by two threads at once). Kernels called inside run on the
/// calling thread (the pool does not nest). With `threads` 1 everything runs on the caller as `body(0, groups, 0)`.
func forEachImageGroup(_ groups: Int, threads: Int, _ body: @escaping (Int, Int, Int) -> Void) {
    guard threads > 1, groups > 1 else {
        body(0, groups, 0)
        return
    }
    let job = GroupJob(body)
    withExtendedLifetime(job) {
        clas_parallel_for(Int64(groups), 1, { ctx, begin, end, tid in
            Unmanaged<GroupJob>.fromOpaque(ctx!).takeUnretainedValue().body(Int(begin), Int(end), Int(tid))
        }, Unmanaged.passUnretained(job).toOpaque())
    }
}

/// The work of one batch split into image groups, handed to the kernel thread pool.
private final class GroupJob {
    let body: (Int, Int, Int) -> Void
    init(_ body: @escaping (Int, Int, Int) -> Void) { self.body = body }
}
