import Foundation

/// Ends the job when a collective operation does not complete in time, so a dead, hung or disconnected process
/// never leaves the others waiting forever.
///
/// A background thread wakes up a few times per timeout; when the operation in progress has run longer than
/// `timeout` seconds it calls `onTimeout` (which prints a message and aborts every process) from that thread.
final class CollectiveWatchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var label: String?
    private var started: UInt64 = 0
    private var stopped = false
    private var timeoutSeconds: Double
    private let onTimeout: (String, Double) -> Void

    /// - Parameters:
    ///   - timeout: seconds a collective may take.
    ///   - onTimeout: called once with the operation's label and its duration; it should not return.
    init(timeout: Double, onTimeout: @escaping (String, Double) -> Void) {
        timeoutSeconds = timeout
        self.onTimeout = onTimeout
        let thread = Thread { [weak self] in self?.watch() }
        thread.name = "ClasEngine.watchdog"
        thread.start()
    }

    /// Seconds a collective may take before the job is aborted.
    var timeout: Double {
        get { lock.withLock { timeoutSeconds } }
        set { lock.withLock { timeoutSeconds = newValue } }
    }

    /// Runs `body` (one collective) under the watchdog.
    func guarded<T>(_ label: String, _ body: () -> T) -> T {
        lock.withLock {
            self.label = label
            started = DispatchTime.now().uptimeNanoseconds
        }
        defer { lock.withLock { self.label = nil } }
        return body()
    }

    /// Stops watching (the thread exits at its next wake-up).
    func stop() { lock.withLock { stopped = true } }

    private func watch() {
        while true {
            let (label, started, timeout, stopped) = lock.withLock { (self.label, self.started, timeoutSeconds, self.stopped) }
            if stopped { return }
            if let label {
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                if elapsed > timeout {
                    onTimeout(label, elapsed)
                    return
                }
            }
            Thread.sleep(forTimeInterval: min(1, max(0.05, timeout / 10)))
        }
    }
}
