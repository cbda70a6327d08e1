import DeliveryMessages
import ZeroMQ

/// One request read from a ROUTER: who sent it, whether it came in REQ/DEALER form (an empty
/// delimiter frame), and its JSON.
public struct RouterRequest {
    public let identity: [UInt8]
    public let delimited: Bool
    public let payload: [UInt8]
    /// The payload parsed, once, by `drainRouter`: bodies are decoded from it.
    public var message: JSONValue = .null

    /// Splits a ROUTER message. A message that is not [identity, (empty,) json] gets an error reply
    /// through `replyError` and yields nil.
    public static func read(_ frames: [[UInt8]], from socket: Socket, maxBytes: Int) -> (RouterRequest?, ProtocolError?) {
        guard frames.count >= 2 else { return (nil, nil) }
        let identity = frames[0]
        var rest = frames.dropFirst()
        var delimited = false
        if rest.first?.isEmpty == true {
            delimited = true
            rest = rest.dropFirst()
        }
        let shell = RouterRequest(identity: identity, delimited: delimited, payload: [])
        guard rest.count == 1, let payload = rest.first else {
            return (shell, ProtocolError(.badEnvelope, "a request is one frame of JSON (after an empty frame from a DEALER); got \(rest.count) frames"))
        }
        guard payload.count <= maxBytes else {
            return (shell, ProtocolError(.tooLarge, "the request is \(payload.count) bytes; the limit is \(maxBytes)", details: ["limit": .int(Int64(maxBytes))]))
        }
        return (RouterRequest(identity: identity, delimited: delimited, payload: payload), nil)
    }

    /// The request without its bytes: enough to reply, for a request kept while it waits.
    public var stripped: RouterRequest {
        RouterRequest(identity: identity, delimited: delimited, payload: [])
    }

    /// Sends a reply back the way the request came. A peer that has gone is not an error.
    public func reply(_ bytes: [UInt8], on socket: Socket) {
        let frames = delimited ? [identity, [], bytes] : [identity, bytes]
        do {
            try socket.send(frames, wait: false)
        } catch {
            // The peer disconnected or its queue is full: a reply cannot be delivered, and
            // a ROUTER drops it; nothing else to do.
        }
    }

    /// A reply of the internal links: the JSON envelope, then the binary frame.
    public func reply<Body: Codable & Sendable>(_ envelope: Envelope<Body>, attachment: [UInt8], on socket: Socket) {
        let head = Wire.encode(envelope)
        let frames = delimited ? [identity, [], head, attachment] : [identity, head, attachment]
        do {
            try socket.send(frames, wait: false)
        } catch {
            // As above: the peer is gone or its queue is full; it asks again.
        }
    }

    public func reply<Body: Codable & Sendable>(_ envelope: Envelope<Body>, on socket: Socket) {
        reply(Wire.encode(envelope), on: socket)
    }

    public func reply(_ error: ProtocolError, on socket: Socket) {
        reply(Wire.encode(error.envelope), on: socket)
    }
}
