import Foundation

/// Wall-clock time per operation kind, for `tools benchmark --profile`. Off by default; when on, leaf layers'
/// forward passes, the elementwise ops between them (a residual `+`, an activation, a scaling) and every backward
/// rule are timed and accumulated by name. Only the outermost timed region counts: an op inside a timed layer or rule
/// is that layer's time, so nothing is counted twice.
public enum Profiler {
    /// Accumulated time of one kind of operation.
    public struct Entry {
        public var seconds: Double = 0
        public var calls = 0
    }

    nonisolated(unsafe) public static var isEnabled = false
    nonisolated(unsafe) public private(set) static var entries: [String: Entry] = [:]

    /// Time profiled operations by this thread's CPU clock instead of the wall clock (busy machines).
    nonisolated(unsafe) public static var useThreadCPUTime = false

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(useThreadCPUTime ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// How many timed regions enclose the current code.
    nonisolated(unsafe) private static var depth = 0

    /// Clears the accumulated times.
    public static func reset() { entries = [:] }

    /// Runs `body`, adding its duration under `name` when profiling is on and no timed region encloses it.
    @inline(__always)
    public static func measure<T>(_ name: @autoclosure () -> String, _ body: () throws -> T) rethrows -> T {
        guard isEnabled, depth == 0 else { return try body() }
        depth += 1
        defer { depth -= 1 }
        let start = now()
        let result = try body()
        let elapsed = now() - start
        entries[name(), default: Entry()].seconds += elapsed
        entries[name(), default: Entry()].calls += 1
        return result
    }
}
