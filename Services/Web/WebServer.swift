import DeliveryMessages
import FlyingFox
import FlyingSocks
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

    func make(host: String, port: UInt16) async -> HTTPServer {
        let address: sockaddr_in = host == "*" || host == "0.0.0.0" ? .inet(port: port) : (try? .inet(ip4: host, port: port)) ?? .inet(port: port)
        let server = HTTPServer(address: address, timeout: 30, logger: .disabled)
        for (path, type, body) in Page.files {
            await server.appendRoute(HTTPRoute(method: .GET, path: path)) { _ in
                HTTPResponse(statusCode: .ok, headers: [.contentType: type, .cacheControl: "no-cache"], body: Data(body.utf8))
            }
        }
        await server.appendRoute("GET /healthz") { _ in
            HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain"], body: Data("ok\n".utf8))
        }
        await server.appendRoute("GET /readyz") { [link] _ in
            let status = link.status
            return status.state == .live
                ? HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain"], body: Data("ready\n".utf8))
                : HTTPResponse(statusCode: .serviceUnavailable, headers: [.contentType: "text/plain"], body: Data("not ready: \(status.reason)\n".utf8))
        }
        await server.appendRoute("GET /api/state") { [link] _ in
            Self.json(.ok, .object(link.statusJSON()))
        }
        await server.appendRoute("GET /events") { [broadcaster, link] _ in
            guard let stream = broadcaster.listen() else {
                return Self.error(.serviceUnavailable, ErrorBody(code: .busy, message: "too many pages are listening; try again later"))
            }
            // The first event says how things stand; then every event as it comes.
            let hello = (try? CompactJSONEncoder.encode(JSONValue.object(link.statusJSON()))) ?? []
            let first = Array("retry: 1000\nevent: state\ndata: ".utf8) + hello + Array("\n\n".utf8)
            return HTTPResponse(
                statusCode: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", HTTPHeader("X-Accel-Buffering"): "no"],
                body: HTTPBodySequence(from: EventBody(first: first, stream: stream))
            )
        }
        await server.appendRoute("GET /api/*") { request in
            await answer(kind: String(request.path.dropFirst("/api/".count)), body: Self.body(from: request.query))
        }
        await server.appendRoute("POST /api/*") { request in
            let kind = String(request.path.dropFirst("/api/".count))
            let data = (try? await request.bodyData) ?? Data()
            guard let parsed = try? JSONParser.parse(Array(data.isEmpty ? Data("{}".utf8) : data)), case .object(let fields) = parsed else {
                return Self.error(.badRequest, ErrorBody(code: .badJSON, message: "the body is not a JSON object"))
            }
            return await answer(kind: kind, body: fields)
        }
        return server
    }

    /// Asks the replica and turns its reply into HTTP: the result body (with `asOf`) or the
    /// protocol's error body with a status that says the same.
    func answer(kind: String, body: [String: JSONValue]) async -> HTTPResponse {
        guard let query = QueryKind(rawValue: kind) else {
            return Self.error(
                .notFound,
                ErrorBody(code: .unknownType, message: "'\(kind)' is not a query; one of \(QueryKind.allCases.map(\.rawValue).joined(separator: ", "))")
            )
        }
        let (context, endpoints, timeout, secure) = (context, endpoints, timeout, secure)
        let reply: (EnvelopeHead, [UInt8])? = await withCheckedContinuation { continuation in
            // A blocking request on a thread of its own: the socket lives and dies on it.
            Thread.detachNewThread {
                let result = try? RequestClient(context: context, endpoints: endpoints, failover: true, configure: secure)
                    .requestClosing(type: query.rawValue, body: JSONValue.object(body), timeoutMillis: timeout)
                continuation.resume(returning: result ?? nil)
            }
        }
        guard let (head, bytes) = reply, case .success(let message) = Result(catching: { try JSONParser.parse(bytes) }) else {
            return Self.error(.gatewayTimeout, ErrorBody(code: .unavailable, message: "no reply from the replica (\(endpoints.joined(separator: ", "))) within \(timeout) ms"))
        }
        let replyBody = message["body"] ?? .null
        if head.kind == .error, case .success(let error) = Wire.decodeBody(ErrorBody.self, from: bytes) {
            return Self.error(Self.status(error.code), error)
        }
        return Self.json(.ok, replyBody)
    }

    /// The HTTP status of a protocol error.
    static func status(_ code: ErrorCode) -> HTTPStatusCode {
        switch code {
        case .unknownType: .notFound
        case .unavailable, .stale: .serviceUnavailable
        case .busy: .tooManyRequests
        case .tooLarge: .payloadTooLarge
        case .internal: .internalServerError
        default: .badRequest
        }
    }

    /// A query's body from URL parameters: `group`, `brand`, `model`, `market` name the entity;
    /// `ofGroup`, `ofBrand`, `ofMarket` the whole of a share; `withinGroup`, `withinBrand` a
    /// ranking's scope; `atLeast`, `atMost`, `growth`, `direction` a streak's condition; numbers
    /// (`top`, `amount`, `milestone`, `timeoutMs`) as numbers; every other parameter as text.
    static func body(from query: [HTTPRequest.QueryItem]) -> [String: JSONValue] {
        var body: [String: JSONValue] = [:]
        var entity: [String: JSONValue] = [:]
        var of: [String: JSONValue] = [:]
        var within: [String: JSONValue] = [:]
        var condition: [String: JSONValue] = [:]
        func number(_ text: String) -> JSONValue {
            if let int = Int64(text) { return .int(int) }
            if let double = Double(text) { return .double(double) }
            return .string(text)
        }
        for item in query {
            switch item.name {
            case "group", "brand", "model": entity[item.name] = .string(item.value)
            case "market": entity["market"] = .bool(item.value != "false")
            case "ofGroup": of["group"] = .string(item.value)
            case "ofBrand": of["brand"] = .string(item.value)
            case "ofMarket": of["market"] = .bool(item.value != "false")
            case "withinGroup": within["group"] = .string(item.value)
            case "withinBrand": within["brand"] = .string(item.value)
            case "atLeast", "atMost": condition[item.name] = number(item.value)
            case "growth", "direction": condition[item.name] = .string(item.value)
            case "top", "amount", "milestone", "timeoutMs": body[item.name] = number(item.value)
            default: body[item.name] = .string(item.value)
            }
        }
        if !entity.isEmpty { body["entity"] = .object(entity) }
        if !of.isEmpty { body["of"] = .object(of) }
        if !within.isEmpty { body["within"] = .object(within) }
        if !condition.isEmpty { body["condition"] = .object(condition) }
        return body
    }

    static func json(_ status: HTTPStatusCode, _ value: JSONValue) -> HTTPResponse {
        let bytes = (try? CompactJSONEncoder.encode(value)) ?? Array("null".utf8)
        return HTTPResponse(statusCode: status, headers: [.contentType: "application/json", .cacheControl: "no-cache"], body: Data(bytes))
    }

    static func error(_ status: HTTPStatusCode, _ error: ErrorBody) -> HTTPResponse {
        let bytes = (try? CompactJSONEncoder.encode(error)) ?? Array("{}".utf8)
        return HTTPResponse(statusCode: status, headers: [.contentType: "application/json"], body: Data(bytes))
    }
}

extension RequestClient {
    /// One request, then the socket closed, on the calling thread.
    func requestClosing(type: String, body: JSONValue, timeoutMillis: Int64) throws -> (EnvelopeHead, [UInt8])? {
        defer { close() }
        return try request(type: type, body: body, timeoutMillis: timeoutMillis)
    }
}

/// A server-sent event stream as the bytes of a chunked body: the first event, then each event
/// the broadcaster sends, until the browser goes (the write fails and the stream is dropped).
struct EventBody: AsyncBufferedSequence {
    typealias Element = UInt8
    let first: [UInt8]
    let stream: AsyncStream<[UInt8]>

    func makeAsyncIterator() -> Iterator { Iterator(pending: first[...], base: stream.makeAsyncIterator()) }

    struct Iterator: AsyncBufferedIteratorProtocol {
        var pending: ArraySlice<UInt8>
        var base: AsyncStream<[UInt8]>.Iterator

        mutating func next() async throws -> UInt8? {
            if pending.isEmpty {
                guard let chunk = await base.next() else { return nil }
                pending = chunk[...]
            }
            return pending.popFirst()
        }

        mutating func nextBuffer(suggested count: Int) async throws -> ArraySlice<UInt8>? {
            if pending.isEmpty {
                guard let chunk = await base.next() else { return nil }
                pending = chunk[...]
            }
            let taken = pending.prefix(Swift.max(count, 1))
            pending = pending.dropFirst(taken.count)
            return taken
        }
    }
}
