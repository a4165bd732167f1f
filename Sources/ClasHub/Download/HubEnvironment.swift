import Foundation

/// Where weights come from and where they are kept, read from the environment as the Hugging Face tools do.
public struct HubEnvironment: Sendable {
    /// The hub's base URL without a trailing slash (`HF_ENDPOINT`, default `https://huggingface.co`).
    public var endpoint: String
    /// The cache folder (`$XDG_CACHE_HOME/swiftclas`, else `~/.cache/swiftclas`).
    public var cacheDirectory: URL
    /// The variable that switched offline mode on (`HF_HUB_OFFLINE` or `CLAS_OFFLINE`), or nil when online.
    public var offlineVariable: String?

    /// Whether only the cache may be used.
    public var isOffline: Bool { offlineVariable != nil }

    public init(endpoint: String = HubEnvironment.defaultEndpoint, cacheDirectory: URL, offlineVariable: String? = nil) {
        var e = endpoint
        while e.hasSuffix("/") { e.removeLast() }
        self.endpoint = e
        self.cacheDirectory = cacheDirectory
        self.offlineVariable = offlineVariable
    }

    public static let defaultEndpoint = "https://huggingface.co"

    /// The settings of this process (or of the given variables).
    public static func current(_ env: [String: String] = ProcessInfo.processInfo.environment) -> HubEnvironment {
        let endpoint = env["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultEndpoint
        let cache: URL
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
            cache = URL(fileURLWithPath: xdg).appendingPathComponent("swiftclas")
        } else {
            let home = env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            cache = URL(fileURLWithPath: home).appendingPathComponent(".cache/swiftclas")
        }
        let offline = ["HF_HUB_OFFLINE", "CLAS_OFFLINE"].first { isTrue(env[$0]) }
        return HubEnvironment(endpoint: endpoint, cacheDirectory: cache, offlineVariable: offline)
    }

    /// `1`, `true`, `yes`, `on` (any case) switch a flag on, as in huggingface_hub.
    static func isTrue(_ value: String?) -> Bool {
        guard let v = value?.trimmingCharacters(in: .whitespaces).lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(v)
    }
}
