import CZeroMQ

/// What happens on a socket's connections, as `zmq_socket_monitor` reports it: connects and
/// disconnects, accepts (and accepts that failed, e.g. for want of file descriptors), and CURVE
/// handshakes that succeeded or failed. Read on the thread that owns the watched socket.
public final class SocketMonitor {
    /// One monitor event.
    public struct Event: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            case connected, connectDelayed, connectRetried, listening, bindFailed, accepted, acceptFailed, closed
            case disconnected, stopped, handshakeSucceeded
            /// The peer refused the handshake or sent one that does not check out.
            case handshakeFailed(String)
            case other(UInt16)
        }

        public var kind: Kind
        /// The event's value: a file descriptor for `accepted`, an errno for failures.
        public var value: Int32
        /// The endpoint the event is about.
        public var endpoint: String
    }

    private let pair: Socket
    public let address: String

    /// Watches `socket` for every event; `address` must be a fresh `inproc://` name.
    public init(context: Context, watching socket: Socket, address: String) throws(ZMQError) {
        let watched = socket.raw
        try zmqCall("zmq_socket_monitor") { zmq_socket_monitor(watched, address, ZMQ_EVENT_ALL) }
        pair = try Socket(context, .pair)
        try pair.set(.linger(0))
        try pair.connect(address)
        self.address = address
    }

    /// The next event if one is waiting.
    public func next() -> Event? {
        guard let frames = try? pair.receive(wait: false), frames.count >= 2, frames[0].count >= 6 else { return nil }
        let head = frames[0]
        let code = UInt16(head[0]) | UInt16(head[1]) << 8
        let value = Int32(bitPattern: UInt32(head[2]) | UInt32(head[3]) << 8 | UInt32(head[4]) << 16 | UInt32(head[5]) << 24)
        let endpoint = String(decoding: frames[1], as: UTF8.self)
        return Event(kind: Self.kind(code, value), value: value, endpoint: endpoint)
    }

    /// Every event waiting.
    public func drain() -> [Event] {
        var events: [Event] = []
        while let event = next() { events.append(event) }
        return events
    }

    static func kind(_ code: UInt16, _ value: Int32) -> Event.Kind {
        switch Int32(code) {
        case ZMQ_EVENT_CONNECTED: .connected
        case ZMQ_EVENT_CONNECT_DELAYED: .connectDelayed
        case ZMQ_EVENT_CONNECT_RETRIED: .connectRetried
        case ZMQ_EVENT_LISTENING: .listening
        case ZMQ_EVENT_BIND_FAILED: .bindFailed
        case ZMQ_EVENT_ACCEPTED: .accepted
        case ZMQ_EVENT_ACCEPT_FAILED: .acceptFailed
        case ZMQ_EVENT_CLOSED: .closed
        case ZMQ_EVENT_DISCONNECTED: .disconnected
        case ZMQ_EVENT_MONITOR_STOPPED: .stopped
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: .handshakeSucceeded
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: .handshakeFailed("no detail (errno \(value))")
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: .handshakeFailed(protocolFailure(value))
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            .handshakeFailed(value == 400 ? "refused by the server (its allow-list does not hold this key)" : "refused (status \(value))")
        default: .other(code)
        }
    }

    static func protocolFailure(_ value: Int32) -> String {
        switch value {
        case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: "the peers disagree on security (one side has CURVE, the other not)"
        case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: "the keys do not match (a wrong server public key?)"
        default: "protocol error \(value)"
        }
    }

    public func close() {
        pair.close()
    }
}
