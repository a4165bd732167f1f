import Foundation

/// A problem in a config, located in a file or a `-o` option.
///
/// `headline` is one line, compiler style:
/// `configs/mnv3.yaml:47:5: error: unknown key 'lerning_rate' in Optimizer.lr (Cosine). Did you mean 'learning_rate'?`
/// or `-o #1 'Global.epochs=thirty': error: Global.epochs expects an integer, got 'thirty'`.
/// `description` adds the quoted source line and a caret when the location is in a file.
public struct ConfigError: Error, Sendable, CustomStringConvertible, LocalizedError {
    /// Where the problem is.
    public let location: SourceLocation
    /// What is wrong, without the location (e.g. `Global.epochs must be at least 1, got 0`).
    public let message: String

    /// Creates an error at `location`.
    public init(_ message: String, at location: SourceLocation) {
        self.message = message
        self.location = location
    }

    /// Creates an error located at `node`.
    public init(_ message: String, at node: ConfigNode) {
        self.init(message, at: node.location)
    }

    /// `location: error: message` on one line.
    public var headline: String {
        location == .unknown ? "error: \(message)" : "\(location): error: \(message)"
    }

    /// The headline, then the source line and a caret for file locations.
    public var description: String {
        guard let snippet = location.snippet else { return headline }
        return headline + "\n" + snippet
    }

    public var errorDescription: String? { description }
}

/// Something worth telling the user that does not stop the run, e.g. a PaddleClas key SwiftClas ignores.
///
/// Notices are collected by ``ConfigDecoder/notices``; the caller prints them.
public struct ConfigNotice: Sendable, Hashable, CustomStringConvertible {
    /// Where the key or value is.
    public let location: SourceLocation
    /// The notice text, e.g. `Global.use_dali is ignored: DALI is not available`.
    public let message: String

    /// Creates a notice at `location`.
    public init(_ message: String, at location: SourceLocation) {
        self.message = message
        self.location = location
    }

    /// `location: notice: message`.
    public var description: String {
        location == .unknown ? "notice: \(message)" : "\(location): notice: \(message)"
    }
}
