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

    /// Clears the accumulated times.
    public static func reset() { entries = [:] }

    /// Runs `body`, adding its duration under `name` when profiling is on.
    @inline(__always)
    public static func measure<T>(_ name: @autoclosure () -> String, _ body: () throws -> T) rethrows -> T {
        guard isEnabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        entries[name(), default: Entry()].seconds += elapsed
        entries[name(), default: Entry()].calls += 1
        return result
    }
}
