import DeliveryMessages
import Logging
import ZeroMQ

/// What every service's ROUTER and PUB are set up with.
public struct ShellSettings: Sendable {
    public var bind: String
    public var publish: String
    public var maxRequestBytes: Int
    public var publishHighWaterMark: Int32
    public var curve: CurveSettings
    public var maxConnections: Int
    /// With CURVE on, whether clients must be allow-listed (ingest: only the listed keys write).
    public var requireClientKeys: Bool
    /// Whether the PUB keeps its subscribers' topics (an XPUB) and leaves unencoded what no one
    /// subscribed to (`Publisher.tracksSubscriptions`).
    public var publishOnlySubscribed: Bool

    public init(
        bind: String, publish: String, maxRequestBytes: Int, publishHighWaterMark: Int32, curve: CurveSettings, maxConnections: Int,
        requireClientKeys: Bool = false, publishOnlySubscribed: Bool = false
    ) {
        self.publishOnlySubscribed = publishOnlySubscribed
        self.bind = bind
        self.publish = publish
        self.maxRequestBytes = maxRequestBytes
        self.publishHighWaterMark = publishHighWaterMark
        self.curve = curve
        self.maxConnections = maxConnections
        self.requireClientKeys = requireClientKeys
    }
}

/// The part of a service loop that every service has, written once: the context, ZAP, the
/// ROUTER and its requests, the PUB, the link monitor, upstream feeds and clients, the wait of
/// each turn (by named handles), and the close sequence. A service supplies its request set, its
/// handlers and its state.
///
/// Made and used on the service's loop thread. `close` (or a failed `init`) closes every socket,
/// then the context, so that the process never waits in `zmq_ctx_term`.
public final class ServiceShell<Requests: RequestSet> {
    public let context: Context
    public let router: Socket
    public let publisher: Publisher
    public let monitor: LinkMonitor
    public let settings: ShellSettings
    private let zap: ZapHandler?
    private let teardown: Teardown
    private let logger: Logger
    private var trim = MemoryTrim()
    private var wasReady = false

    public init(stream: String, startingAfter: UInt64 = 0, settings: ShellSettings, logger: Logger) throws {
        let context = try Context()
        let teardown = Teardown()
        do {
            // The ZAP handler is in place before any socket binds.
            var zap: ZapHandler?
            if settings.curve.isOn {
                if let allowed = settings.curve.allowed {
                    let handler = try ZapHandler(context: context, allowed: allowed, logger: logger)
                    teardown.add(handler.close)
                    zap = handler
                } else if settings.requireClientKeys {
                    throw SettingError("CURVE here needs DELIVERY_CURVE_CLIENTS: the public keys allowed in")
                }
            }
            let router = try makeRouter(context, bind: settings.bind, maxBytes: settings.maxRequestBytes, curve: settings.curve)
            teardown.add(router.close)
            let monitor = LinkMonitor(context: context, logger: logger, maxConnections: settings.maxConnections)
            teardown.add(monitor.close)
            try monitor.watchServer(router)
            let publisher = try Publisher(
                context: context, endpoint: settings.publish, stream: stream, startingAfter: startingAfter,
                highWaterMark: settings.publishHighWaterMark, curve: settings.curve, tracksSubscriptions: settings.publishOnlySubscribed
            )
            teardown.add(publisher.close)
            try monitor.watchPublisher(publisher.socket)
            self.zap = zap
            self.router = router
            self.monitor = monitor
            self.publisher = publisher
        } catch {
            teardown.run()
            context.terminate()
            throw error
        }
        self.context = context
        self.teardown = teardown
        self.settings = settings
        self.logger = logger
    }

    /// Closes every socket the shell made or was given, then the context.
    public func close() {
        teardown.run()
        context.terminate()
    }

    /// A SUB following upstream PUBs (closed with the shell).
    public func upstreamFeed(_ feeds: [String], prefixes: [String], serverKey: String?) throws -> Socket {
        try monitor.upstreamFeed(context, feeds: feeds, prefixes: prefixes, curve: settings.curve, serverKey: serverKey, teardown: teardown)
    }

    /// A request client to one upstream ROUTER (closed with the shell).
    public func upstreamClient(_ endpoint: String, serverKey: String?) throws -> RequestClient {
        let client = try RequestClient(
            context: context, endpoints: [endpoint], configure: monitor.upstreamClient(endpoint: endpoint, curve: settings.curve, serverKey: serverKey)
        )
        teardown.add(client.close)
        return client
    }

    /// What woke one turn: requests on the ROUTER, and which of the service's own sockets.
    public struct Wake<Handle: Hashable> {
        public var requests: Bool
        public var ready: Set<Handle>
        public var any: Bool { requests || !ready.isEmpty }
        public func contains(_ handle: Handle) -> Bool { ready.contains(handle) }
    }

    /// Waits up to `timeout` ms for the ROUTER or any of `sockets`; answers ZAP and reads the
    /// link monitor's events on the way.
    public func wait<Handle: Hashable>(for sockets: [(Handle, Socket)], timeout: Int) throws -> Wake<Handle> {
        var poller = Poller()
        let routerIndex = poller.add(router)
        let zapIndex = zap.map { poller.add($0.socket) }
        var handles: [Int: Handle] = [:]
        for (handle, socket) in sockets { handles[poller.add(socket)] = handle }
        let ready = try poller.poll(timeoutMilliseconds: timeout)
        if let zapIndex, ready[zapIndex] { zap?.handle() }
        monitor.poll()
        var wake = Wake<Handle>(requests: ready[routerIndex], ready: [])
        for (index, handle) in handles where ready[index] { wake.ready.insert(handle) }
        return wake
    }

    /// Reads the requests waiting on the ROUTER: each well-formed one of a type in `Requests` goes
    /// to `handle`; malformed ones and other types are answered here.
    public func serve(stop: StopFlag, handle: (RouterRequest, EnvelopeHead, Requests) -> Void) {
        drainRouter(router, maxBytes: settings.maxRequestBytes, logger: logger, stop: stop) { request, head in
            guard let kind = Requests(type: head.type) else {
                request.reply(unknownType(head, serves: Requests.served), on: router)
                return
            }
            handle(request, head, kind)
        }
    }

    /// Logs `message` the first time the service is ready.
    public func noteReady(_ ready: Bool, _ message: Logger.Message, _ metadata: @autoclosure () -> Logger.Metadata) {
        guard ready, !wasReady else { return }
        wasReady = true
        logger.info(message, metadata: metadata())
    }

    /// The end of every turn: a heartbeat when the PUB was idle, memory handed back when the
    /// service is idle after work, and the health the metrics endpoints report.
    public func endTurn(worked: Bool, observability: Observability, ready: Bool, problem: String?, positions: [String: UInt64]? = nil) {
        publisher.heartbeatIfIdle(positions: positions)
        if worked { trim.worked() } else { trim.idle() }
        observability.turned(ready: ready, problem: problem)
    }

    /// The standard reply to `ping`: `pong` when ready, else `unavailable` saying why.
    public func ping(_ request: RouterRequest, _ head: EnvelopeHead, service: String, instance: String, notReady: String?) {
        if let notReady {
            request.reply(ProtocolError(.unavailable, notReady, id: head.id), on: router)
        } else {
            request.reply(pong(head, service: service, instance: instance), on: router)
        }
    }

    /// A `status` body with what every service says: its PUB's stream and seq beside `positions`,
    /// the connection counts beside `counts`, uptime, endpoints and links.
    public func status(
        service: String, instance: String, started: Int64, ready: Bool, problem: String?, positions: [String: UInt64], counts: [String: Int]
    ) -> StatusResult {
        StatusResult(
            service: service, version: serviceVersion, instance: instance, streams: [publisher.stream],
            positions: positions.merging([publisher.stream: publisher.seq]) { $1 },
            counts: counts.merging(["connections": monitor.connections, "refusedConnections": monitor.refused]) { $1 },
            uptimeSeconds: Double(monotonicMillis() - started) / 1000, ready: ready,
            endpoints: ["bind": settings.bind, "publish": settings.publish], problem: problem, links: monitor.links
        )
    }
}

/// A service as the driver runs it (`ServiceShell.drive`): what it waits on besides its ROUTER,
/// how long, one turn, and what it does once stopped. The shell owns the ROUTER, the PUB and
/// the loop; a service's state says what a turn does.
public protocol ServiceLoop {
    associatedtype Requests: RequestSet
    associatedtype Handle: Hashable
    /// The sockets to wait on this turn besides the ROUTER: listed anew each turn, so that a
    /// socket made anew (after a request timed out) is waited on from the next.
    var handles: [(Handle, Socket)] { get }
    /// How long a turn waits when nothing arrives (0 while work is queued).
    var waitMillis: Int { get }
    mutating func turn(_ wake: ServiceShell<Requests>.Wake<Handle>, shell: ServiceShell<Requests>, stop: StopFlag) throws
    /// After the last turn (SIGTERM): save what must be saved.
    mutating func stopped()
}

extension ServiceLoop {
    public mutating func stopped() {}
}

extension ServiceShell {
    /// Runs a service's turns until `stop`: wait (its sockets and the ROUTER), turn, again.
    public func drive<Loop: ServiceLoop>(_ loop: inout Loop, stop: StopFlag) throws where Loop.Requests == Requests {
        while !stop.isSet {
            let wake = try wait(for: loop.handles, timeout: loop.waitMillis)
            try loop.turn(wake, shell: self, stop: stop)
        }
        loop.stopped()
    }
}
