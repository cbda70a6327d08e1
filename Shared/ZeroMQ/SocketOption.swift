import CZeroMQ

/// The typed socket options of this layer. Each maps to one libzmq option.
public enum SocketOption: Sendable {
    /// How long unsent messages linger after close, in milliseconds (-1: forever).
    case linger(Int32)
    case sendHighWaterMark(Int32)
    case receiveHighWaterMark(Int32)
    /// Milliseconds a blocking send or receive waits before EAGAIN (-1: forever).
    case sendTimeout(Int32)
    case receiveTimeout(Int32)
    case subscribe([UInt8])
    case unsubscribe([UInt8])
    /// ROUTER: fail with EHOSTUNREACH instead of dropping a message for an unknown peer.
    case routerMandatory(Bool)
    case reconnectInterval(Int32)
    case reconnectIntervalMax(Int32)
    /// ZMTP heartbeats: interval, timeout and remote TTL in milliseconds.
    case heartbeatInterval(Int32)
    case heartbeatTimeout(Int32)
    case heartbeatTTL(Int32)
    /// The largest inbound message the socket accepts; a peer that sends more is disconnected.
    case maxMessageSize(Int64)
    /// Queue messages only to completed connections.
    case immediate(Bool)
    case identity([UInt8])
    /// XPUB: pass every subscription message up, duplicates included.
    case xpubVerbose(Bool)
    /// REQ: allow a new request when a reply never came, and match replies to requests.
    case requestRelaxed(Bool)
    case requestCorrelate(Bool)
    /// CURVE: act as the server (with this side's secret key set), or as a client (with its own
    /// key pair and the server's public key). Keys are 40-character Z85 text.
    case curveServer(Bool)
    case curvePublicKey(String)
    case curveSecretKey(String)
    case curveServerKey(String)
    /// The ZAP domain, passed to the authentication handler.
    case zapDomain(String)

    public static func subscribe(_ prefix: String) -> SocketOption { .subscribe(Array(prefix.utf8)) }
    public static func unsubscribe(_ prefix: String) -> SocketOption { .unsubscribe(Array(prefix.utf8)) }

    enum Value {
        case int(Int32, Int32)
        case int64(Int32, Int64)
        case bytes(Int32, [UInt8])
    }

    var value: Value {
        switch self {
        case .linger(let v): .int(ZMQ_LINGER, v)
        case .sendHighWaterMark(let v): .int(ZMQ_SNDHWM, v)
        case .receiveHighWaterMark(let v): .int(ZMQ_RCVHWM, v)
        case .sendTimeout(let v): .int(ZMQ_SNDTIMEO, v)
        case .receiveTimeout(let v): .int(ZMQ_RCVTIMEO, v)
        case .subscribe(let v): .bytes(ZMQ_SUBSCRIBE, v)
        case .unsubscribe(let v): .bytes(ZMQ_UNSUBSCRIBE, v)
        case .routerMandatory(let v): .int(ZMQ_ROUTER_MANDATORY, v ? 1 : 0)
        case .reconnectInterval(let v): .int(ZMQ_RECONNECT_IVL, v)
        case .reconnectIntervalMax(let v): .int(ZMQ_RECONNECT_IVL_MAX, v)
        case .heartbeatInterval(let v): .int(ZMQ_HEARTBEAT_IVL, v)
        case .heartbeatTimeout(let v): .int(ZMQ_HEARTBEAT_TIMEOUT, v)
        case .heartbeatTTL(let v): .int(ZMQ_HEARTBEAT_TTL, v)
        case .maxMessageSize(let v): .int64(ZMQ_MAXMSGSIZE, v)
        case .immediate(let v): .int(ZMQ_IMMEDIATE, v ? 1 : 0)
        case .identity(let v): .bytes(ZMQ_ROUTING_ID, v)
        case .xpubVerbose(let v): .int(ZMQ_XPUB_VERBOSE, v ? 1 : 0)
        case .requestRelaxed(let v): .int(ZMQ_REQ_RELAXED, v ? 1 : 0)
        case .requestCorrelate(let v): .int(ZMQ_REQ_CORRELATE, v ? 1 : 0)
        case .curveServer(let v): .int(ZMQ_CURVE_SERVER, v ? 1 : 0)
        case .curvePublicKey(let v): .bytes(ZMQ_CURVE_PUBLICKEY, Array(v.utf8))
        case .curveSecretKey(let v): .bytes(ZMQ_CURVE_SECRETKEY, Array(v.utf8))
        case .curveServerKey(let v): .bytes(ZMQ_CURVE_SERVERKEY, Array(v.utf8))
        case .zapDomain(let v): .bytes(ZMQ_ZAP_DOMAIN, Array(v.utf8))
        }
    }
}
