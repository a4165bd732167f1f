import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT (Ctrl-C) and SIGTERM during training: the first one asks the trainer to save a resumable checkpoint at
/// the next batch boundary and stop; a second one exits at once (the previous checkpoint stays intact because
/// every checkpoint write is atomic).
public enum Interruption {
    nonisolated(unsafe) private static var requested: sig_atomic_t = 0
    nonisolated(unsafe) private static var installed = false

    /// The signal that asked to stop, or nil.
    public static var pendingSignal: Int32? { requested == 0 ? nil : Int32(requested) }

    /// Installs the handlers (idempotent).
    public static func install() {
        guard !installed else { return }
        installed = true
        requested = 0
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { s in
                if Interruption.requested != 0 { _exit(128 + s) }
                Interruption.requested = sig_atomic_t(s)
            }
        }
    }

    /// Restores default handling.
    public static func uninstall() {
        guard installed else { return }
        installed = false
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        requested = 0
    }
}
