/// Whether operations record a graph for `backward()`. Off during evaluation and inference.
///
/// Training runs on one thread (the kernels parallelise inside each op), so this is a plain process-wide switch.
public enum GradMode {
    /// True while operations record the graph.
    nonisolated(unsafe) public static var isEnabled = true

    /// Runs `body` without recording a graph, restoring the previous mode afterwards.
    public static func withoutGrad<T>(_ body: () throws -> T) rethrows -> T {
        let previous = isEnabled
        isEnabled = false
        defer { isEnabled = previous }
        return try body()
    }
}
