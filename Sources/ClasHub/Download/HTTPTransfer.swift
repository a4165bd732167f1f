import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request through URLSession, synchronously, without following redirects (the caller follows them, so it
/// sees the hub's own headers on the 302 and keeps its `Range` header on every hop). A 200/206 body streams into
/// `sink`; any other body is dropped.
/// `@unchecked Sendable`: its state is touched only on the session's serial delegate queue, then read by the caller
/// after the completion semaphore, which orders the accesses.
final class HTTPTransfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    static let maxRedirects = 10

    struct Response {
        var url: URL
        var status: Int
        var headers: HTTPURLResponse
        /// Body bytes handed to the sink.
        var received: Int64
        /// The transport error, if the transfer failed (possibly after part of the body).
        var error: Error?
        func header(_ name: String) -> String? { headers.value(forHTTPHeaderField: name) }
        var contentLength: Int64? { header("Content-Length").flatMap { Int64($0) } }
        /// The first byte of a 206 answer (`Content-Range: bytes FIRST-LAST/TOTAL`).
        var contentRangeStart: Int64? {
            guard let v = header("Content-Range"), v.hasPrefix("bytes ") else { return nil }
            return Int64(v.dropFirst(6).prefix { $0 != "-" })
        }
    }

    private let onResponse: ((Response) throws -> Void)?
    private let sink: ((Data) throws -> Void)?
    private let onBytes: ((Int64) -> Void)?
    private let done = DispatchSemaphore(value: 0)
    private var response: HTTPURLResponse?
    private var received: Int64 = 0
    private var failure: Error?

    private init(onResponse: ((Response) throws -> Void)?, sink: ((Data) throws -> Void)?, onBytes: ((Int64) -> Void)?) {
        self.onResponse = onResponse
        self.sink = sink
        self.onBytes = onBytes
    }

    /// Performs `method` on `url`; `timeout` is the longest wait for any data. `onResponse` sees the headers
    /// first (throwing cancels the transfer with that error).
    static func perform(_ url: URL, method: String = "GET", headers: [String: String] = [:], timeout: TimeInterval,
                        onResponse: ((Response) throws -> Void)? = nil, sink: ((Data) throws -> Void)? = nil, onBytes: ((Int64) -> Void)? = nil) -> Result<Response, Error> {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = method
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        request.setValue("SwiftClas", forHTTPHeaderField: "User-Agent")
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let transfer = HTTPTransfer(onResponse: onResponse, sink: sink, onBytes: onBytes)
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.urlCache = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: config, delegate: transfer, delegateQueue: queue)
        session.dataTask(with: request).resume()
        transfer.done.wait()
        session.finishTasksAndInvalidate()
        guard let http = transfer.response else {
            return .failure(transfer.failure ?? URLError(.badServerResponse))
        }
        return .success(Response(url: url, status: http.statusCode, headers: http, received: transfer.received,
                                 error: transfer.failure))
    }

    private var streaming: Bool {
        guard let s = response?.statusCode else { return false }
        return s == 200 || s == 206
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else { return completionHandler(.cancel) }
        self.response = http
        do {
            try onResponse?(Response(url: http.url ?? URL(fileURLWithPath: "/"), status: http.statusCode,
                                     headers: http, received: 0, error: nil))
            completionHandler(.allow)
        } catch {
            failure = error
            completionHandler(.cancel)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard streaming, failure == nil else { return }
        do {
            try sink?(data)
            received += Int64(data.count)
            onBytes?(received)
        } catch {
            failure = error
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if response == nil, let http = task.response as? HTTPURLResponse { response = http }
        if failure == nil { failure = error }
        done.signal()
    }

    /// A short reason for a transport error.
    static func describe(_ error: Error) -> String {
        if let e = error as? URLError {
            switch e.code {
            case .cannotConnectToHost: return "connection refused"
            case .cannotFindHost, .dnsLookupFailed: return "host not found"
            case .timedOut: return "timed out"
            case .notConnectedToInternet: return "no network"
            case .networkConnectionLost: return "connection lost"
            case .secureConnectionFailed, .serverCertificateUntrusted: return "TLS failure"
            default: return e.localizedDescription
            }
        }
        return "\(error)"
    }
}
