import DeliveryMessages
import Foundation
import Logging
import ServiceKit
import ZeroMQ

/// The HTTP side of `delivery-web`: the page, JSON endpoints that mirror the queries, the live
/// event stream, and health.
struct WebServer {
    let link: ReplicaLink
    let broadcaster: Broadcaster
    let context: Context
    let endpoints: [String]
    let timeout: Int64
    let secure: @Sendable (Socket) throws -> Void
    let logger: Logger
    let clients: ClientPool

    /// The server on `host:port`, bound now; throws when the address cannot be used.
    func make(host: String, port: UInt16) throws -> HTTPEdge {
        let files = Dictionary(Page.files.map { ($0.path, ($0.type, Array($0.body.utf8))) }, uniquingKeysWith: { first, _ in first })
        return try HTTPEdge(host: host, port: Int(port)) { request in
            await route(request, files: files)
        }
    }

    /// Every path the page, its API and health answer; another method is 405, another path 404.
    func route(_ request: EdgeRequest, files: [String: (String, [UInt8])]) async -> EdgeResponse {
        let get = request.method == "GET"
        if get, let (type, body) = files[request.path] {
            return EdgeResponse(status: 200, headers: [("Content-Type", type), ("Cache-Control", "no-cache")], body: .bytes(body))
        }
        switch (request.method, request.path) {
        case ("GET", "/healthz"):
            return .text(200, "ok\n")
        case ("GET", "/readyz"):
            let status = link.status
            return status.state == .live ? .text(200, "ready\n") : .text(503, "not ready: \(status.reason)\n")
        case ("GET", "/api/state"):
            return Self.json(200, .object(link.statusJSON()))
        case ("GET", "/events"):
            return events()
        case ("GET", let path) where path.hasPrefix("/api/"):
            return await answer(kind: String(path.dropFirst("/api/".count)), parameters: request.query)
        case ("POST", let path) where path.hasPrefix("/api/"):
            let kind = String(path.dropFirst("/api/".count))
            guard let parsed = try? JSONParser.parse(request.body.isEmpty ? Array("{}".utf8) : request.body), case .object(let fields) = parsed else {
                return Self.error(400, ErrorBody(code: .badJSON, message: "the body is not a JSON object"))
            }
            return await answer(kind: kind, body: .object(fields))
        case (_, let path) where files[path] != nil || path.hasPrefix("/api/") || ["/healthz", "/readyz", "/events"].contains(path):
            return .text(405, "\(excerpt(request.method, limit: 16)) is not answered here\n")
        default:
            return .text(404, "not found\n")
        }
    }

    /// The live event stream: the first event says how things stand, then every event as it
    /// comes, until the page goes.
    func events() -> EdgeResponse {
        guard let stream = broadcaster.listen() else {
            return Self.error(503, ErrorBody(code: .busy, message: "too many pages are listening; try again later"))
        }
        let hello = (try? CompactJSONEncoder.encode(JSONValue.object(link.statusJSON()))) ?? []
        let first = Array("retry: 1000\nevent: state\ndata: ".utf8) + hello + Array("\n\n".utf8)
        let body = AsyncStream<[UInt8]> { continuation in
            continuation.yield(first)
            let forward = Task {
                for await chunk in stream { continuation.yield(chunk) }
                continuation.finish()
            }
            continuation.onTermination = { _ in forward.cancel() }
        }
        return EdgeResponse(
            status: 200,
            headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")],
            body: .stream(body)
        )
    }

    /// A query given by URL parameters, read by its request type (`QueryParameters`).
    func answer(kind: String, parameters: [(name: String, value: String)]) async -> EdgeResponse {
        guard let query = QueryKind(rawValue: kind) else { return Self.unknown(kind) }
        do {
            return await answer(kind: kind, body: try QueryParameters.body(query, from: parameters))
        } catch {
            return Self.error(400, ErrorBody(code: .invalidQuery, message: error.description))
        }
    }

    static func unknown(_ kind: String) -> EdgeResponse {
        error(404, ErrorBody(code: .unknownType, message: "'\(excerpt(kind, limit: 40))' is not a query; one of \(QueryKind.allCases.map(\.rawValue).joined(separator: ", "))"))
    }

    /// Asks the replica and turns its reply into HTTP: the result body (with `asOf`) or the
    /// protocol's error body with a status that says the same.
    func answer(kind: String, body: JSONValue) async -> EdgeResponse {
        guard let query = QueryKind(rawValue: kind) else { return Self.unknown(kind) }
        let (clients, timeout) = (clients, timeout)
        let reply: WireMessage? = await withCheckedContinuation { continuation in
            // A blocking request on a thread of its own, on a socket lent by the pool.
            Thread.detachNewThread {
                let result = try? clients.withClient { try $0.request(type: query.rawValue, body: body, timeoutMillis: timeout) }
                continuation.resume(returning: result ?? nil)
            }
        }
        guard let reply else {
            return Self.error(504, ErrorBody(code: .unavailable, message: "no reply from the replica (\(endpoints.joined(separator: ", "))) within \(timeout) ms"))
        }
        if let error = reply.error {
            return Self.error(Self.status(error.code), error)
        }
        return Self.json(200, reply.message["body"] ?? .null)
    }

    /// The HTTP status of a protocol error.
    static func status(_ code: ErrorCode) -> Int {
        switch code {
        case .unknownType: 404
        case .unavailable, .stale: 503
        case .busy: 429
        case .tooLarge: 413
        case .internal: 500
        default: 400
        }
    }

    static func json(_ status: Int, _ value: JSONValue) -> EdgeResponse {
        let bytes = (try? CompactJSONEncoder.encode(value)) ?? Array("null".utf8)
        return EdgeResponse(status: status, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-cache")], body: .bytes(bytes))
    }

    static func error(_ status: Int, _ error: ErrorBody) -> EdgeResponse {
        let bytes = (try? CompactJSONEncoder.encode(error)) ?? Array("{}".utf8)
        return EdgeResponse(status: status, headers: [("Content-Type", "application/json")], body: .bytes(bytes))
    }
}

/// The page's long-lived connections to the replica: a query borrows one (made when none is
/// idle), and gives it back; at most `idleLimit` wait idle, the rest are closed. A socket is used
/// by one thread at a time, handed over under the lock (the memory barrier ZeroMQ asks of a
/// socket that moves between threads).
final class ClientPool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [RequestClient] = []
    private let make: () throws -> RequestClient
    let idleLimit: Int

    init(idleLimit: Int = 16, make: @escaping () throws -> RequestClient) {
        self.idleLimit = idleLimit
        self.make = make
    }

    func withClient<T>(_ body: (RequestClient) throws -> T) throws -> T {
        let client = try lock.withLock { idle.popLast() } ?? make()
        defer {
            let kept = lock.withLock {
                guard idle.count < idleLimit else { return false }
                idle.append(client)
                return true
            }
            if !kept { client.close() }
        }
        return try body(client)
    }

    /// Closes the idle connections (at shutdown, before the context ends).
    func close() {
        for client in lock.withLock({ defer { idle = [] }; return idle }) { client.close() }
    }
}
