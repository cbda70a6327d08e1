import DeliveryCore
import DeliveryMessages
import Foundation
import Logging
import Prometheus
import ServiceKit
import ZeroMQ

/// The settings of one query replica.
enum QueryService {
    struct Settings: Sendable {
        /// The ROUTER, PUB, limits and CURVE every service has.
        var shell: ShellSettings
        var aggregateEndpoints: [String]
        var aggregateFeeds: [String]
        var instance: String
        /// The aggregates' CURVE public key, when they run with CURVE.
        var aggregatePublicKey: String?
        /// The most bytes of requests held while they wait for their `after` positions.
        var maxWaitingBytes: Int
        /// Figures per part of the aggregates' chunked snapshots.
        var snapshotChunk: Int
        /// The most figures a batch may change and still have its `fact` events worked out.
        var factsPerBatch: Int
    }
}

/// A query waiting for its `after` positions (or for the first snapshot).
struct WaitingQuery {
    var request: RouterRequest
    var head: EnvelopeHead
    var query: QueryKind
    var after: [String: UInt64]
    var deadline: Int64
}

/// One aggregate endpoint the replica takes snapshots from.
final class SnapshotSource {
    let endpoint: String
    let client: RequestClient
    /// Its index among the replica's aggregates: each figure remembers where it came from.
    let origin: UInt8
    /// The Clone pattern's state for this aggregate's stream.
    var follower = CloneFollower()
    /// The stream of the last snapshot taken (kept through a resync, to tell a restart).
    var stream: String?
    var pending: (id: String, sentAt: Int64)?
    var wanted = true
    var loaded = false
    /// When this aggregate's stream last said anything (a batch or a heartbeat).
    var lastHeard: Int64 = 0
    var askedAt: Int64?
    /// The parts of a chunked snapshot received so far; installed together when the last arrives.
    var parts: [FigureRecord] = []
    var partHead: SnapshotPart?
    var nextPart = 0
    /// Snapshot replies in a row that could not be used, and when to ask again (a pause that
    /// grows from 50 ms to 2 s, so an aggregate that keeps answering wrong is not asked in a loop).
    private(set) var failures = 0
    private(set) var retryAt: Int64 = 0

    func restartParts() {
        parts = []
        partHead = nil
        nextPart = 0
    }

    /// A reply that cannot be used: the parts so far are dropped and the snapshot asked again
    /// after the pause. Returns whether to log it (the first and then every power of two).
    func retry(now: Int64) -> Bool {
        failures += 1
        retryAt = now + min(25 << min(failures, 7), 2000)
        pending = nil
        wanted = true
        restartParts()
        return failures & (failures - 1) == 0
    }

    /// A snapshot installed: the pause and the count of failures are over.
    func installed() {
        failures = 0
        retryAt = 0
    }

    init(endpoint: String, origin: UInt8, client: RequestClient) {
        self.endpoint = endpoint
        self.origin = origin
        self.client = client
    }
}

/// The query replica's loop and everything it owns, on its thread: a copy of the aggregate's
/// figures (snapshot, then updates: the Clone pattern), answers from memory, and its own PUB.
struct ReplicaState {
    let settings: QueryService.Settings
    let logger: Logger
    let started = monotonicMillis()
    var replica = FigureReplica()
    /// Each aggregate followed (set when the loop starts).
    var sources: [SnapshotSource] = []
    /// Ingest positions each aggregate stream reflects; the replica reflects the least of them.
    var upstream: [String: [String: UInt64]] = [:]
    /// The last ingest position whose `catalog.accepted` went out on the PUB.
    var announced: [String: UInt64] = [:]
    /// Events from streams not yet snapshotted, kept until the snapshot tells where to start.
    var buffered: [String: [(seq: UInt64, frames: [[UInt8]])]] = [:]
    var bufferedCount = 0
    var waiting: [WaitingQuery] = []
    var waitingBytes = 0
    var resyncs = 0
    var factsPublished = 0
    var factBatchesSkipped = 0
    var answered = 0
    var busyReplies = 0
    /// `figure.changed` events that did not read: set aside, counted, the latest kept for `status`.
    var setAsideLog = SetAsideLog()
    /// Snapshot requests waiting their turn (one answered per loop turn), the last snapshot built
    /// (reused while nothing changed), and when each client last got one.
    var snapshotQueue = SnapshotQueue()
    var snapshotCredit: [[UInt8]: (credit: Double, at: Int64)] = [:]
    static let waitingLimit = 10_000
    /// Each client may take a few snapshots in a row (`snapshotBurst`), then one a second: one that
    /// asks again and again without reading the replies cannot make the replica queue snapshot
    /// after snapshot for it, while a subscriber that resyncs now and then never notices.
    static let snapshotBurst = 5.0

    /// The requests a replica answers: every query, and the snapshot, status and ping.
    enum Requests: RequestSet {
        case query(QueryKind)
        case snapshot, status, ping

        init?(type: String) {
            if let kind = QueryKind(rawValue: type) {
                self = .query(kind)
                return
            }
            switch MessageType(rawValue: type) {
            case .snapshot?: self = .snapshot
            case .status?: self = .status
            case .ping?: self = .ping
            default: return nil
            }
        }

        static var served: [String] { QueryKind.allCases.map(\.rawValue) + [MessageType.snapshot, .status, .ping].map(\.rawValue) }
    }

    /// What wakes a turn besides requests.
    enum Wake: Hashable {
        case feed
        case source(Int)
    }
    static let bufferLimit = 20_000
    static let snapshotTimeout: Int64 = 5000
    static let feedBudgetMillis: Int64 = 50

    let observability: Observability
    let figuresPublished: Prometheus.Counter
    let snapshotLoad: DurationHistogram

    init(settings: QueryService.Settings, logger: Logger, observability: Observability) {
        self.settings = settings
        self.logger = logger
        self.observability = observability
        figuresPublished = observability.counter("delivery_figures_published_total", "figure.changed and figure.removed events published to subscribers.")
        snapshotLoad = observability.durations(
            "delivery_snapshot_seconds", "Time from asking an aggregate for a snapshot to installing it.", buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30]
        )
    }

    /// The positions every answer reflects: for each ingest stream the least that every aggregate
    /// has applied (shards follow every ingest stream), and each aggregate stream's own.
    var asOf: [String: UInt64] { ingestPositions.merging(streams) { $1 } }

    /// The last seq applied of each aggregate stream followed.
    var streams: [String: UInt64] {
        var result: [String: UInt64] = [:]
        for source in sources {
            if let stream = source.follower.stream, let seq = source.follower.position { result[stream] = seq }
        }
        return result
    }

    var ingestPositions: [String: UInt64] {
        var result: [String: UInt64] = [:]
        for ingest in Set(upstream.values.flatMap(\.keys)) {
            result[ingest] = upstream.values.map { $0[ingest] ?? 0 }.min()
        }
        return result
    }

    mutating func advance(_ stream: String, ingest: String, to seq: UInt64) {
        upstream[stream, default: [:]][ingest] = max(upstream[stream]?[ingest] ?? 0, seq)
    }

    /// Whether a catalog put is not yet announced: every shard applies every put and sends it,
    /// and the replica's PUB carries it once. (A report comes from the one shard that owns it.)
    mutating func announce(ingest: String, seq: UInt64) -> Bool {
        guard seq > announced[ingest] ?? 0 else { return false }
        announced[ingest] = seq
        return true
    }

    mutating func run(stop: StopFlag) throws {
        let epoch = String(UInt64(wallMillis()), radix: 36)
        let shell = try ServiceShell<Requests>(stream: "query-\(settings.instance)-\(epoch)", settings: settings.shell, logger: logger)
        defer { shell.close() }
        let publisher = shell.publisher
        let feed = try shell.upstreamFeed(settings.aggregateFeeds, prefixes: [""], serverKey: settings.aggregatePublicKey)
        sources = []
        for (index, endpoint) in settings.aggregateEndpoints.enumerated() {
            let client = try shell.upstreamClient(endpoint, serverKey: settings.aggregatePublicKey)
            sources.append(SnapshotSource(endpoint: endpoint, origin: UInt8(min(index, 254)), client: client))
        }
        logger.info("query starting", metadata: ["stream": "\(publisher.stream)", "zmq.endpoint": "\(settings.shell.bind)"])
        while !stop.isSet {
            let wake = try shell.wait(
                for: [(Wake.feed, feed)] + sources.enumerated().map { (Wake.source($0), $1.client.pollable) },
                timeout: snapshotQueue.isEmpty ? 50 : 0
            )
            // Subscribe first, then snapshot: the feed is read before snapshots are asked for.
            if wake.contains(.feed) { drainFeed(feed, sources: sources, publisher: publisher) }
            for (index, source) in sources.enumerated() where wake.contains(.source(index)) {
                takeSnapshot(source, publisher: publisher)
            }
            for source in sources { try tend(source) }
            let isReady = sources.allSatisfy(\.loaded)
            shell.noteReady(isReady, "query ready", ["figures": "\(replica.count)", "asOf": "\(asOf)"])
            if wake.requests {
                shell.serve(stop: stop) { request, head, kind in
                    handle(request, head, kind, shell: shell, ready: isReady)
                }
            }
            serveOneSnapshot(router: shell.router, publisher: publisher)
            answerWaiting(router: shell.router, ready: isReady)
            shell.endTurn(
                worked: wake.any, observability: observability, ready: isReady,
                problem: shell.monitor.problem ?? (isReady ? nil : "loading the first snapshot"), positions: asOf
            )
            if observability.sampled { sampleMetrics(shell.monitor) }
        }
    }

    // MARK: Clone pattern

    mutating func tend(_ source: SnapshotSource) throws {
        if let pending = source.pending {
            guard monotonicMillis() - pending.sentAt > Self.snapshotTimeout else { return }
            source.client.reset()
            source.pending = nil
            source.wanted = true
        }
        guard source.wanted, monotonicMillis() >= source.retryAt else { return }
        // Not connected yet: asked again on the loop's next turn.
        let request = SnapshotRequest(prefix: "", chunk: settings.snapshotChunk)
        guard let id = try source.client.send(type: MessageType.snapshot, body: request) else { return }
        source.pending = (id, monotonicMillis())
        source.askedAt = monotonicMillis()
        source.wanted = false
        source.restartParts()
    }

    /// Takes the parts of a chunked snapshot in order; installs them once the last has come, then
    /// applies the live batches buffered meanwhile that are newer than the snapshot.
    mutating func takeSnapshot(_ source: SnapshotSource, publisher: Publisher) {
        while let (head, json, attachment) = try? source.client.takeWithAttachment() {
            guard let pending = source.pending, head.id == .string(pending.id) else { continue }
            guard head.kind == .snapshotPart, let attachment,
                case .success(let part) = Wire.decodeBody(SnapshotPart.self, from: json),
                part.part == source.nextPart, part.positions.count == 1
            else {
                // Not ready yet (unavailable), busy, not an aggregate, or a part missing: ask again
                // after a pause.
                if source.retry(now: monotonicMillis()), head.kind != .error {
                    logger.warning("a snapshot part is missing or does not read; asking again after a pause", metadata: [
                        "zmq.endpoint": "\(source.endpoint)", "reply": "\(excerpt(bytes: json))", "failures": "\(source.failures)",
                    ])
                }
                continue
            }
            do {
                source.parts += try FigureList.decode(attachment)
            } catch {
                if source.retry(now: monotonicMillis()) {
                    logger.warning("a snapshot part does not read; asking again after a pause", metadata: [
                        "zmq.endpoint": "\(source.endpoint)", "error": "\(error)", "failures": "\(source.failures)",
                    ])
                }
                continue
            }
            if part.part == 0 { source.partHead = part }
            source.nextPart += 1
            // Parts keep a long snapshot alive: the time-out counts from the last part.
            source.pending = (pending.id, monotonicMillis())
            guard part.last, let first = source.partHead, let (stream, position) = first.positions.first else { continue }
            source.pending = nil
            source.installed()
            source.lastHeard = monotonicMillis()
            if let asked = source.askedAt { snapshotLoad.record(.milliseconds(monotonicMillis() - asked)) }
            install(snapshot: source.parts, stream: stream, position: position, upstream: first.upstream, catalog: first.catalog, from: source, publisher: publisher)
            source.restartParts()
        }
    }

    mutating func install(
        snapshot figures: [FigureRecord], stream: String, position: UInt64, upstream ingest: [String: UInt64], catalog: CatalogDocument?,
        from source: SnapshotSource, publisher: Publisher
    ) {
        let wasLoaded = source.loaded
        if let old = source.stream, old != stream {
            upstream[old] = nil
            resyncs += 1
            logger.info("aggregate restarted; resynced", metadata: ["old": "\(old)", "stream": "\(stream)"])
        }
        source.stream = stream
        if let catalog { replica.replaceCatalog(catalog) }
        // The first load of a replica has no subscribers to tell (its stream is new); a resync
        // publishes every figure that changed.
        var changes = ConflatedChanges()
        if wasLoaded {
            // A resync replaces what this aggregate had: figures its new snapshot no longer has
            // are removed, and subscribers are told (`figure.removed`).
            changes.add(replica.replace(origin: source.origin, with: figures))
        } else {
            for figure in figures { replica.receive(figure, origin: source.origin, reporting: false) }
        }
        figuresPublished.increment(by: Int64(changes.count))
        changes.publish(on: publisher)
        upstream[stream] = ingest
        source.follower.snapshot(stream: stream, seq: position)
        source.loaded = true
        // Batches that came while the snapshot was on its way: only the newer ones count.
        let held = buffered.removeValue(forKey: stream) ?? []
        bufferedCount -= held.count
        for (seq, frames) in held.sorted(by: { $0.seq < $1.seq }) {
            switch source.follower.take(stream: stream, seq: seq, heartbeat: false) {
            case .apply: apply(frames: frames, stream: stream, seq: seq, publisher: publisher)
            case .skip, .hold: continue
            case .resync(let reason):
                resync(source, reason: reason)
                return
            }
        }
    }

    mutating func drainFeed(_ feed: Socket, sources: [SnapshotSource], publisher: Publisher) {
        // A time budget, not a message count: a message is a whole batch, and requests must be
        // answered between turns however much the feed has queued.
        let until = monotonicMillis() + Self.feedBudgetMillis
        while monotonicMillis() < until {
            guard let frames = try? feed.receive(wait: false) else { return }
            guard frames.count >= 2, case .success(let head) = Wire.decodeHead(frames[1]), let stream = head.stream, let seq = head.seq
            else { continue }
            let heartbeat = head.kind == .heartbeat
            guard let source = sources.first(where: { $0.follower.stream == stream }) else {
                // A stream with no snapshot yet (a new aggregate, or one that restarted): held
                // until a snapshot says where to start.
                if !heartbeat, bufferedCount < Self.bufferLimit {
                    buffered[stream, default: []].append((seq, frames))
                    bufferedCount += 1
                }
                if sources.allSatisfy({ $0.pending == nil }) && !sources.contains(where: { $0.wanted }) {
                    for source in sources where source.stream != stream { source.wanted = true }
                }
                continue
            }
            source.lastHeard = monotonicMillis()
            // The follower is taken out, asked and put back (a value held by a class).
            var follower = source.follower
            let position = follower.position
            let verdict = follower.take(stream: stream, seq: seq, heartbeat: heartbeat)
            source.follower = follower
            switch verdict {
            case .apply:
                apply(frames: frames, stream: stream, seq: seq, publisher: publisher)
            case .skip:
                // A heartbeat at the position carries the ingest positions the stream reflects.
                if heartbeat, seq == position {
                    takeHeartbeat(frames[1], stream: stream)
                }
            case .hold:
                continue
            case .resync(let reason):
                resync(source, reason: reason)
            }
        }
    }

    /// Refreshes the gauges (about once a second): how stale each aggregate's stream is here.
    func sampleMetrics(_ monitor: LinkMonitor) {
        observability.sample(monitor)
        let now = monotonicMillis()
        for source in sources {
            observability.gauge(
                "delivery_replica_staleness_seconds",
                "Seconds since the replica last heard from an aggregate (a batch or a heartbeat, sent at least once a second); -1 before the first.",
                labels: [("aggregate", source.endpoint)]
            ).set(to: source.lastHeard == 0 ? -1 : Double(now - source.lastHeard) / 1000)
        }
        observability.gauge("delivery_figures", "Figures held.").set(to: Double(replica.count))
    }

    /// The ingest positions a heartbeat says its stream reflects.
    mutating func takeHeartbeat(_ bytes: [UInt8], stream: String) {
        guard case .success(let beat) = Wire.decodeBody(HeartbeatBody.self, from: bytes) else { return }
        for (ingest, at) in beat.positions ?? [:] { advance(stream, ingest: ingest, to: at) }
    }

    mutating func resync(_ source: SnapshotSource, reason: String) {
        logger.info("resync", metadata: ["zmq.endpoint": "\(source.endpoint)", "reason": "\(reason)"])
        resyncs += 1
        source.follower.resync()
        if source.pending == nil { source.wanted = true }
    }

    /// Applies one `figure.batch` of an aggregate stream: the catalog puts, every figure (each
    /// published once on this replica's PUB with its final value, conflated), then the reports
    /// and catalog puts, so that a subscriber that sees `report.accepted` has its figures.
    mutating func apply(frames: [[UInt8]], stream: String, seq: UInt64, publisher: Publisher) {
        let batch: FigureBatch
        do {
            guard frames.count == 3 else { throw LinkError("\(frames.count) frames; a figure.batch has 3") }
            batch = try FigureBatch(decoding: frames[2])
        } catch {
            setAside(stream, seq, "a figure.batch that does not read: \(error)")
            return
        }
        for event in batch.catalogs { replica.mergeCatalog(event.catalog) }
        var changes = ConflatedChanges()
        let origin = sources.first(where: { $0.follower.stream == stream })?.origin ?? 0
        for figure in batch.figures { changes.add(replica.receive(figure, origin: origin)) }
        figuresPublished.increment(by: Int64(changes.count))
        changes.publish(on: publisher)
        for (ingest, position) in batch.upstream { advance(stream, ingest: ingest, to: position) }
        for event in batch.catalogs where announce(ingest: event.stream, seq: event.seq) {
            publisher.publish(topic: Topic.catalog, type: MessageType.catalogAccepted, body: event)
        }
        for event in batch.reports {
            publisher.publish(topic: event.report.entity.topic("report"), type: MessageType.reportAccepted, body: event)
        }
        // Last: facts are worked out after the batch's figures and reports are out.
        publishFacts(changes, on: publisher)
    }

    /// Publishes the facts the batch's figures made true (`fact.<group>.<brand>.<model>.`). A batch
    /// larger than `factsPerBatch` (a bulk load) is skipped and counted: a record set by a
    /// history being loaded is not news.
    mutating func publishFacts(_ changes: ConflatedChanges, on publisher: Publisher) {
        guard settings.factsPerBatch > 0, changes.count > 0 else { return }
        guard changes.count <= settings.factsPerBatch else {
            factBatchesSkipped += 1
            return
        }
        let engine = QueryEngine(replica)
        for change in changes.changes where !change.removed {
            for fact in engine.liveFacts(change.key.entity, change.key.period) {
                factsPublished += 1
                publisher.publish(
                    topic: change.body.entity.topic("fact"), type: .fact,
                    body: FactEvent(entity: change.body.entity, period: change.body.period, fact: fact)
                )
            }
        }
    }

    mutating func setAside(_ stream: String, _ seq: UInt64, _ reason: String) {
        setAsideLog.record(stream, seq, reason, logger: logger)
    }

    // MARK: Requests

    func satisfied(_ after: [String: UInt64]) -> Bool {
        let positions = asOf
        return after.allSatisfy { stream, seq in (positions[stream] ?? 0) >= seq }
    }

    mutating func handle(_ request: RouterRequest, _ head: EnvelopeHead, _ kind: Requests, shell: ServiceShell<Requests>, ready: Bool) {
        let router = shell.router
        let publisher = shell.publisher
        let monitor = shell.monitor
        switch kind {
        case .ping:
            shell.ping(request, head, service: "query", instance: settings.instance, notReady: ready ? nil : "loading the first snapshot")
        case .status:
            let body = StatusResult(
                service: "query", version: serviceVersion, instance: settings.instance, streams: [publisher.stream],
                positions: asOf.merging([publisher.stream: publisher.seq]) { $1 },
                counts: [
                    "figures": replica.count, "resyncs": resyncs, "answered": answered, "waiting": waiting.count,
                    "waitingBytes": waitingBytes, "busy": busyReplies, "setAside": setAsideLog.count,
                    "snapshotsQueued": snapshotQueue.count, "connections": monitor.connections,
                    "facts": factsPublished, "factBatchesSkipped": factBatchesSkipped,
                    "refusedConnections": monitor.refused,
                ],
                uptimeSeconds: Double(monotonicMillis() - started) / 1000, ready: ready,
                endpoints: ["bind": settings.shell.bind, "publish": settings.shell.publish],
                problem: monitor.problem ?? (ready ? nil : "loading the first snapshot"),
                setAside: setAsideLog.latest, links: monitor.links
            )
            request.reply(Envelope(MessageType.statusResult, id: head.id, body: body), on: router)
        case .snapshot:
            switch Wire.decodeBody(SnapshotRequest.self, in: request.message, id: head.id, code: .invalidQuery) {
            case .failure(let error):
                request.reply(error, on: router)
            case .success(let query):
                let now = monotonicMillis()
                let held = snapshotCredit[request.identity] ?? (Self.snapshotBurst, now)
                let credit = min(Self.snapshotBurst, held.credit + Double(now - held.at) / 1000)
                guard credit >= 1 else {
                    busyReplies += 1
                    let wait = Int(((1 - credit) * 1000).rounded(.up))
                    request.reply(busy("a client gets at most one snapshot a second after a burst of 5", id: head.id, retryAfterMs: wait), on: router)
                    return
                }
                guard snapshotQueue.add(request, id: head.id, prefix: query.prefix ?? "", router: router) else {
                    busyReplies += 1
                    return
                }
                snapshotCredit[request.identity] = (credit - 1, now)
                if snapshotCredit.count > 10_000 {
                    snapshotCredit = snapshotCredit.filter { now - $0.value.at < 10_000 }
                }
            }
        case .query(let query):
            let control: QueryControl
            switch Wire.decodeBody(QueryControl.self, in: request.message, id: head.id, code: .invalidQuery) {
            case .failure(let error):
                request.reply(error, on: router)
                return
            case .success(let decoded):
                control = decoded
            }
            let after = control.after ?? [:]
            if ready && satisfied(after) {
                answer(request, head, query, router: router)
            } else {
                // A waiting query holds its bytes until it is answered: bounded, so that parked
                // queries cannot take the replica's memory.
                let size = request.payload.count
                guard waiting.count < Self.waitingLimit, waitingBytes + size <= settings.maxWaitingBytes else {
                    busyReplies += 1
                    request.reply(
                        busy("\(waiting.count) queries (\(waitingBytes) bytes) are already waiting for their positions", id: head.id),
                        on: router
                    )
                    return
                }
                let timeout = Int64(min(max(control.timeoutMs ?? 2000, 0), 60_000))
                waitingBytes += size
                waiting.append(WaitingQuery(request: request, head: head, query: query, after: after, deadline: monotonicMillis() + timeout))
            }
        }
    }

    /// Answers the oldest queued snapshot request (`SnapshotQueue`).
    mutating func serveOneSnapshot(router: Socket, publisher: Publisher) {
        guard !snapshotQueue.isEmpty else { return }
        var queue = snapshotQueue
        defer { snapshotQueue = queue }
        queue.serveOne(router: router, seq: publisher.seq) { prefix in
            SnapshotResult(
                figures: replica.figures(prefix: prefix), positions: [publisher.stream: publisher.seq], upstream: asOf,
                catalog: replica.catalog.document
            )
        }
    }

    mutating func answer(_ request: RouterRequest, _ head: EnvelopeHead, _ kind: QueryKind, router: Socket) {
        answered += 1
        let (bytes, outcome) = QueryDispatcher.answer(kind, message: request.message, id: head.id, store: replica, asOf: asOf)
        request.reply(bytes, outcome: outcome, on: router)
    }

    mutating func answerWaiting(router: Socket, ready: Bool) {
        guard !waiting.isEmpty else { return }
        let now = monotonicMillis()
        var still: [WaitingQuery] = []
        for query in waiting {
            let done = (ready && satisfied(query.after)) || now >= query.deadline
            if done { waitingBytes -= query.request.payload.count }
            if ready && satisfied(query.after) {
                answer(query.request, query.head, query.query, router: router)
            } else if now >= query.deadline {
                let error =
                    ready
                    ? ProtocolError(
                        .stale, "the replica has not reached the positions in 'after' in time",
                        details: ["asOf": .object(asOf.mapValues { .int(Int64($0)) })], id: query.head.id
                    )
                    : ProtocolError(.unavailable, "the replica is still loading its first snapshot", id: query.head.id)
                query.request.reply(error, on: router)
            } else {
                still.append(query)
            }
        }
        waiting = still
    }
}


/// The figures one batch changed, each once: its `previous` from before the batch, its state
/// after it (a subscriber sees final values, PROTOCOL.md's conflation); a figure gone at the end
/// goes out as `figure.removed`.
struct ConflatedChanges {
    private var order: [FigureKey] = []
    private var latest: [FigureKey: FigureChange] = [:]

    var count: Int { order.count }

    /// Each changed figure once, in the order first changed, with its final value.
    var changes: [FigureChange] { order.compactMap { latest[$0] } }

    mutating func add(_ changed: [FigureChange]) {
        for change in changed {
            if let held = latest[change.key] {
                var body = change.body
                body.previous = held.body.previous
                latest[change.key] = FigureChange(key: change.key, body: body, removed: change.removed)
            } else {
                order.append(change.key)
                latest[change.key] = change
            }
        }
    }

    func publish(on publisher: Publisher) {
        for key in order {
            guard let change = latest[key] else { continue }
            publisher.publish(
                topic: change.body.entity.topic("figure"), type: change.removed ? MessageType.figureRemoved : MessageType.figureChanged,
                body: change.body
            )
        }
    }
}
