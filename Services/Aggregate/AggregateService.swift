import DeliveryCore
import DeliveryMessages
import Foundation
import Logging
import ServiceKit
import ZeroMQ

/// The settings of one aggregate instance.
enum AggregateService {
    struct Settings: Sendable {
        var publish: String
        var bind: String
        var ingestEndpoints: [String]
        var ingestFeeds: [String]
        var groups: Set<String>
        var instance: String
        var maxRequestBytes: Int
        var publishHighWaterMark: Int32
        var curve: CurveSettings
        /// The ingest instances' CURVE public key, when they run with CURVE.
        var ingestPublicKey: String?
        var maxConnections: Int
    }
}

/// The aggregate loop and everything it owns, on its thread: follows every ingest stream in order,
/// keeps every figure in a `FigureBook`, publishes each changed figure and serves snapshots.
struct AggregateState {
    let settings: AggregateService.Settings
    let logger: Logger
    let started = monotonicMillis()
    var book = FigureBook()
    /// Last applied seq per ingest stream.
    var positions: [String: UInt64] = [:]
    /// Reports whose entity the catalog does not know yet (a catalog put on another ingest
    /// stream may still be on its way); applied after the next catalog change.
    var waiting: [(DeliveryReport, String, UInt64)] = []
    var skipped = 0
    /// Stored events that could not be applied: counted, the latest kept for `status`.
    var setAsideLog = SetAsideLog()
    /// Snapshot requests waiting their turn (one is answered per loop turn, so that snapshots
    /// never starve the live feed), and the last snapshot built, reused while nothing changed.
    var snapshotQueue: [(request: RouterRequest, id: JSONValue, prefix: String)] = []
    var snapshotCache: (prefix: String, seq: UInt64, body: SnapshotResult)?
    static let snapshotQueueLimit = 32

    init(settings: AggregateService.Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    static let serves = [MessageType.snapshot, MessageType.status, MessageType.ping]
    static let requestTimeout: Int64 = 3000

    mutating func run(stop: StopFlag) throws {
        let context = try Context()
        let teardown = Teardown()
        defer {
            // Whatever way the loop ends (a port taken, a bad key): every socket closed, then the
            // context, so that the process exits instead of waiting in zmq_ctx_term.
            teardown.run()
            context.terminate()
        }
        let zap = try settings.curve.allowed.map { try ZapHandler(context: context, allowed: $0, logger: logger) }
        if let zap { teardown.add(zap.close) }
        let epoch = String(UInt64(wallMillis()), radix: 36)
        let publisher = try Publisher(
            context: context, endpoint: settings.publish, stream: "aggregate-\(settings.instance)-\(epoch)",
            highWaterMark: settings.publishHighWaterMark, curve: settings.curve
        )
        teardown.add(publisher.close)
        let router = try makeRouter(context, bind: settings.bind, maxBytes: settings.maxRequestBytes, curve: settings.curve)
        teardown.add(router.close)
        let monitor = LinkMonitor(context: context, logger: logger, maxConnections: settings.maxConnections)
        teardown.add(monitor.close)
        try monitor.watchServer(router)
        let feed = try monitor.upstreamFeed(
            context, feeds: settings.ingestFeeds, prefixes: ["report.", Topic.catalog, Topic.heartbeat], curve: settings.curve,
            serverKey: settings.ingestPublicKey, teardown: teardown
        )
        var followers: [IngestFollower] = []
        for endpoint in settings.ingestEndpoints {
            let configure = monitor.upstreamClient(endpoint: endpoint, curve: settings.curve, serverKey: settings.ingestPublicKey)
            let follower = try IngestFollower(context: context, endpoint: endpoint, configure: configure)
            teardown.add(follower.client.close)
            followers.append(follower)
        }
        logger.info(
            "aggregate starting",
            metadata: ["stream": "\(publisher.stream)", "zmq.endpoint": "\(settings.bind)", "zmq.publish": "\(settings.publish)"]
        )
        var wasReady = false

        while !stop.isSet {
            // Made anew each turn: a follower whose request timed out has a new socket.
            let poller = Poller([router, feed] + followers.map(\.client.pollable) + (zap.map { [$0.socket] } ?? []))
            let ready = try poller.poll(timeoutMilliseconds: snapshotQueue.isEmpty ? 100 : 0)
            if let zap, ready[ready.count - 1] { zap.handle() }
            monitor.poll()
            if ready[1] { drainFeed(feed, followers: followers, publisher: publisher) }
            for (index, follower) in followers.enumerated() where ready[2 + index] {
                takeReplies(follower, publisher: publisher)
            }
            for follower in followers { try tend(follower) }
            let isReady = followers.allSatisfy(\.caughtUp)
            if isReady && !wasReady {
                logger.info("aggregate ready", metadata: ["figures": "\(book.figureCount)", "positions": "\(positions)"])
                wasReady = true
            }
            if ready[0] {
                drainRouter(router, maxBytes: settings.maxRequestBytes, logger: logger, stop: stop) { request, head in
                    handle(request, head, router: router, publisher: publisher, ready: isReady, monitor: monitor)
                }
            }
            serveOneSnapshot(router: router, publisher: publisher)
            publisher.heartbeatIfIdle(positions: positions)
        }
    }

    // MARK: Following ingest

    /// Sends what a follower needs next: its status, or a replay after a gap; drops a request
    /// that took too long.
    mutating func tend(_ follower: IngestFollower) throws {
        guard monotonicMillis() >= follower.backoffUntil else { return }
        if let pending = follower.pending {
            guard monotonicMillis() - pending.sentAt > Self.requestTimeout else { return }
            logger.debug("ingest request timed out", metadata: ["zmq.endpoint": "\(follower.endpoint)"])
            follower.client.reset()
            follower.pending = nil
        }
        if let stream = follower.stream {
            if follower.replayWanted { try follower.askReplay(from: (positions[stream] ?? 0) + 1) }
        } else {
            try follower.askStatus()
        }
    }

    mutating func takeReplies(_ follower: IngestFollower, publisher: Publisher) {
        while let (head, bytes) = try? follower.client.take() {
            guard let pending = follower.pending, head.id == .string(pending.id) else { continue }
            follower.pending = nil
            switch pending {
            case .status:
                guard case .success(let status) = Wire.decodeBody(StatusResult.self, from: bytes),
                    let stream = status.streams.first
                else {
                    logger.warning("unexpected status reply", metadata: ["zmq.endpoint": "\(follower.endpoint)"])
                    continue
                }
                follower.stream = stream
                let last = status.positions[stream] ?? 0
                if (positions[stream] ?? 0) < last {
                    follower.replayWanted = true
                } else {
                    positions[stream] = positions[stream] ?? 0
                    follower.caughtUp = true
                }
            case .replay:
                let result: ReplayResult
                switch Wire.decodeBody(ReplayResult.self, from: bytes) {
                case .success(let decoded):
                    result = decoded
                    follower.failures = 0
                case .failure(let error):
                    // An error reply or a reply that does not read: ask again later, not at once.
                    follower.failures += 1
                    follower.backoffUntil = monotonicMillis() + min(100 << min(follower.failures, 6), 5000)
                    logger.warning(
                        "replay failed; asking again after a pause",
                        metadata: [
                            "zmq.endpoint": "\(follower.endpoint)", "error": "\(error.message)",
                            "from": "\((positions[follower.stream ?? ""] ?? 0) + 1)", "failures": "\(follower.failures)",
                        ]
                    )
                    follower.replayWanted = true
                    continue
                }
                for event in result.events {
                    apply(event, publisher: publisher)
                }
                if (positions[result.stream] ?? 0) < result.last {
                    follower.replayWanted = true
                } else {
                    follower.caughtUp = true
                }
            }
        }
    }

    mutating func drainFeed(_ feed: Socket, followers: [IngestFollower], publisher: Publisher) {
        for _ in 0..<1000 {
            guard let frames = try? feed.receive(wait: false) else { return }
            guard frames.count == 2, case .success(let (head, message)) = Wire.parse(frames[1]),
                let stream = head.stream, let seq = head.seq,
                let follower = followers.first(where: { $0.stream == stream })
            else { continue }
            let applied = positions[stream] ?? 0
            if head.type == MessageType.heartbeat {
                if seq > applied && follower.pending == nil { follower.replayWanted = true }
                continue
            }
            if seq <= applied { continue }
            guard seq == applied + 1, follower.caughtUp, follower.pending == nil else {
                // A gap, or a catch-up still under way: the log has it; replay from there.
                follower.replayWanted = follower.pending == nil
                continue
            }
            switch head.type {
            case MessageType.reportAccepted:
                if case .success(let event) = Wire.decodeBody(ReportAcceptedEvent.self, in: message) {
                    apply(LoggedEvent(type: head.type, stream: stream, seq: seq, topic: "", report: event.report, catalog: nil), publisher: publisher)
                }
            case MessageType.catalogAccepted:
                if case .success(let event) = Wire.decodeBody(CatalogAcceptedEvent.self, in: message) {
                    apply(LoggedEvent(type: head.type, stream: stream, seq: seq, topic: "", report: nil, catalog: event.catalog), publisher: publisher)
                }
            default:
                continue
            }
        }
    }

    // MARK: Applying

    /// Applies the next event of a stream. No event stops the aggregate: one that cannot be
    /// applied (unreadable in the log, out of range, a catalog that does not merge) is set aside,
    /// named in the log and in `status`, and the stream goes on past it.
    mutating func apply(_ event: LoggedEvent, publisher: Publisher) {
        let applied = positions[event.stream] ?? 0
        guard event.seq == applied + 1 else { return }
        positions[event.stream] = event.seq
        if let problem = event.problem {
            setAside(event.stream, event.seq, "unreadable in the log: \(problem)")
            return
        }
        if let report = event.report {
            if let reason = ReportValidator.unusable(report) {
                setAside(event.stream, event.seq, "report '\(report.id)': \(reason)")
                return
            }
            apply(report, stream: event.stream, seq: event.seq, publisher: publisher)
        } else if let document = event.catalog {
            do {
                try book.apply(catalog: document)
            } catch {
                setAside(event.stream, event.seq, "the catalog document does not merge: \(error.message)")
                return
            }
            // The change only: followers hold the rest from their snapshot.
            publisher.publish(
                topic: Topic.catalog, type: MessageType.catalogAccepted,
                body: CatalogAcceptedEvent(catalog: document, stream: event.stream, seq: event.seq)
            )
            let retry = waiting
            waiting = []
            for (report, stream, seq) in retry {
                apply(report, stream: stream, seq: seq, publisher: publisher, marker: false)
            }
        }
    }

    mutating func setAside(_ stream: String, _ seq: UInt64, _ reason: String) {
        setAsideLog.record(stream, seq, reason, logger: logger)
    }

    mutating func apply(_ report: DeliveryReport, stream: String, seq: UInt64, publisher: Publisher, marker: Bool = true) {
        let owned = settings.groups.isEmpty || settings.groups.contains(report.entity.path.first ?? "market")
        if owned {
            if book.catalog.contains(EntityKey(report.entity.level, report.entity.id)) {
                for change in book.apply(report, stream: stream, seq: seq) {
                    guard let body = book.body(change) else { continue }
                    publisher.publish(topic: body.entity.topic("figure"), type: MessageType.figureChanged, body: body)
                }
            } else {
                waiting.append((report, stream, seq))
            }
        } else {
            skipped += 1
        }
        if marker {
            // After the figures: a follower that sees this has every figure of the report.
            publisher.publish(
                topic: report.entity.topic("report"), type: MessageType.reportAccepted,
                body: ReportAcceptedEvent(report: report, stream: stream, seq: seq)
            )
        }
    }

    // MARK: Requests

    mutating func handle(
        _ request: RouterRequest, _ head: EnvelopeHead, router: Socket, publisher: Publisher, ready: Bool, monitor: LinkMonitor
    ) {
        switch head.type {
        case MessageType.ping:
            if ready {
                request.reply(pong(head, service: "aggregate", instance: settings.instance), on: router)
            } else {
                request.reply(ProtocolError(.unavailable, "catching up with the ingest logs", id: head.id), on: router)
            }
        case MessageType.status:
            let body = StatusResult(
                service: "aggregate", version: serviceVersion, instance: settings.instance,
                streams: [publisher.stream], positions: positions.merging([publisher.stream: publisher.seq]) { $1 },
                counts: [
                    "figures": book.figureCount, "reports": book.reportCount, "waiting": waiting.count,
                    "notOwned": skipped, "setAside": setAsideLog.count, "snapshotsQueued": snapshotQueue.count,
                    "connections": monitor.connections, "refusedConnections": monitor.refused,
                ],
                uptimeSeconds: Double(monotonicMillis() - started) / 1000, ready: ready,
                endpoints: ["bind": settings.bind, "publish": settings.publish],
                problem: monitor.problem ?? (ready ? nil : "catching up with the ingest logs"),
                setAside: setAsideLog.latest, links: monitor.links
            )
            request.reply(Envelope(type: MessageType.statusResult, id: head.id, body: body), on: router)
        case MessageType.snapshot:
            guard ready else {
                request.reply(ProtocolError(.unavailable, "catching up with the ingest logs; ask again", id: head.id), on: router)
                return
            }
            switch Wire.decodeBody(SnapshotRequest.self, in: request.message, id: head.id, code: .invalidQuery) {
            case .failure(let error):
                request.reply(error, on: router)
            case .success(let query):
                guard snapshotQueue.count < Self.snapshotQueueLimit else {
                    request.reply(busy("\(snapshotQueue.count) snapshots are queued", id: head.id), on: router)
                    return
                }
                snapshotQueue.append((request.stripped, head.id, query.prefix ?? ""))
            }
        default:
            request.reply(unknownType(head, serves: Self.serves), on: router)
        }
    }

    /// Answers the oldest queued snapshot request: one per loop turn, so that the live feed and
    /// the followers are served between snapshots. A snapshot of the same prefix at the same
    /// position is built once.
    mutating func serveOneSnapshot(router: Socket, publisher: Publisher) {
        guard !snapshotQueue.isEmpty else { return }
        let (request, id, prefix) = snapshotQueue.removeFirst()
        let body: SnapshotResult
        if let cached = snapshotCache, cached.prefix == prefix, cached.seq == publisher.seq {
            body = cached.body
        } else {
            let figures = book.keys.compactMap { book.body($0, previous: nil) }
                .filter { prefix.isEmpty || $0.entity.topic("figure").hasPrefix(prefix) }
            body = SnapshotResult(
                figures: figures, positions: [publisher.stream: publisher.seq], upstream: positions,
                catalog: book.catalog.document
            )
            snapshotCache = (prefix, publisher.seq, body)
        }
        request.reply(Envelope(type: MessageType.snapshotResult, id: id, body: body), on: router)
    }
}
