import Foundation

/// Wall-clock time per operation kind, for `tools benchmark --profile`. Off by default; when on, leaf layers'
/// forward passes and every backward rule are timed and accumulated by name.
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

    /// Clears the accumulated times.
    public static func reset() { entries = [:] }

    /// Runs `body`, adding its duration under `name` when profiling is on.
    @inline(__always)
    public static func measure<T>(_ name: @autoclosure () -> String, _ body: () throws -> T) rethrows -> T {
        guard isEnabled else { return try body() }
        let start = now()
        let result = try body()
        let elapsed = now() - start
        entries[name(), default: Entry()].seconds += elapsed
        entries[name(), default: Entry()].calls += 1
        return result
    }
}
