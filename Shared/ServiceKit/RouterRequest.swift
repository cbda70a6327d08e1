import Foundation
import Prometheus
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
    /// The request's type and when it was read, for the metrics (`RequestMetrics`).
    public var type = "unreadable"
    public var received: UInt64 = 0

    /// Splits a ROUTER message. A message that is not [identity, (empty,) json], or is too large,
    /// yields the request (to reply to) and the error to reply with; one without an identity yields nil.
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
        var request = RouterRequest(identity: identity, delimited: delimited, payload: [])
        request.type = type
        request.received = received
        return request
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
        RequestMetrics.shared.answered(type, outcome: "ok", since: received)
        let head = Wire.encode(envelope)
        let frames = delimited ? [identity, [], head, attachment] : [identity, head, attachment]
        do {
            try socket.send(frames, wait: false)
        } catch {
            // As above: the peer is gone or its queue is full; it asks again.
        }
    }

    /// A reply already written, with its outcome for the metrics (`ok` or the error code).
    public func reply(_ bytes: [UInt8], outcome: String, on socket: Socket) {
        RequestMetrics.shared.answered(type, outcome: outcome, since: received)
        reply(bytes, on: socket)
    }

    public func reply<Body: Codable & Sendable>(_ envelope: Envelope<Body>, on socket: Socket) {
        RequestMetrics.shared.answered(type, outcome: "ok", since: received)
        reply(Wire.encode(envelope), on: socket)
    }

    public func reply(_ error: ProtocolError, on socket: Socket) {
        RequestMetrics.shared.answered(type, outcome: error.code.rawValue, since: received)
        reply(Wire.encode(error.envelope), on: socket)
    }
}

/// Requests answered, by type and outcome, and how long each took from being read to being
/// answered: kept in the process's `Observability` once a service installs one.
public final class RequestMetrics: @unchecked Sendable {
    public static let shared = RequestMetrics()
    private let lock = NSLock()
    private var observability: Observability?
    private var latency: [String: DurationHistogram] = [:]

    public func install(_ observability: Observability) {
        lock.withLock { self.observability = observability }
    }

    /// The label a request's type is counted under: a type of the protocol, or `unknown` for any
    /// other (what clients send must not add series: their number is fixed by the code).
    public static func typeLabel(_ type: String) -> String {
        MessageType(rawValue: type) != nil || QueryKind(rawValue: type) != nil ? type : "unknown"
    }

    /// The label an outcome is counted under: `ok`, an error code of the protocol, or `unknown`.
    public static func outcomeLabel(_ outcome: String) -> String {
        outcome == "ok" || ErrorCode(rawValue: outcome) != nil ? outcome : "unknown"
    }

    func answered(_ rawType: String, outcome rawOutcome: String, since received: UInt64) {
        guard let observability = lock.withLock({ self.observability }) else { return }
        let type = Self.typeLabel(rawType), outcome = Self.outcomeLabel(rawOutcome)
        observability.requests(type, outcome).increment()
        guard received > 0 else { return }
        let histogram = lock.withLock {
            if let known = latency[type] { return known }
            let made = observability.registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(
                    metricName: "delivery_request_seconds", unitName: "",
                    helpText: "Time from reading a request to answering it (for submit: the durable ack), by type."
                ),
                labels: [("type", type)],
                buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5].map { .milliseconds(Int64($0 * 1000)) }
            )
            latency[type] = made
            return made
        }
        histogram.record(.nanoseconds(Int64(monotonicNanosNow() - received)))
    }
}

/// Monotonic time in nanoseconds.
public func monotonicNanosNow() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}
