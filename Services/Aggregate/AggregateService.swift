import DeliveryCore
import DeliveryMessages
import Foundation
import Logging
import Prometheus
import ServiceCores
import ServiceKit
import ZeroMQ

/// The settings of one aggregate instance.
enum AggregateService {
    struct Settings: Sendable {
        /// The ROUTER, PUB, limits and CURVE every service has.
        var shell: ShellSettings
        var ingestEndpoints: [String]
        var ingestFeeds: [String]
        var groups: Set<String>
        var instance: String
        /// The ingest instances' CURVE public key, when they run with CURVE.
        var ingestPublicKey: String?
        /// Where the checkpoint is kept.
        var dataDirectory: String
        /// Seconds between checkpoints while reports arrive; 0: none (a restart replays everything).
        var checkpointSeconds: Int
        /// The most figures a turn may change and still have its facts stated (0: none).
        var factsPerBatch: Int
        /// The most facts the fact history keeps.
        var factHistory: Int
    }
}

/// The aggregate's loop, on its thread: its sockets, the followers of each ingest, the checkpoint
/// store and the snapshots being sent, around the `AggregateCore` that holds the figures. Following
/// is in AggregateFollowing.swift, requests in AggregateRequests.swift.
struct AggregateState: ServiceLoop {
    let settings: AggregateService.Settings
    let logger: Logger
    let started = monotonicMillis()
    var core: AggregateCore
    /// Snapshot requests waiting their turn (one is answered per loop turn, so that snapshots
    /// never starve the live feed), and the last snapshot built, reused while nothing changed.
    var snapshotQueue = SnapshotQueue()
    /// Chunked snapshots under way: each sends one part per loop turn from a frozen copy of the
    /// book (copy on write: the live book goes on changing), so a large snapshot never stalls
    /// the live feed.
    var chunkedSnapshots: [ChunkedSnapshot] = []
    static let chunkedLimit = 4
    static let feedBudgetMillis: Int64 = 50
    /// Where checkpoints stand, as one lifecycle.
    var checkpointing = Checkpointing.off
    /// Until the checkpoint (or its absence) has been taken in, the aggregate answers `ping` and
    /// `status` but follows nothing.
    var recovered: Bool {
        if case .loading = checkpointing { return false }
        return true
    }
    var checkpoints: CheckpointStore? { checkpointing.store }
    /// Where stated facts are kept (with checkpoints on).
    var factJournal: FactJournalFile?

    /// What the aggregate knows of its ingests beyond each follower's state, and its links to them
    /// (set when the loop starts).
    var upstreams = Upstreams()
    var links: IngestLinks?
    let observability: Observability
    let metrics: AggregateMetrics

    init(settings: AggregateService.Settings, logger: Logger, observability: Observability) {
        self.settings = settings
        self.logger = logger
        self.observability = observability
        core = AggregateCore(
            groups: settings.groups, factsPerBatch: settings.factsPerBatch,
            facts: FactHistory(id: FactJournalFile.newID(), capacity: settings.factHistory)
        )
        metrics = AggregateMetrics(observability)
    }

    /// The requests an aggregate answers.
    enum Requests: MessageRequestSet {
        case snapshot, status, ping

        var messageType: MessageType {
            switch self {
            case .snapshot: .snapshot
            case .status: .status
            case .ping: .ping
            }
        }
    }

    /// What wakes a turn besides requests.
    enum Wake: Hashable {
        case feed
        case follower(Int)
    }

    static let requestTimeout: Int64 = 3000

    mutating func run(stop: StopFlag) throws {
        var lock: DataDirectoryLock?
        if settings.checkpointSeconds > 0 {
            // One aggregate instance per checkpoint file: a second one with the same instance name
            // on this data dir is refused at start.
            lock = try DataDirectoryLock(directory: settings.dataDirectory, owner: "aggregate-\(settings.instance)")
            let store = CheckpointStore(directory: settings.dataDirectory, instance: settings.instance, logger: logger)
            store.startLoading(groups: settings.groups.sorted())
            checkpointing = .loading(store)
            // The fact history lasts as long as the data directory (without checkpoints it lasts
            // as long as the process: a new id at each start).
            let journal = FactJournalFile(directory: settings.dataDirectory, instance: settings.instance, logger: logger)
            let (history, through) = try journal.load(capacity: settings.factHistory)
            core.adopt(facts: history, statedThrough: through)
            factJournal = journal
        }
        defer { withExtendedLifetime(lock) {} }
        let epoch = String(UInt64(wallMillis()), radix: 36)
        let shell = try ServiceShell<Requests>(stream: "aggregate-\(settings.instance)-\(epoch)", settings: settings.shell, logger: logger)
        defer { shell.close() }
        let publisher = shell.publisher
        let feed = try shell.upstreamFeed(
            settings.ingestFeeds, prefixes: [Topic.reportBatch, Topic.catalog, Topic.heartbeat], serverKey: settings.ingestPublicKey
        )
        // Only the agent's reading half: a gap here is filled from the ingest's log, not a snapshot.
        let agent = FeedAgent(socket: feed, sources: [], routing: .byStream)
        // Each ingest: its follower (what to ask, what to apply) and the socket it asks on.
        let followers = settings.ingestEndpoints.map { IngestFollower(endpoint: $0) }
        let clients = try settings.ingestEndpoints.map { try shell.upstreamClient($0, serverKey: settings.ingestPublicKey) }
        logger.info(
            "aggregate starting",
            metadata: ["stream": "\(publisher.stream)", "zmq.endpoint": "\(settings.shell.bind)", "zmq.publish": "\(settings.shell.publish)"]
        )
        links = IngestLinks(feed: feed, agent: agent, followers: followers, clients: clients)
        try shell.drive(&self, stop: stop)
    }

    /// Stopped (SIGTERM): the state as it is now, so that the next start replays nothing.
    mutating func stopped() {
        if let checkpoints, recovered, changedSinceCheckpoint {
            checkpoints.saveNow(checkpoint)
        }
    }

    // The followers' sockets are listed anew each turn: one whose request timed out has a new one.
    var handles: [(Wake, Socket)] {
        guard let links else { return [] }
        return [(Wake.feed, links.feed)] + links.clients.enumerated().map { (Wake.follower($0), $1.pollable) }
    }

    var waitMillis: Int { snapshotQueue.isEmpty && chunkedSnapshots.isEmpty ? 100 : 0 }

    /// The ingests followed: the feed (read by the agent), and each one's follower and socket.
    struct IngestLinks {
        let feed: Socket
        let agent: FeedAgent
        let followers: [IngestFollower]
        let clients: [RequestClient]
    }

    /// One turn of the loop: the feed and replies in, a batch out, the followers' next requests,
    /// then requests, snapshot parts and the checkpoint when due.
    mutating func turn(_ wake: ServiceShell<Requests>.Wake<Wake>, shell: ServiceShell<Requests>, stop: StopFlag) throws {
        guard let links else { return }
        let (followers, publisher) = (links.followers, shell.publisher)
        if wake.contains(.feed) { drainFeed(links.agent, followers: followers, publisher: publisher) }
        for (index, follower) in followers.enumerated() where wake.contains(.follower(index)) {
            takeReplies(follower, client: links.clients[index], followers: followers, publisher: publisher)
        }
        if let reason = core.rebuildWanted { rebuild(followers: followers, publisher: publisher, reason: reason) }
        flush(publisher)
        if !recovered { takeCheckpoint() }
        if recovered {
            for (follower, client) in zip(followers, links.clients) { try ask(follower, on: client) }
        }
        let isReady = recovered && followers.allSatisfy(\.caughtUp)
        shell.noteReady(isReady, "aggregate ready", ["figures": "\(core.book.figureCount)", "positions": "\(core.positions)"])
        if wake.requests {
            shell.serve(stop: stop) { request, head, kind in
                handle(request, head, kind, shell: shell, ready: isReady)
            }
        }
        serveOneSnapshot(router: shell.router, publisher: publisher)
        serveSnapshotParts(router: shell.router)
        shell.endTurn(
            worked: wake.any, observability: observability, ready: isReady,
            problem: problem(shell.monitor, ready: isReady), positions: core.positions
        )
        if observability.sampled { sampleMetrics(shell.monitor) }
        logger.write(core.takeLogLines())
        checkpointIfDue()
    }

    /// Publishes what this turn applied (`AggregateCore.flushFigures`), then its facts.
    mutating func flush(_ publisher: Publisher) {
        publish(core.flushFigures(), on: publisher)
        // Then the news the figures made true, in a batch of its own: kept before it goes out,
        // so that a restart neither renumbers the facts nor states them again.
        let skipped = core.factBatchesSkipped
        guard let facts = core.stateFacts(at: Timestamp.format(millis: wallMillis())) else {
            // A bulk turn states nothing: the journal says so, so that a restart does not state
            // the facts of its reports either (replayed in smaller turns).
            if core.factBatchesSkipped > skipped { factJournal?.append([], history: core.facts, through: core.statedThrough) }
            return
        }
        factJournal?.append(facts.facts, history: core.facts, through: core.statedThrough)
        metrics.facts.increment(by: Int64(facts.facts.count))
        publish([facts], on: publisher)
    }

    func publish(_ batches: [FigureBatch], on publisher: Publisher) {
        for batch in batches {
            metrics.figures.increment(by: Int64(batch.figures.count))
            observability.published.increment()
        }
        for error in publisher.publish(batches.map { .batch($0) }) {
            logger.error("a batch could not be encoded; followers will resync", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Metrics

    /// Refreshes the gauges (about once a second): how far behind each ingest stream it is, in
    /// seq and in seconds, and the checkpoint's age and last save time.
    mutating func sampleMetrics(_ monitor: LinkMonitor) {
        observability.sample(monitor)
        let now = monotonicMillis()
        for (stream, last) in upstreams.last {
            let applied = core.positions[stream] ?? 0
            if applied >= last { upstreams.caughtUpAt[stream] = now }
            let behind = last > applied ? last - applied : 0
            metrics.behindSeq(stream).set(to: Double(behind))
            metrics.behindSeconds(stream).set(to: behind == 0 ? 0 : Double(now - (upstreams.caughtUpAt[stream] ?? started)) / 1000)
        }
        metrics.figuresHeld.set(to: Double(core.book.figureCount))
        if let checkpoints {
            metrics.checkpointSave.set(to: Double(checkpoints.lastSaveMillis) / 1000)
            metrics.checkpointAge.set(to: checkpoints.lastSavedAt == 0 ? -1 : Double(now - checkpoints.lastSavedAt) / 1000)
        }
    }

    // MARK: Checkpoints

    var checkpoint: BookCheckpoint { core.checkpoint }

    /// What the core holds now, as a checkpoint would record it.
    var held: Checkpointing.Held { Checkpointing.Held(reports: core.book.reportCount, positions: core.positions) }

    var changedSinceCheckpoint: Bool {
        guard case .following(_, let saved, _) = checkpointing else { return false }
        return saved.map { $0 != held } ?? (core.book.reportCount > 0 || !core.positions.isEmpty)
    }

    /// Takes the checkpoint in once it has been read; the followers then replay only what came after.
    mutating func takeCheckpoint() {
        guard case .loading(let store) = checkpointing, let result = store.takeLoaded() else { return }
        if let loaded = result { core.restore(loaded) }
        checkpointing = .following(store, saved: result == nil ? nil : held, at: monotonicMillis())
        logger.info("following the ingest logs", metadata: ["figures": "\(core.book.figureCount)", "positions": "\(core.positions)"])
    }

    /// Saves a checkpoint beside the loop when the interval has passed and something changed.
    mutating func checkpointIfDue() {
        guard case .following(let store, _, let at) = checkpointing, monotonicMillis() - at >= Int64(settings.checkpointSeconds) * 1000,
            changedSinceCheckpoint, !store.isSaving
        else { return }
        store.saveInBackground(checkpoint)
        checkpointing = .following(store, saved: held, at: monotonicMillis())
    }

    /// A rebuild starts from nothing: the next checkpoint is saved whatever the last one held.
    mutating func forgetCheckpoint() {
        if case .following(let store, _, let at) = checkpointing { checkpointing = .following(store, saved: nil, at: at) }
    }
}

/// What the aggregate knows of the ingests it follows, beside each follower's own state: for
/// `status`, its problem and the lag metrics.
struct Upstreams {
    /// Upstream streams no longer followed, and why (for `status`).
    var retired: [String: String] = [:]
    /// Two endpoints claiming one stream, as last seen.
    var claimProblem: String?
    /// Ingest endpoints whose `status` does not read, by endpoint, until it does.
    var followerProblems: [String: String] = [:]
    /// When every follower was last asked to check its stream (a stream nobody follows).
    var lastVerify: Int64 = 0
    /// The last seq each ingest stream is known to hold (heartbeats, batches, status), and when
    /// the aggregate last had all of it: how far behind each follower is.
    var last: [String: UInt64] = [:]
    var caughtUpAt: [String: Int64] = [:]
    /// Feed messages (`report.batch`) that did not read, each replayed from the log instead.
    var unreadableFeed = 0
}

/// The aggregate's own series (beside `Observability`'s common ones).
struct AggregateMetrics {
    let observability: Observability
    let figures: Prometheus.Counter
    let facts: Prometheus.Counter
    let figuresHeld: Prometheus.Gauge
    let checkpointSave: Prometheus.Gauge
    let checkpointAge: Prometheus.Gauge
    let snapshot: DurationHistogram

    init(_ observability: Observability) {
        self.observability = observability
        figures = observability.counter("delivery_figures_published_total", "Figures published in figure.batch messages (each changed figure once per batch).")
        facts = observability.counter("delivery_facts_stated_total", "Facts stated (records, streaks, milestones), each numbered in the fact history.")
        figuresHeld = observability.gauge("delivery_figures", "Figures held.")
        checkpointSave = observability.gauge("delivery_checkpoint_save_seconds", "How long the last checkpoint took to write.")
        checkpointAge = observability.gauge("delivery_checkpoint_age_seconds", "Seconds since the last checkpoint was saved; -1 before the first.")
        snapshot = observability.durations(
            "delivery_snapshot_seconds", "Time to send a whole chunked snapshot to a follower.", buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30]
        )
    }

    func behindSeq(_ stream: String) -> Prometheus.Gauge {
        observability.gauge("delivery_follower_behind_seq", "Events an ingest stream holds that the aggregate has not applied.", labels: [("stream", stream)])
    }

    func behindSeconds(_ stream: String) -> Prometheus.Gauge {
        observability.gauge(
            "delivery_follower_behind_seconds", "Seconds since the aggregate last had everything an ingest stream held (0 when caught up).",
            labels: [("stream", stream)]
        )
    }
}
