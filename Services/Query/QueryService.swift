import DeliveryCore
import DeliveryMessages
import Foundation
import Logging
import Prometheus
import ServiceCores
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
        /// The most facts kept of each aggregate's fact history.
        var factHistory: Int
    }
}

/// One aggregate the replica follows: its Clone client (snapshot, then feed) and what the replica
/// remembers of it.
final class SnapshotSource {
    let clone: CloneClient
    /// Its index among the replica's aggregates: each figure remembers where it came from.
    let origin: UInt8
    /// The stream of the last snapshot taken (kept through a resync, to tell a restart).
    var stream: String?
    var loaded = false
    /// When this aggregate's stream last said anything (a batch or a heartbeat).
    var lastHeard: Int64 = 0

    var endpoint: String { clone.endpoint }

    init(clone: CloneClient, origin: UInt8) {
        self.clone = clone
        self.origin = origin
        // The first load is installed part by part, while the rest is on its way.
        clone.handsOutParts = true
    }

    /// How the replica asks an aggregate: in parts, given up after 5 s without one, a pause from
    /// 50 ms to 2 s after a reply it cannot use.
    static func policy() -> SnapshotFetch.Policy {
        SnapshotFetch.Policy(timeoutMillis: 5000, firstPause: 50, longestPause: 2000, chunked: true)
    }
}

/// The query replica's loop, on its thread: its sockets and a Clone client per aggregate, around
/// the `ReplicaCore` that holds the figures and the waiting queries. Requests are in
/// QueryRequests.swift.
struct ReplicaState: ServiceLoop {
    let settings: QueryService.Settings
    let logger: Logger
    let started = monotonicMillis()
    var core: ReplicaCore<RouterRequest>
    /// Each aggregate followed, and the agent that reads their feeds (set when the loop starts).
    var sources: [SnapshotSource] = []
    var agent: FeedAgent?
    /// Snapshot requests waiting their turn (one answered per loop turn), the last snapshot built
    /// (reused while nothing changed).
    var snapshotQueue = SnapshotQueue()

    /// The requests a replica answers: every query, and the snapshot, status and ping.
    enum Requests: RequestSet {
        case query(QueryKind)
        case snapshot, status, ping, facts

        static let others: [(MessageType, Requests)] = [(.snapshot, .snapshot), (.status, .status), (.ping, .ping), (.facts, .facts)]

        init?(type: String) {
            if let kind = QueryKind(rawValue: type) {
                self = .query(kind)
            } else if let other = Self.others.first(where: { $0.0.rawValue == type }) {
                self = other.1
            } else {
                return nil
            }
        }

        static var served: [String] { QueryKind.allCases.map(\.rawValue) + others.map(\.0.rawValue) }
    }

    /// What wakes a turn besides requests.
    enum Wake: Hashable {
        case feed
        case source(Int)
    }
    static let feedBudgetMillis: Int64 = 50

    let observability: Observability
    let figuresPublished: Prometheus.Counter
    let snapshotLoad: DurationHistogram

    init(settings: QueryService.Settings, logger: Logger, observability: Observability) {
        self.settings = settings
        self.logger = logger
        self.observability = observability
        core = ReplicaCore(factHistory: settings.factHistory, maxWaitingBytes: settings.maxWaitingBytes)
        figuresPublished = observability.counter("delivery_figures_published_total", "figure.changed and figure.removed events published to subscribers.")
        snapshotLoad = observability.durations(
            "delivery_snapshot_seconds", "Time from asking an aggregate for a snapshot to installing it.", buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30]
        )
    }

    /// The positions every answer reflects (`ReplicaCore.asOf`).
    var asOf: [String: UInt64] { core.asOf(streams: streams) }

    /// The last seq applied of each aggregate stream followed.
    var streams: [String: UInt64] {
        var result: [String: UInt64] = [:]
        for source in sources {
            if let stream = source.clone.follower.stream, let seq = source.clone.follower.position { result[stream] = seq }
        }
        return result
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
            let clone = CloneClient(
                endpoint: endpoint, client: client, request: SnapshotRequest(prefix: "", chunk: settings.snapshotChunk), policy: SnapshotSource.policy()
            )
            sources.append(SnapshotSource(clone: clone, origin: UInt8(min(index, 254))))
        }
        let agent = FeedAgent(socket: feed, sources: sources.map(\.clone), routing: .byStream)
        logger.info("query starting", metadata: ["stream": "\(publisher.stream)", "zmq.endpoint": "\(settings.shell.bind)"])
        self.agent = agent
        try shell.drive(&self, stop: stop)
    }

    var handles: [(Wake, Socket)] {
        (agent.map { [(Wake.feed, $0.socket)] } ?? []) + sources.enumerated().map { (Wake.source($0), $1.clone.client.pollable) }
    }

    var waitMillis: Int { snapshotQueue.isEmpty ? 50 : 0 }

    /// One turn: the feed (subscribe first, then snapshot: the feed is read before snapshots are
    /// asked for), snapshot replies, the next snapshot requests, requests, a queued snapshot, the
    /// queries whose positions came in.
    mutating func turn(_ wake: ServiceShell<Requests>.Wake<Wake>, shell: ServiceShell<Requests>, stop: StopFlag) throws {
        let publisher = shell.publisher
        if wake.contains(.feed), let agent { drainFeed(agent, publisher: publisher) }
        for (index, source) in sources.enumerated() where wake.contains(.source(index)) {
            takeSnapshots(source, publisher: publisher)
        }
        for source in sources { try source.clone.tend(now: monotonicMillis()) }
        let isReady = sources.allSatisfy(\.loaded)
        shell.noteReady(isReady, "query ready", ["figures": "\(core.replica.count)", "asOf": "\(asOf)"])
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
        logger.write(core.takeLogLines())
    }

    /// Publishes what the core returned. Always called with a value already computed (`let out =
    /// core.apply(…); publish(out, …)`), never `publish(core.apply(…), …)`: a method call on `self`
    /// takes `self` before its arguments are evaluated, so the core's figures would be held twice
    /// while `apply` changes them, and copied whole (copy on write) on every batch.
    func publish(_ publications: [Publication], on publisher: Publisher) {
        figuresPublished.increment(by: Int64(publications.count { if case .figure = $0 { true } else { false } }))
        // Subscribers get each figure with its coverage, as answers give it (a sum short of an
        // expected part is a lower bound), worked out only for figures someone subscribed to.
        let coverage = SubscriberCoverage(core.replica)
        publisher.publish(publications) { coverage.covered($0.body, $0.key) }
    }

    // MARK: Clone pattern

    /// Takes a source's snapshot replies: an installed one replaces what the aggregate had, then
    /// the batches held meanwhile that are newer than it are applied.
    mutating func takeSnapshots(_ source: SnapshotSource, publisher: Publisher) {
        // Two parts a turn: installing one takes some tens of ms, and requests (`ping`, `status`)
        // are answered between turns.
        for outcome in source.clone.takeReplies(now: monotonicMillis(), limit: 2) {
            switch outcome {
            case .nothing:
                continue
            case .refused(let reason, let log):
                // Not ready yet (unavailable), busy, not an aggregate, or a part missing: asked
                // again after a pause.
                if log {
                    logger.warning("a snapshot part is missing or does not read; asking again after a pause", metadata: [
                        "zmq.endpoint": "\(source.endpoint)", "reply": "\(reason)", "failures": "\(source.clone.fetch.failures)",
                    ])
                }
            case .part(let records, let total):
                core.installPart(records, origin: source.origin, total: total)
            case .installed(let snapshot):
                install(snapshot, from: source, publisher: publisher)
            }
        }
        source.clone.handsOutParts = core.installsPartByPart(origin: source.origin, loaded: source.loaded)
    }

    mutating func install(_ snapshot: Snapshot, from source: SnapshotSource, publisher: Publisher) {
        source.lastHeard = monotonicMillis()
        snapshotLoad.record(.milliseconds(snapshot.tookMillis))
        if let old = source.stream, old != snapshot.stream {
            core.forget(stream: old)
            core.resynced()
            logger.info("aggregate restarted; resynced", metadata: ["old": "\(old)", "stream": "\(snapshot.stream)"])
        }
        source.stream = snapshot.stream
        // The first load of a replica has no subscribers to tell (its stream is new).
        let installed = core.install(snapshot, origin: source.origin, resync: source.loaded)
        publish(installed, on: publisher)
        source.loaded = true
        // Batches that came while the snapshot was on its way: only the newer ones count.
        for (seq, frames) in core.takeHeld(stream: snapshot.stream) {
            switch source.clone.take(stream: snapshot.stream, seq: seq, heartbeat: false) {
            case .apply:
                let applied = core.apply(frames: frames, stream: snapshot.stream, seq: seq, origin: source.origin)
                publish(applied, on: publisher)
            case .skip, .hold: continue
            case .resync(let reason):
                resynced(source, reason: reason)
                return
            }
        }
    }

    mutating func drainFeed(_ agent: FeedAgent, publisher: Publisher) {
        // A time budget, not a message count: a message is a whole batch, and requests must be
        // answered between turns however much the feed has queued.
        let until = monotonicMillis() + Self.feedBudgetMillis
        while monotonicMillis() < until, let event = agent.next() {
            switch event {
            case .held(let message, nil):
                // A stream with no snapshot yet (a new aggregate, or one that restarted): held
                // until a snapshot says where to start.
                if !message.isHeartbeat { core.hold(stream: message.stream, seq: message.seq, frames: message.frames) }
                if !sources.contains(where: { $0.clone.fetch.isAsking || $0.clone.fetch.isWanted }) {
                    for source in sources where source.stream != message.stream { source.clone.want() }
                }
            case .held(_, let index?):
                sources[index].lastHeard = monotonicMillis()
            case .update(let message, let index):
                let source = sources[index]
                source.lastHeard = monotonicMillis()
                let applied = core.apply(frames: message.frames, stream: message.stream, seq: message.seq, origin: source.origin)
                publish(applied, on: publisher)
            case .current(let message, let index):
                let source = sources[index]
                source.lastHeard = monotonicMillis()
                // A heartbeat at the position carries the ingest positions the stream reflects.
                if message.isHeartbeat, message.seq == source.clone.follower.position, case .success(let beat) = message.body(HeartbeatBody.self) {
                    core.takeHeartbeat(beat, stream: message.stream)
                }
            case .resync(let reason, _, let index):
                sources[index].lastHeard = monotonicMillis()
                sources[index].clone.want()
                resynced(sources[index], reason: reason)
            }
        }
    }

    /// A gap or another stream on a source's feed: its Clone client has asked for a snapshot again.
    mutating func resynced(_ source: SnapshotSource, reason: String) {
        logger.info("resync", metadata: ["zmq.endpoint": "\(source.endpoint)", "reason": "\(reason)"])
        core.resynced()
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
        observability.gauge("delivery_figures", "Figures held.").set(to: Double(core.replica.count))
    }
}
