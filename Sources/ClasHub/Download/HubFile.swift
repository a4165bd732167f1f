import Foundation

/// One file to fetch: its URL and its place in the cache.
///
/// Hub files (`HubFile.hub`) live at `{endpoint}/{repo}/resolve/{revision}/{filename}` and are cached as
/// `hub/{owner}/{name}/{revision}/{filename}`; plain URLs (`HubFile.url`) as `url/{host}/{path}`.
public struct HubFile: Hashable, Sendable, CustomStringConvertible {
    /// `owner/name` for hub files, nil for plain URLs.
    public let repo: String?
    public let revision: String?
    public let filename: String
    /// The download URL.
    public let url: URL
    /// The path relative to the cache folder.
    public let cacheKey: String

    public var description: String {
        if let repo, let revision { return "\(repo)@\(revision):\(filename)" }
        return url.absoluteString
    }

    /// A file of a hub repository. Names are checked, so nothing can escape the cache folder.
    public static func hub(repo: String, revision: String = "main", filename: String = "model.safetensors",
                           endpoint: String = HubEnvironment.defaultEndpoint) throws -> HubFile {
        let parts = repo.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, parts.allSatisfy(isSafeComponent) else {
            throw HubError.invalidName("repository '\(repo)' is not of the form owner/name (letters, digits, . _ -)")
        }
        let revParts = revision.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard revParts.allSatisfy(isSafeComponent) else {
            throw HubError.invalidName("revision '\(revision)' has characters other than letters, digits, . _ - /")
        }
        let fileParts = filename.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard fileParts.allSatisfy(isSafeComponent) else {
            throw HubError.invalidName("file name '\(filename)' has characters other than letters, digits, . _ - /")
        }
        let encodedRevision = revision.replacingOccurrences(of: "/", with: "%2F")
        var endpoint = endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        guard let url = URL(string: "\(endpoint)/\(repo)/resolve/\(encodedRevision)/\(filename)") else {
            throw HubError.invalidName("cannot form a URL from endpoint '\(endpoint)'")
        }
        let key = "hub/\(repo)/\(revParts.joined(separator: "--"))/\(filename)"
        return HubFile(repo: repo, revision: revision, filename: filename, url: url, cacheKey: key)
    }

    /// A file at an http(s) URL.
    public static func url(_ url: URL) throws -> HubFile {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = url.host,
              isSafeComponent(host.replacingOccurrences(of: ":", with: "_")) else {
            throw HubError.invalidName("'\(url.absoluteString)' is not an http(s) URL with a host")
        }
        let parts = url.path.split(separator: "/").map(String.init)
        guard let last = parts.last, parts.allSatisfy(isSafeComponent) else {
            throw HubError.invalidName("the path of '\(url.absoluteString)' is not a plain file path")
        }
        let port = url.port.map { "_\($0)" } ?? ""
        let key = "url/\(host)\(port)/" + parts.joined(separator: "/")
        return HubFile(repo: nil, revision: nil, filename: last, url: url, cacheKey: key)
    }

    /// Parses what a user types: an http(s) URL, `owner/name[@revision]`, an optional `hf-hub:` prefix, or a bare
    /// timm model name (`mobilenetv3_large_100.ra_in1k` means `timm/mobilenetv3_large_100.ra_in1k`).
    public static func parse(_ spec: String, filename: String = "model.safetensors", revision: String? = nil,
                             endpoint: String = HubEnvironment.defaultEndpoint) throws -> HubFile {
        if spec.hasPrefix("http://") || spec.hasPrefix("https://") {
            guard let url = URL(string: spec) else { throw HubError.invalidName("'\(spec)' is not a valid URL") }
            return try HubFile.url(url)
        }
        var s = spec
        if s.hasPrefix("hf-hub:") { s.removeFirst("hf-hub:".count) }
        var rev = revision ?? "main"
        if let at = s.firstIndex(of: "@") {
            rev = String(s[s.index(after: at)...])
            s = String(s[..<at])
        }
        if !s.contains("/") { s = "timm/" + s }
        return try hub(repo: s, revision: rev, filename: filename, endpoint: endpoint)
    }

    static func isSafeComponent(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 200, s != ".", s != ".." else { return false }
        return s.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)
        }
    }
}
