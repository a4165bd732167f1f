import Foundation

/// Why a weight file could not be fetched or used. Every message names the URL or path and what to do.
public enum HubError: Error, CustomStringConvertible, Equatable {
    case invalidName(String)
    /// The server answered 404 (or 401/403: gated or private repositories are not supported).
    case notFound(url: String, status: Int)
    /// The server answered 5xx.
    case serverError(url: String, status: Int)
    /// Any other unexpected HTTP status.
    case httpStatus(url: String, status: Int)
    /// The connection failed (refused, DNS, timeout, TLS).
    case connection(url: String, reason: String)
    /// Offline mode is on and the file is not (validly) cached.
    case offlineNotCached(url: String, path: String, variable: String)
    /// The body ended before the announced size; the partial file is kept for resuming.
    case truncated(url: String, received: Int64, expected: Int64?, partial: String)
    /// The downloaded (or cached) bytes do not have the expected SHA-256.
    case checksumMismatch(url: String, expected: String, actual: String, source: String)
    /// The server's announced SHA-256 differs from the pinned one.
    case pinMismatch(url: String, pinned: String, server: String)
    case tooManyRedirects(url: String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidName(let why):
            return "invalid weights name: \(why)"
        case .notFound(let url, let status):
            let what = status == 404 ? "404 Not Found" : "\(status) (the repository may be gated or private)"
            return "\(url): \(what). Check the repository, file name and revision "
                + "(e.g. timm/mobilenetv3_large_100.ra_in1k, model.safetensors, main); gated or private repositories "
                + "are not supported: download the file yourself and pass its path instead."
        case .serverError(let url, let status):
            return "\(url): the server answered \(status). It is a server-side problem: try again later, or set "
                + "HF_ENDPOINT to a mirror."
        case .httpStatus(let url, let status):
            return "\(url): unexpected HTTP status \(status)."
        case .connection(let url, let reason):
            return "\(url): cannot connect (\(reason)). Check the network or proxy, set HF_ENDPOINT to a reachable "
                + "mirror, or copy the file into the cache and set HF_HUB_OFFLINE=1 to use the cache only."
        case .offlineNotCached(let url, let path, let variable):
            return "offline mode (\(variable) is set) and \(url) is not in the cache (\(path)). Unset \(variable) "
                + "to download it, or run `tools weights download` where the network is reachable and copy the "
                + "cache folder here."
        case .truncated(let url, let received, let expected, let partial):
            let of = expected.map { " of \($0)" } ?? ""
            return "\(url): the download stopped after \(received)\(of) bytes. The part is kept in \(partial); "
                + "run the same command again to resume."
        case .checksumMismatch(let url, let expected, let actual, let source):
            return "\(url): SHA-256 mismatch (expected \(expected) from \(source), got \(actual)). The file was "
                + "deleted and not used; run again to download it anew. If it persists, the server, a proxy or the "
                + "pinned checksum is wrong."
        case .pinMismatch(let url, let pinned, let server):
            return "\(url): the server announces SHA-256 \(server) but \(pinned) is pinned: the file changed upstream "
                + "or the pin is wrong. Pin the revision (repo@commit) or update the checksum."
        case .tooManyRedirects(let url):
            return "\(url): more than \(HTTPTransfer.maxRedirects) redirects."
        case .io(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
