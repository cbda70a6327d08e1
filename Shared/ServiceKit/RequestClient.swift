import DeliveryMessages
import Foundation
import ZeroMQ

/// A DEALER that sends requests to one or more ROUTER endpoints and waits for the matching reply
/// with a deadline. Owned by one thread, like its socket.
///
/// By default the DEALER connects to every endpoint and ZeroMQ spreads the requests. With
/// `failover`, it talks to one endpoint at a time, starting at a random one (so that many clients
/// spread), and `request` moves on to the next when one does not answer in its share of the
/// deadline or answers `unavailable`.
public final class RequestClient {
    public let endpoints: [String]
    private let context: Context
    private var socket: Socket
    private var counter: UInt64 = 0
    private let prefix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    private let failover: Bool
    private var current: Int
    private let configure: (Socket) throws -> Void

    /// `configure` runs on every socket the client makes, before it connects (CURVE keys).
    public init(
        context: Context, endpoints: [String], failover: Bool = false, configure: @escaping (Socket) throws -> Void = { _ in }
    ) throws {
        self.context = context
        self.endpoints = endpoints
        self.failover = failover && endpoints.count > 1
        self.configure = configure
        current = self.failover ? Int.random(in: 0..<endpoints.count) : 0
        socket = try Self.makeSocket(context, self.failover ? [endpoints[current]] : endpoints, configure)
    }

    /// The endpoints the socket is connected to now.
    public var connected: [String] { failover ? [endpoints[current]] : endpoints }

    private static func makeSocket(_ context: Context, _ endpoints: [String], _ configure: (Socket) throws -> Void) throws -> Socket {
        let socket = try Socket(context, .dealer)
        try socket.set([.linger(0), .reconnectInterval(100), .reconnectIntervalMax(1000), .immediate(true)])
        try configure(socket)
        for endpoint in endpoints { try socket.connect(endpoint) }
        return socket
    }

    /// The socket, for polling alongside others (`send` then `take`).
    public var pollable: Socket { socket }

    public func nextID() -> String {
        counter += 1
        return "\(prefix)-\(counter)"
    }

    /// Sends a request; returns its id, or nil when no peer is connected to take it (IMMEDIATE)
    /// within `waitMillis` (0: do not wait; a service loop then tries again on its next turn).
    public func send<Body: Codable & Sendable>(type: String, body: Body, id: String? = nil, waitMillis: Int32 = 0) throws -> String? {
        let id = id ?? nextID()
        return try sendRaw(Wire.encode(Envelope(type: type, id: .string(id), body: body)), waitMillis: waitMillis) ? id : nil
    }

    public func send<Body: Codable & Sendable>(type: MessageType, body: Body, id: String? = nil, waitMillis: Int32 = 0) throws -> String? {
        try send(type: type.rawValue, body: body, id: id, waitMillis: waitMillis)
    }

    /// Sends request bytes; false when no peer took them within `waitMillis`.
    @discardableResult
    public func sendRaw(_ bytes: [UInt8], waitMillis: Int32 = 0) throws -> Bool {
        do {
            try socket.send([[], bytes], wait: false)
            return true
        } catch let error where error.isWouldBlock {
            guard waitMillis > 0 else { return false }
            try socket.set(.sendTimeout(waitMillis))
            do {
                try socket.send([[], bytes])
                return true
            } catch let error where error.isWouldBlock {
                return false
            }
        }
    }

    /// Reads one reply of the internal links if one is waiting, parsed once, with the binary
    /// frame after it (nil when the reply has none, as an error reply). A reply that does not
    /// parse is dropped (nil: nothing usable is waiting).
    public func takeWithAttachment() throws -> (WireMessage, [UInt8]?)? {
        guard var frames = try socket.receive(wait: false) else { return nil }
        if frames.first?.isEmpty == true { frames.removeFirst() }
        guard let json = frames.first, case .success(let reply) = Wire.parse(json) else { return nil }
        return (reply, frames.count > 1 ? frames[1] : nil)
    }

    /// Reads one reply if one is waiting, parsed once.
    public func take() throws -> WireMessage? {
        guard let frames = try socket.receive(wait: false) else { return nil }
        guard let payload = frames.last, case .success(let reply) = Wire.parse(payload) else { return nil }
        return reply
    }

    /// Sends a request and waits up to `timeoutMillis` for the reply with its id; other replies
    /// (late answers to earlier requests) are dropped. Returns nil on time-out, after which the
    /// socket is made anew so that a late reply cannot be taken for the next one.
    public func request<Body: Codable & Sendable>(type: String, body: Body, timeoutMillis: Int64) throws -> WireMessage? {
        guard failover else { return try attempt(type: type, body: body, timeoutMillis: timeoutMillis) }
        let share = max(timeoutMillis / Int64(endpoints.count), 1)
        var last: WireMessage?
        for _ in endpoints {
            if let reply = try attempt(type: type, body: body, timeoutMillis: share) {
                guard reply.error?.code == .unavailable else { return reply }
                last = reply
            }
            current = (current + 1) % endpoints.count
            reset()
        }
        return last
    }

    public func request<Body: Codable & Sendable>(type: MessageType, body: Body, timeoutMillis: Int64) throws -> WireMessage? {
        try request(type: type.rawValue, body: body, timeoutMillis: timeoutMillis)
    }

    private func attempt<Body: Codable & Sendable>(type: String, body: Body, timeoutMillis: Int64) throws -> WireMessage? {
        // A connection may still be on its way: wait for it a little.
        guard let id = try send(type: type, body: body, waitMillis: Int32(min(timeoutMillis, 1000))) else {
            // Nobody is connected at this endpoint (it is down, or refuses this client).
            reset()
            return nil
        }
        let deadline = monotonicMillis() + timeoutMillis
        while true {
            let left = deadline - monotonicMillis()
            if left <= 0 { break }
            let ready = try Poller([socket]).poll(timeoutMilliseconds: Int(min(left, 100)))
            guard ready[0] else { continue }
            while let reply = try take() {
                if reply.head.id == .string(id) { return reply }
            }
        }
        reset()
        return nil
    }

    /// Drops the socket and any reply still due on it. The old socket is closed only once its
    /// successor exists: when no new socket can be made (the context is ending, no file
    /// descriptors), the client keeps the old one, whose late replies are told apart by id; it
    /// never holds a closed socket.
    public func reset() {
        guard let fresh = try? Self.makeSocket(context, connected, configure) else { return }
        socket.close()
        socket = fresh
    }

    public func close() {
        socket.close()
    }
}
