import DeliveryMessages
import Foundation
import ServiceKit

/// A failure the client reports in one line and a non-zero exit status.
public struct ClientError: Error, CustomStringConvertible {
    public let description: String
    /// The service's error reply, when that is what failed.
    public let reply: ProtocolError?

    public init(_ description: String) {
        self.description = description
        reply = nil
    }

    /// A service's error reply as text: its code and message, and for a batch that failed as a
    /// whole each report's own error, read from `details.errors` by index and named by `place`
    /// (a submit names the report's place in its file).
    public init(_ error: ProtocolError, place: (Int) -> String = { "report \($0)" }) {
        reply = error
        var entries: [(index: Int, message: String)] = []
        if case .array(let list)? = error.details?["errors"] {
            for entry in list {
                if let message = entry["message"]?.stringValue, case .int(let index)? = entry["index"] {
                    entries.append((Int(index), message))
                }
            }
        }
        guard let first = entries.first else {
            description = "\(error.code.rawValue): \(error.message)"
            return
        }
        var count = entries.count
        if case .int(let total)? = error.details?["count"] { count = Int(total) }
        var text = "\(error.code.rawValue): "
        text += count == 1 ? "" : "\(count) reports are bad; the first: "
        text += "\(place(first.index)): \(first.message)"
        if entries.count > 1 {
            for entry in entries.prefix(20) { text += "\n  \(place(entry.index)): \(entry.message)" }
        }
        description = text
    }
}

/// Sends one request and returns the reply, or throws a readable error: the service's own error
/// reply, or a time-out that names the endpoint. `busy` replies are retried while the time allows,
/// after the wait the service asks for.
public func call<Body: Codable & Sendable>(
    _ client: RequestClient, type: String, body: Body, timeout: Int64
) throws -> WireMessage {
    let deadline = monotonicMillis() + timeout
    var answer = try client.request(type: type, body: body, timeoutMillis: timeout)
    while let error = answer?.error, error.code == .busy,
        case .int(let wait)? = error.details?["retryAfterMs"], monotonicMillis() + wait < deadline
    {
        usleep(UInt32(max(wait, 1)) * 1000)
        answer = try client.request(type: type, body: body, timeoutMillis: max(deadline - monotonicMillis(), 1))
    }
    guard let reply = answer else {
        throw ClientError("no reply from \(client.endpoints.joined(separator: " or ")) within \(timeout) ms; is the service running?")
    }
    if let error = reply.error {
        throw ClientError(ProtocolError(error.code, error.message, details: error.details, id: reply.head.id))
    }
    return reply
}

public func call<Body: Codable & Sendable>(
    _ client: RequestClient, type: MessageType, body: Body, timeout: Int64
) throws -> WireMessage {
    try call(client, type: type.rawValue, body: body, timeout: timeout)
}

/// Sends a typed query; returns its typed result and the reply's bytes (for `--json`).
public func ask<Query: QueryRequest>(
    _ client: RequestClient, _ query: Query, control: QueryControl = QueryControl(), timeout: Int64
) throws -> (result: Query.Result, reply: WireMessage) {
    let reply = try call(client, type: Query.kind.rawValue, body: QueryBody(query: query, control: control), timeout: timeout)
    switch Wire.reply(Query.Result.self, reply, expecting: Query.kind.resultType) {
    case .success(let result): return (result, reply)
    case .failure(let error): throw ClientError("unexpected reply: \(error.message)")
    }
}

/// Decodes a reply's body, or says the reply was not what was asked for.
public func decode<Body: Codable & Sendable>(_ type: Body.Type, _ reply: WireMessage) throws -> Body {
    switch reply.body(Body.self) {
    case .success(let body): return body
    case .failure(let error): throw ClientError("unexpected reply: \(error.message)")
    }
}

/// Pretty JSON of a reply's body, for `--json`.
public func prettyBody(_ reply: WireMessage) -> String {
    guard let body = reply.message["body"] else { return String(decoding: reply.bytes, as: UTF8.self) }
    return body.pretty()
}
