import DeliveryMessages
import Foundation
import ZeroMQ

/// A DEALER that sends requests to one or more ROUTER endpoints and waits for the matching reply
/// with a deadline. Owned by one thread, like its socket.
public final class RequestClient {
    public let endpoints: [String]
    private let context: Context
    private var socket: Socket
    private var counter: UInt64 = 0
    private let prefix = String(UInt64.random(in: 0...UInt64.max), radix: 36)

    public init(context: Context, endpoints: [String]) throws {
        self.context = context
        self.endpoints = endpoints
        socket = try Self.makeSocket(context, endpoints)
    }

    private static func makeSocket(_ context: Context, _ endpoints: [String]) throws -> Socket {
        let socket = try Socket(context, .dealer)
        try socket.set([.linger(0), .reconnectInterval(100), .reconnectIntervalMax(1000), .immediate(true)])
        for endpoint in endpoints { try socket.connect(endpoint) }
        return socket
    }

    /// The socket, for polling alongside others (`send` then `take`).
    public var pollable: Socket { socket }

    public func nextID() -> String {
        counter += 1
        return "\(prefix)-\(counter)"
    }

    /// Sends a request without waiting; returns its id.
    @discardableResult
    public func send<Body: Codable & Sendable>(type: String, body: Body, id: String? = nil) throws -> String {
        let id = id ?? nextID()
        try sendRaw(Wire.encode(Envelope(type: type, id: .string(id), body: body)))
        return id
    }

    public func sendRaw(_ bytes: [UInt8]) throws {
        do {
            try socket.send([[], bytes], wait: false)
        } catch let error where error.isWouldBlock {
            // No peer connected yet (IMMEDIATE): wait on the send a little.
            try socket.set(.sendTimeout(1000))
            try socket.send([[], bytes])
        }
    }

    /// Reads one reply if one is waiting: its head and bytes.
    public func take() throws -> (EnvelopeHead, [UInt8])? {
        guard let frames = try socket.receive(wait: false) else { return nil }
        guard let payload = frames.last else { return nil }
        guard case .success(let head) = Wire.decodeHead(payload) else { return nil }
        return (head, payload)
    }

    /// Sends a request and waits up to `timeoutMillis` for the reply with its id; other replies
    /// (late answers to earlier requests) are dropped. Returns nil on time-out, after which the
    /// socket is made anew so that a late reply cannot be taken for the next one.
    public func request<Body: Codable & Sendable>(type: String, body: Body, timeoutMillis: Int64) throws -> (EnvelopeHead, [UInt8])? {
        let id = try send(type: type, body: body)
        let deadline = monotonicMillis() + timeoutMillis
        while true {
            let left = deadline - monotonicMillis()
            if left <= 0 { break }
            let ready = try Poller([socket]).poll(timeoutMilliseconds: Int(min(left, 100)))
            guard ready[0] else { continue }
            while let (head, bytes) = try take() {
                if head.id == .string(id) { return (head, bytes) }
            }
        }
        reset()
        return nil
    }

    /// Drops the socket and any reply still due on it.
    public func reset() {
        socket.close()
        if let fresh = try? Self.makeSocket(context, endpoints) { socket = fresh }
    }

    public func close() {
        socket.close()
    }
}
