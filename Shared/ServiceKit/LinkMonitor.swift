import Logging
import Synchronization
import ZeroMQ

/// Watches a service's sockets through libzmq's socket monitor, on the service's thread:
/// - upstream links (a follower's SUB and DEALERs): each endpoint's state for `status`, and every
///   failed CURVE handshake logged with the reason (a wrong server key, a key not on the allow-list),
///   so that a follower that cannot get in says so instead of "catching up" in silence;
/// - a server's ROUTER: connections counted against a cap. Past the cap the oldest connection is
///   closed (logged), and an accept that fails (no file descriptors left) is logged, so that a flood
///   of idle clients neither starves the process of descriptors nor locks new clients out unseen.
public final class LinkMonitor {
    public enum Role {
        case upstream
        case server
        case publisher
    }

    private let context: Context
    private let logger: Logger
    private var watches: [(monitor: SocketMonitor, role: Role)] = []
    /// Each upstream endpoint's state.
    public private(set) var links: [String: String] = [:]
    /// Connections open on the watched servers.
    public private(set) var connections = 0
    /// Peers connected to the watched PUB (live subscribers, replicas, aggregates).
    public var subscribers: Int { subscriberConnections.count }
    private var subscriberConnections: Set<Int32> = []
    /// Connections closed because the cap was reached, and accepts that failed.
    public private(set) var refused = 0
    public private(set) var acceptFailures = 0
    public let maxConnections: Int
    /// At most one line every 10 s for each of what a flood repeats thousands of times a second.
    private var connectionWarnings = LogThrottle()
    private var handshakeWarnings = LogThrottle()
    /// The descriptors of the server's open connections, oldest first.
    private var open: [Int32] = []

    private static let counter = Atomic<Int>(0)

    public init(context: Context, logger: Logger, maxConnections: Int) {
        self.context = context
        self.logger = logger
        self.maxConnections = maxConnections
    }

    /// Watches a socket that connects to upstream `endpoints` (call before it connects).
    public func watchUpstream(_ socket: Socket, endpoints: [String]) throws {
        try watch(socket, role: .upstream)
        for endpoint in endpoints where links[endpoint] == nil { links[endpoint] = "connecting" }
    }

    /// Watches a bound ROUTER's connections.
    public func watchServer(_ socket: Socket) throws {
        try watch(socket, role: .server)
    }

    /// Watches a bound PUB's connections: `subscribers` counts them.
    public func watchPublisher(_ socket: Socket) throws {
        try watch(socket, role: .publisher)
    }

    private func watch(_ socket: Socket, role: Role) throws {
        let number = Self.counter.add(1, ordering: .relaxed).newValue
        let monitor = try SocketMonitor(context: context, watching: socket, address: "inproc://delivery-monitor-\(number)")
        watches.append((monitor, role))
    }

    /// Reads every event waiting; call once per loop turn.
    public func poll() {
        var stopped: [Int] = []
        for (index, watch) in watches.enumerated() {
            for event in watch.monitor.drain() {
                if event.kind == .stopped {
                    stopped.append(index)
                    break
                }
                switch watch.role {
                case .upstream: upstream(event)
                case .server: server(event)
                case .publisher: publisher(event)
                }
            }
        }
        for index in stopped.reversed() {
            watches[index].monitor.close()
            watches.remove(at: index)
        }
    }

    private func upstream(_ event: SocketMonitor.Event) {
        let old = links[event.endpoint]
        let failed = old?.hasPrefix("handshake failed") == true
        var new = old
        switch event.kind {
        case .connected, .handshakeSucceeded: new = "connected"
        case .connectDelayed, .connectRetried: if !failed { new = "connecting" }
        case .disconnected, .closed: if !failed { new = "disconnected" }
        case .handshakeFailed(let why): new = "handshake failed: \(why)"
        default: return
        }
        guard new != old else { return }
        links[event.endpoint] = new
        if case .handshakeFailed(let why) = event.kind {
            logger.error(
                "upstream refused the handshake; this link carries nothing until the keys agree",
                metadata: ["zmq.endpoint": "\(event.endpoint)", "reason": "\(why)"]
            )
        } else if failed, new == "connected" {
            logger.notice("upstream handshake succeeds again", metadata: ["zmq.endpoint": "\(event.endpoint)"])
        }
    }

    private func publisher(_ event: SocketMonitor.Event) {
        switch event.kind {
        case .accepted: subscriberConnections.insert(event.value)
        case .disconnected, .closed: subscriberConnections.remove(event.value)
        default: return
        }
    }

    private func server(_ event: SocketMonitor.Event) {
        switch event.kind {
        case .accepted:
            open.append(event.value)
            connections = open.count
            guard connections > maxConnections else { return }
            // Past the cap the oldest connection goes (under a flood of idle connections, the
            // oldest is the likeliest to be idle), so that a new client still gets in.
            let port = Self.port(of: event.endpoint)
            while open.count > maxConnections {
                let victim = open.removeFirst()
                // The descriptor is libzmq's; shutting it down makes libzmq close the connection.
                // Checked first: it must still be a connection to this server's port.
                guard let port, localPort(of: victim) == port else { continue }
                _ = shutdownSocket(victim)
                refused += 1
            }
            connections = open.count
            warn("connection limit reached; the oldest connections are closed", ["limit": "\(maxConnections)"])
        case .disconnected, .closed:
            if let index = open.lastIndex(of: event.value) { open.remove(at: index) }
            connections = open.count
        case .acceptFailed:
            acceptFailures += 1
            warn("cannot accept a connection", ["errno": "\(event.value)", "reason": "\(errnoText(event.value))"])
        case .handshakeFailed(let why):
            guard handshakeWarnings.due(now: monotonicMillis()) else { return }
            logger.warning(
                "a client failed the handshake",
                metadata: ["zmq.endpoint": "\(event.endpoint)", "reason": "\(why)", "failures": "\(handshakeWarnings.events)"]
            )
        default:
            break
        }
    }

    static func port(of endpoint: String) -> UInt16? {
        endpoint.split(separator: ":").last.flatMap { UInt16($0) }
    }

    /// At most one warning every 10 s for what a flood would repeat thousands of times a second.
    private func warn(_ message: Logger.Message, _ metadata: Logger.Metadata) {
        guard connectionWarnings.due(now: monotonicMillis()) else { return }
        var all = metadata
        all["connections"] = "\(connections)"
        all["refused"] = "\(refused)"
        all["acceptFailures"] = "\(acceptFailures)"
        logger.error(message, metadata: all)
    }

    /// A short line for `status` when an upstream link is refused, or nil.
    public var problem: String? {
        let failed = links.filter { $0.value.hasPrefix("handshake failed") }.sorted { $0.key < $1.key }
        guard let first = failed.first else { return nil }
        return "\(first.key): \(first.value)"
    }

    public func close() {
        for watch in watches { watch.monitor.close() }
        watches = []
    }
}

extension LinkMonitor {
    /// The SUB a follower reads its upstream's PUBs with: keyed for the upstream's CURVE key when
    /// there is one, watched, subscribed to `prefixes`, connected to every feed, and closed by
    /// `teardown`.
    public func upstreamFeed(
        _ context: Context, feeds: [String], prefixes: [String], curve: CurveSettings, serverKey: String?, teardown: Teardown
    ) throws -> Socket {
        let feed = try Socket(context, .sub)
        teardown.add(feed.close)
        try curve.secureClient(feed, serverKey: serverKey)
        try feed.set([.linger(0), .receiveHighWaterMark(100_000), .reconnectInterval(100), .reconnectIntervalMax(1000)])
        for prefix in prefixes { try feed.set(.subscribe(prefix)) }
        try watchUpstream(feed, endpoints: feeds)
        for endpoint in feeds { try feed.connect(endpoint) }
        return feed
    }

    /// What a follower's request socket for `endpoint` needs before it connects (every time it is
    /// made anew): the upstream's CURVE key, and this monitor watching it.
    public func upstreamClient(endpoint: String, curve: CurveSettings, serverKey: String?) -> (Socket) throws -> Void {
        { [self] socket in
            try curve.secureClient(socket, serverKey: serverKey)
            try watchUpstream(socket, endpoints: [endpoint])
        }
    }
}

/// One log line every `interval` ms at most for an event that may repeat without end; counts
/// every event.
struct LogThrottle {
    private var last: Int64 = .min / 2
    private(set) var events = 0
    let interval: Int64

    init(interval: Int64 = 10_000) { self.interval = interval }

    /// Counts the event; true when a line is due.
    mutating func due(now: Int64) -> Bool {
        events += 1
        guard now - last >= interval else { return false }
        last = now
        return true
    }
}
