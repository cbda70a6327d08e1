import DeliveryCore
import DeliveryMessages
import Foundation
import Logging
import Prometheus
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
    /// Feed messages (`report.batch`) that did not read, each replayed from the log instead.
    var unreadableFeed = 0
    /// Snapshot requests waiting their turn (one is answered per loop turn, so that snapshots
    /// never starve the live feed), and the last snapshot built, reused while nothing changed.
    var snapshotQueue = SnapshotQueue()
    /// Chunked snapshots under way: each sends one part per loop turn from a frozen copy of the
    /// book (copy on write: the live book goes on changing), so a large snapshot never stalls
    /// the live feed.
    var chunkedSnapshots: [ChunkedSnapshot] = []
    static let chunkedLimit = 4
    /// What this turn applied and has not published yet: each changed figure once (conflated),
    /// the reports and catalog puts behind them. Published as one `figure.batch` per turn.
    var pendingFigures = Set<UInt64>()
    var pendingReports: [ReportAcceptedEvent] = []
    var pendingCatalogs: [CatalogAcceptedEvent] = []
    var publishedPositions: [String: UInt64] = [:]
    /// Upstream streams no longer followed, and why (for `status`).
    var retired: [String: String] = [:]
    /// Two endpoints claiming one stream, as last seen.
    var claimProblem: String?
    /// Ingest endpoints whose `status` does not read, by endpoint, until it does.
    var followerProblems: [String: String] = [:]
    var rebuilds = 0
    var lastVerify: Int64 = 0
    /// Which put first defined each brand and model (its parent), for catalog conflicts.
    var definedBy: [EntityKey: (stream: String, seq: UInt64)] = [:]
    /// Entries dropped from puts that lost a conflict, by put ("stream#seq"); kept through rebuilds.
    var catalogLosers: [String: Set<EntityKey>] = [:]
    var catalogConflicts: [String: String] = [:]
    /// Set when the state must be built again from every log (handled between turns).
    var rebuildWanted: String?
    /// Puts that lost a conflict and name what only the winning put defines: merged once it has.
    var heldCatalogs: [(CatalogDocument, String, UInt64)] = []
    static let figuresPerMessage = 20_000
    static let feedBudgetMillis: Int64 = 50
    /// Whether the checkpoint (or its absence) has been taken in: until then the aggregate answers
    /// `ping` and `status` but follows nothing.
    var recovered = false
    var checkpoints: CheckpointStore?
    /// What the last checkpoint held (reports applied, positions), to save only after a change.
    var checkpointed: (reports: Int, positions: [String: UInt64])?
    var lastCheckpointAt: Int64 = 0

    let observability: Observability
    let metrics: AggregateMetrics
    /// The last seq each ingest stream is known to hold (heartbeats, batches, status), and when
    /// the aggregate last had all of it: how far behind each follower is.
    var upstreamLast: [String: UInt64] = [:]
    var caughtUpAt: [String: Int64] = [:]

    init(settings: AggregateService.Settings, logger: Logger, observability: Observability) {
        self.settings = settings
        self.logger = logger
        self.observability = observability
        metrics = AggregateMetrics(observability)
    }

    /// The requests an aggregate answers.
    enum Requests: String, RequestSet, CaseIterable {
        case snapshot, status, ping
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
            checkpoints = store
        } else {
            recovered = true
        }
        defer { withExtendedLifetime(lock) {} }
        let epoch = String(UInt64(wallMillis()), radix: 36)
        let shell = try ServiceShell<Requests>(stream: "aggregate-\(settings.instance)-\(epoch)", settings: settings.shell, logger: logger)
        defer { shell.close() }
        let publisher = shell.publisher
        let feed = try shell.upstreamFeed(
            settings.ingestFeeds, prefixes: [Topic.reportBatch, Topic.catalog, Topic.heartbeat], serverKey: settings.ingestPublicKey
        )
        var followers: [IngestFollower] = []
        for endpoint in settings.ingestEndpoints {
            followers.append(IngestFollower(endpoint: endpoint, client: try shell.upstreamClient(endpoint, serverKey: settings.ingestPublicKey)))
        }
        logger.info(
            "aggregate starting",
            metadata: ["stream": "\(publisher.stream)", "zmq.endpoint": "\(settings.shell.bind)", "zmq.publish": "\(settings.shell.publish)"]
        )
        while !stop.isSet {
            // The followers' sockets are listed anew each turn: one whose request timed out has a new one.
            let wake = try shell.wait(
                for: [(Wake.feed, feed)] + followers.enumerated().map { (Wake.follower($0), $1.client.pollable) },
                timeout: snapshotQueue.isEmpty && chunkedSnapshots.isEmpty ? 100 : 0
            )
            if wake.contains(.feed) { drainFeed(feed, followers: followers, publisher: publisher) }
            for (index, follower) in followers.enumerated() where wake.contains(.follower(index)) {
                takeReplies(follower, followers: followers, publisher: publisher)
            }
            if let reason = rebuildWanted { rebuild(followers: followers, publisher: publisher, reason: reason) }
            flush(publisher)
            if !recovered { takeCheckpoint() }
            if recovered {
                for follower in followers { try tend(follower) }
            }
            let isReady = recovered && followers.allSatisfy(\.caughtUp)
            shell.noteReady(isReady, "aggregate ready", ["figures": "\(book.figureCount)", "positions": "\(positions)"])
            if wake.requests {
                shell.serve(stop: stop) { request, head, kind in
                    handle(request, head, kind, shell: shell, ready: isReady)
                }
            }
            serveOneSnapshot(router: shell.router, publisher: publisher)
            serveSnapshotParts(router: shell.router)
            shell.endTurn(
                worked: wake.any, observability: observability, ready: isReady,
                problem: problem(shell.monitor, ready: isReady), positions: positions
            )
            if observability.sampled { sampleMetrics(shell.monitor) }
            checkpointIfDue()
        }
        // Stopped (SIGTERM): the state as it is now, so that the next start replays nothing.
        if let checkpoints, recovered, changedSinceCheckpoint {
            checkpoints.saveNow(checkpoint)
        }
    }

    // MARK: Metrics

    /// Refreshes the gauges (about once a second): how far behind each ingest stream it is, in
    /// seq and in seconds, and the checkpoint's age and last save time.
    mutating func sampleMetrics(_ monitor: LinkMonitor) {
        observability.sample(monitor)
        let now = monotonicMillis()
        for (stream, last) in upstreamLast {
            let applied = positions[stream] ?? 0
            if applied >= last { caughtUpAt[stream] = now }
            let behind = last > applied ? last - applied : 0
            metrics.behindSeq(stream).set(to: Double(behind))
            metrics.behindSeconds(stream).set(to: behind == 0 ? 0 : Double(now - (caughtUpAt[stream] ?? started)) / 1000)
        }
        metrics.figuresHeld.set(to: Double(book.figureCount))
        if let checkpoints {
            metrics.checkpointSave.set(to: Double(checkpoints.lastSaveMillis) / 1000)
            metrics.checkpointAge.set(to: checkpoints.lastSavedAt == 0 ? -1 : Double(now - checkpoints.lastSavedAt) / 1000)
        }
    }

    // MARK: Checkpoints

    var checkpoint: BookCheckpoint {
        BookCheckpoint(
            book: book, groups: settings.groups.sorted(), positions: positions, waiting: waiting, skipped: skipped,
            setAside: setAsideLog.count
        )
    }

    var changedSinceCheckpoint: Bool {
        checkpointed.map { $0.reports != book.reportCount || $0.positions != positions } ?? (book.reportCount > 0 || !positions.isEmpty)
    }

    /// Takes the checkpoint in once it has been read: the book, positions and waiting reports as
    /// they were; the followers then replay only what came after.
    mutating func takeCheckpoint() {
        guard let result = checkpoints?.takeLoaded() else { return }
        if let loaded = result {
            book = loaded.book
            positions = loaded.positions
            waiting = loaded.waiting
            skipped = loaded.skipped
            checkpointed = (book.reportCount, positions)
        }
        recovered = true
        lastCheckpointAt = monotonicMillis()
        logger.info("following the ingest logs", metadata: ["figures": "\(book.figureCount)", "positions": "\(positions)"])
    }

    /// Saves a checkpoint beside the loop when the interval has passed and something changed.
    mutating func checkpointIfDue() {
        guard let checkpoints, recovered, monotonicMillis() - lastCheckpointAt >= Int64(settings.checkpointSeconds) * 1000,
            changedSinceCheckpoint, !checkpoints.isSaving
        else { return }
        checkpoints.saveInBackground(checkpoint)
        checkpointed = (book.reportCount, positions)
        lastCheckpointAt = monotonicMillis()
    }

    // MARK: Following ingest

    /// Sends what a follower needs next: its status, or a replay page (`IngestFollower.tend`).
    mutating func tend(_ follower: IngestFollower) throws {
        try follower.tend(from: (follower.stream.flatMap { positions[$0] } ?? 0) &+ 1, now: monotonicMillis(), timeout: Self.requestTimeout)
    }

    /// What a follower's `status` tells: the stream behind its endpoint and the log's last seq.
    /// A stream another endpoint already claims is refused (reported, never merged); a stream that
    /// replaced the one followed is followed from its start, the old one retired and named in
    /// `status`; a log behind what was applied (restored from a backup) makes the aggregate
    /// rebuild from every log under a new epoch.
    mutating func learned(_ follower: IngestFollower, stream: String, last: UInt64, followers: [IngestFollower], publisher: Publisher) {
        if let other = followers.first(where: { $0 !== follower && $0.stream == stream }) {
            let problem = "ingest endpoints \(other.endpoint) and \(follower.endpoint) both claim stream \(stream); only the first is followed"
            if claimProblem != problem {
                logger.error("two ingest endpoints claim one stream", metadata: ["stream": "\(stream)", "first": "\(other.endpoint)", "second": "\(follower.endpoint)"])
            }
            claimProblem = problem
            follower.relearn(until: monotonicMillis() + 5000)
            return
        }
        if let old = follower.stream, old != stream {
            let note = "replaced at \(follower.endpoint) by \(stream); its \(positions[old] ?? 0) events stay applied"
            retired[old] = note
            logger.warning("the log behind an ingest endpoint changed; following the new stream", metadata: ["old": "\(old)", "stream": "\(stream)", "zmq.endpoint": "\(follower.endpoint)"])
        }
        let applied = positions[stream] ?? 0
        if applied > last {
            logger.error(
                "an ingest log is behind what was applied from it (restored from a backup?); rebuilding from every log",
                metadata: ["stream": "\(stream)", "applied": "\(applied)", "last": "\(last)", "zmq.endpoint": "\(follower.endpoint)"]
            )
            rebuild(followers: followers, publisher: publisher, reason: "\(stream) went back from seq \(applied) to \(last)")
            return
        }
        positions[stream] = applied
        upstreamLast[stream] = last
        follower.learned(stream: stream, behind: applied < last)
    }

    /// Starts again from nothing under a new epoch: replicas resync and drop what the old state
    /// had; every log is replayed from its start.
    mutating func rebuild(followers: [IngestFollower], publisher: Publisher, reason: String) {
        book = FigureBook()
        positions = [:]
        waiting = []
        skipped = 0
        pendingFigures.removeAll()
        pendingReports.removeAll()
        pendingCatalogs.removeAll()
        publishedPositions = [:]
        snapshotQueue.forget()
        checkpointed = nil
        definedBy = [:]
        heldCatalogs = []
        rebuildWanted = nil
        rebuilds += 1
        publisher.restart(as: "aggregate-\(settings.instance)-\(String(UInt64(wallMillis()), radix: 36))")
        logger.warning("rebuilding from every ingest log", metadata: ["reason": "\(reason)", "stream": "\(publisher.stream)"])
        for follower in followers { follower.relearn() }
    }

    mutating func takeReplies(_ follower: IngestFollower, followers: [IngestFollower], publisher: Publisher) {
        while let (head, json, attachment) = try? follower.client.takeWithAttachment() {
            guard let pending = follower.pending, head.id == .string(pending.id) else { continue }
            follower.pending = nil
            switch pending {
            case .status:
                guard case .success(let status) = Wire.decodeBody(StatusResult.self, from: json),
                    let stream = status.streams.first
                else {
                    // Not an ingest's status (another service, an error, a body that does not
                    // read): ask again after a pause, named in status.problem until one reads.
                    let problem = "\(follower.endpoint) answers status with what an ingest does not send: \(excerpt(bytes: json))"
                    followerProblems[follower.endpoint] = problem
                    if follower.failed(now: monotonicMillis()) {
                        logger.warning("unexpected status reply; asking again after a pause", metadata: [
                            "zmq.endpoint": "\(follower.endpoint)", "reply": "\(excerpt(bytes: json))", "failures": "\(follower.failures)",
                        ])
                    }
                    continue
                }
                follower.answered()
                followerProblems[follower.endpoint] = nil
                learned(follower, stream: stream, last: status.positions[stream] ?? 0, followers: followers, publisher: publisher)
            case .replay:
                let head: BinaryReplayHead
                let events: [LoggedEvent]
                do {
                    guard case .success(let decoded) = Wire.decodeBody(BinaryReplayHead.self, from: json), let attachment else {
                        throw LinkError(excerpt(bytes: json, limit: 200))
                    }
                    head = decoded
                    events = try EventBatch.decode(attachment, stream: decoded.stream)
                } catch {
                    // An error reply or a reply that does not read: ask again later, not at once.
                    guard follower.failed(now: monotonicMillis()) else { continue }
                    logger.warning(
                        "replay failed; asking again after a pause",
                        metadata: [
                            "zmq.endpoint": "\(follower.endpoint)", "error": "\(error)",
                            "from": "\((positions[follower.stream ?? ""] ?? 0) &+ 1)", "failures": "\(follower.failures)",
                        ]
                    )
                    continue
                }
                for event in events {
                    apply(event, publisher: publisher)
                }
                follower.replayed(reachedLast: (positions[head.stream] ?? 0) >= head.last)
            }
        }
    }

    /// Applies what the ingest feeds have queued: `report.batch` (a committed batch, binary) and
    /// `catalog.accepted`, each only when it follows on from the stream's position; a gap or a
    /// heartbeat ahead asks for a replay instead.
    mutating func drainFeed(_ feed: Socket, followers: [IngestFollower], publisher: Publisher) {
        // A time budget, not a message count: a message is a whole batch, and requests must be
        // answered between turns however much the feed has queued.
        let until = monotonicMillis() + Self.feedBudgetMillis
        while monotonicMillis() < until {
            guard let frames = try? feed.receive(wait: false) else { return }
            guard frames.count >= 2, case .success(let (head, message)) = Wire.parse(frames[1]),
                let stream = head.stream, let seq = head.seq
            else { continue }
            guard let follower = followers.first(where: { $0.stream == stream }) else {
                // A stream nobody follows: an ingest whose log changed behind its endpoint (or one
                // not learned yet). Each follower asks its `status` again, at most every 2 s.
                if retired[stream] == nil, monotonicMillis() - lastVerify > 2000 {
                    lastVerify = monotonicMillis()
                    for follower in followers { follower.verifyWanted = true }
                }
                continue
            }
            let applied = positions[stream] ?? 0
            upstreamLast[stream] = max(upstreamLast[stream] ?? 0, seq)
            if head.kind == .heartbeat {
                if seq > applied { follower.gap() }
                // Behind what was applied: a log restored from a backup, or just a heartbeat sent
                // before the last replay; `status` tells which.
                if seq < applied { follower.verifyWanted = true }
                continue
            }
            if seq <= applied { continue }
            let first: UInt64
            if head.kind == .reportBatch {
                guard case .success(let batch) = Wire.decodeBody(BatchHead.self, in: message), let from = batch.first, from <= seq else {
                    follower.gap()
                    continue
                }
                first = from
            } else {
                first = seq
            }
            guard first == applied &+ 1, follower.takesFeed else {
                // A gap, or a catch-up still under way: the log has it; replay from there.
                follower.gap()
                continue
            }
            switch head.kind {
            case .reportBatch?:
                do {
                    guard frames.count == 3 else { throw LinkError("\(frames.count) frames; a report.batch has 3") }
                    for event in try EventBatch.decode(frames[2], stream: stream) { apply(event, publisher: publisher) }
                } catch {
                    // The log has it: replay reads the same events from the file.
                    unreadableFeed += 1
                    if follower.unreadable() {
                        logger.warning("a report.batch does not read; replaying", metadata: [
                            "stream": "\(stream)", "seq": "\(seq)", "error": "\(error)", "unreadable": "\(follower.unreadableFeed)",
                        ])
                    }
                }
            case .catalogAccepted?:
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
        guard event.seq == applied &+ 1 else { return }
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
        } else if let put = event.catalog {
            let document = resolveConflicts(put, stream: event.stream, seq: event.seq)
            guard rebuildWanted == nil else { return }
            applyCatalog(document, stream: event.stream, seq: event.seq, publisher: publisher)
        }
    }

    /// Merges a catalog put (conflicts resolved), then the puts held for it and the reports
    /// waiting for their entities. A put that lost a conflict may name the contested brand before
    /// the winning put has defined it (a replay in another order): it is held until it merges,
    /// not set aside.
    mutating func applyCatalog(_ document: CatalogDocument, stream: String, seq: UInt64, publisher: Publisher) {
        do {
            try book.apply(catalog: document)
        } catch {
            if catalogLosers["\(stream)#\(seq)"] != nil {
                heldCatalogs.append((document, stream, seq))
                return
            }
            setAside(stream, seq, "the catalog document does not merge: \(error.message)")
            return
        }
        for brand in document.brands where definedBy[EntityKey(.brand, brand.id)] == nil {
            definedBy[EntityKey(.brand, brand.id)] = (stream, seq)
        }
        for model in document.models where definedBy[EntityKey(.model, model.id)] == nil {
            definedBy[EntityKey(.model, model.id)] = (stream, seq)
        }
        // The change only: followers hold the rest from their snapshot.
        pendingCatalogs.append(CatalogAcceptedEvent(catalog: document, stream: stream, seq: seq))
        let held = heldCatalogs
        heldCatalogs = []
        for (document, stream, seq) in held {
            applyCatalog(document, stream: stream, seq: seq, publisher: publisher)
        }
        let retry = waiting
        waiting = []
        for (report, stream, seq) in retry {
            apply(report, stream: stream, seq: seq, publisher: publisher)
        }
    }

    /// What `status` and health name as wrong: a link, a claimed instance name, an ingest that
    /// answers what an ingest does not send, or why it is not ready yet.
    func problem(_ monitor: LinkMonitor, ready: Bool) -> String? {
        monitor.problem ?? claimProblem ?? followerProblems.values.min() ?? (ready ? nil : notReadyReason)
    }

    var notReadyReason: String {
        recovered ? "catching up with the ingest logs" : "loading the checkpoint"
    }

    /// Catalog puts from different ingests that put one brand (or model) under different parents:
    /// the put later in the order of puts (the FNV-1a hash of its stream id, then its seq, as for
    /// reports) wins, whatever order they arrive in; the other put's entry is dropped. When the
    /// winner arrives after the loser was applied, everything is applied again (a rebuild, the
    /// decision kept). Each conflict is logged with both puts and listed in `status`.
    mutating func resolveConflicts(_ put: CatalogDocument, stream: String, seq: UInt64) -> CatalogDocument {
        let key = "\(stream)#\(seq)"
        let document = Catalog.without(catalogLosers[key] ?? [], in: put)
        let mine = ReportOrder(at: 0, stream: ReportOrder.hash(stream), seq: seq)
        for move in book.catalog.moves(in: document) {
            guard let definer = definedBy[move.entity] else {
                // Defined by a put from before the checkpoint: which put that was is known only
                // by applying everything again.
                rebuildWanted = "a catalog conflict with a put from before the checkpoint (\(move.entity))"
                continue
            }
            let theirs = ReportOrder(at: 0, stream: ReportOrder.hash(definer.stream), seq: definer.seq)
            let winner = mine > theirs ? "\(stream) seq \(seq)" : "\(definer.stream) seq \(definer.seq)"
            let text =
                "\(move.entity.level.rawValue) '\(move.entity.id)' is under '\(move.from)' in \(definer.stream) seq \(definer.seq) "
                + "and under '\(move.to)' in \(stream) seq \(seq); \(winner) wins"
            if catalogConflicts[move.entity.description] != text {
                logger.error("catalog puts from two ingests conflict", metadata: ["conflict": "\(text)"])
            }
            catalogConflicts[move.entity.description] = text
            if mine > theirs {
                catalogLosers["\(definer.stream)#\(definer.seq)", default: []].insert(move.entity)
                rebuildWanted = "a catalog conflict decided for a put that came later: \(text)"
            } else {
                catalogLosers[key, default: []].insert(move.entity)
            }
        }
        return Catalog.without(catalogLosers[key] ?? [], in: document)
    }

    mutating func setAside(_ stream: String, _ seq: UInt64, _ reason: String) {
        setAsideLog.record(stream, seq, reason, logger: logger)
    }

    /// Applies a report this shard owns (or keeps it until the catalog knows its entity); the
    /// figures it changed and the report go out with the turn's `figure.batch`.
    mutating func apply(_ report: DeliveryReport, stream: String, seq: UInt64, publisher: Publisher) {
        let owned = settings.groups.isEmpty || settings.groups.contains(report.entity.path.first ?? "market")
        guard owned else {
            skipped += 1
            return
        }
        guard book.catalog.contains(EntityKey(report.entity.level, report.entity.id)) else {
            waiting.append((report, stream, seq))
            return
        }
        for change in book.apply(report, stream: stream, seq: seq) {
            pendingFigures.insert(change.figure)
        }
        pendingReports.append(ReportAcceptedEvent(report: report, stream: stream, seq: seq))
    }

    /// Publishes what this turn applied: each changed figure once with its final value, then the
    /// reports and catalog puts and the ingest positions reached (in the last message, so that a
    /// follower that sees them has every figure they changed). Large turns are split.
    mutating func flush(_ publisher: Publisher) {
        guard !pendingFigures.isEmpty || !pendingReports.isEmpty || !pendingCatalogs.isEmpty || publishedPositions != positions
        else { return }
        let figures = pendingFigures.sorted().compactMap { book.record($0) }
        var start = 0
        repeat {
            let end = min(start + Self.figuresPerMessage, figures.count)
            let last = end == figures.count
            let batch = FigureBatch(
                upstream: last ? positions : [:], catalogs: last ? pendingCatalogs : [], reports: last ? pendingReports : [],
                figures: Array(figures[start..<end])
            )
            do {
                metrics.figures.increment(by: Int64(batch.figures.count))
                observability.published.increment()
                publisher.publish(
                    topic: Topic.figureBatch, type: MessageType.figureBatch,
                    body: BatchHead(figures: batch.figures.count, reports: batch.reports.count, catalogs: batch.catalogs.count),
                    attachment: try batch.encoded()
                )
            } catch {
                logger.error("a batch could not be encoded; followers will resync", metadata: ["error": "\(error)"])
                publisher.skip()
            }
            start = end
        } while start < figures.count
        pendingFigures.removeAll(keepingCapacity: true)
        pendingReports.removeAll(keepingCapacity: true)
        pendingCatalogs.removeAll()
        publishedPositions = positions
    }

    // MARK: Requests

    mutating func handle(_ request: RouterRequest, _ head: EnvelopeHead, _ kind: Requests, shell: ServiceShell<Requests>, ready: Bool) {
        let router = shell.router
        let publisher = shell.publisher
        let monitor = shell.monitor
        switch kind {
        case .ping:
            shell.ping(request, head, service: "aggregate", instance: settings.instance, notReady: ready ? nil : notReadyReason)
        case .status:
            let body = StatusResult(
                service: "aggregate", version: serviceVersion, instance: settings.instance,
                streams: [publisher.stream], positions: positions.merging([publisher.stream: publisher.seq]) { $1 },
                counts: [
                    "figures": book.figureCount, "reports": book.reportCount, "waiting": waiting.count,
                    "notOwned": skipped, "setAside": setAsideLog.count, "unreadableFeed": unreadableFeed, "rebuilds": rebuilds, "snapshotsQueued": snapshotQueue.count,
                    "connections": monitor.connections, "refusedConnections": monitor.refused,
                    "checkpointBytes": checkpoints?.lastBytes ?? 0, "checkpointReports": checkpoints?.lastReports ?? 0, "checkpointSaveMs": Int(checkpoints?.lastSaveMillis ?? 0),
                    "checkpointAgeSeconds": checkpoints.map { $0.lastSavedAt == 0 ? -1 : Int((monotonicMillis() - $0.lastSavedAt) / 1000) } ?? -1,
                ],
                uptimeSeconds: Double(monotonicMillis() - started) / 1000, ready: ready,
                endpoints: ["bind": settings.shell.bind, "publish": settings.shell.publish],
                problem: problem(monitor, ready: ready),
                setAside: setAsideLog.latest, links: monitor.links, retired: retired.isEmpty ? nil : retired,
                conflicts: catalogConflicts.isEmpty ? nil : catalogConflicts.values.sorted()
            )
            request.reply(Envelope(MessageType.statusResult, id: head.id, body: body), on: router)
        case .snapshot:
            guard ready else {
                request.reply(ProtocolError(.unavailable, "catching up with the ingest logs; ask again", id: head.id), on: router)
                return
            }
            switch Wire.decodeBody(SnapshotRequest.self, in: request.message, id: head.id, code: .invalidQuery) {
            case .failure(let error):
                request.reply(error, on: router)
            case .success(let query):
                if let chunk = query.chunk {
                    guard chunkedSnapshots.count < Self.chunkedLimit else {
                        request.reply(busy("\(chunkedSnapshots.count) chunked snapshots are under way", id: head.id, retryAfterMs: 500), on: router)
                        return
                    }
                    // Frozen here: every part reflects this position, however long the parts take.
                    chunkedSnapshots.append(
                        ChunkedSnapshot(
                            request: request.stripped, id: head.id, book: book, ids: book.figureIDs, chunk: min(max(chunk, 100), 100_000),
                            positions: [publisher.stream: publisher.seq], upstream: positions
                        )
                    )
                    return
                }
                _ = snapshotQueue.add(request, id: head.id, prefix: query.prefix ?? "", router: router)
            }
        }
    }

    /// Sends the next part of each chunked snapshot under way (one part each per loop turn).
    mutating func serveSnapshotParts(router: Socket) {
        guard !chunkedSnapshots.isEmpty else { return }
        for index in chunkedSnapshots.indices {
            chunkedSnapshots[index].sendNext(on: router)
            if chunkedSnapshots[index].done {
                metrics.snapshot.record(.milliseconds(monotonicMillis() - chunkedSnapshots[index].started))
            }
        }
        chunkedSnapshots.removeAll { $0.done }
    }

    /// Answers the oldest queued snapshot request (`SnapshotQueue`).
    mutating func serveOneSnapshot(router: Socket, publisher: Publisher) {
        guard !snapshotQueue.isEmpty else { return }
        var queue = snapshotQueue
        defer { snapshotQueue = queue }
        queue.serveOne(router: router, seq: publisher.seq) { prefix in
            let figures = book.keys.compactMap { book.body($0, previous: nil) }
                .filter { prefix.isEmpty || $0.entity.topic("figure").hasPrefix(prefix) }
            return SnapshotResult(
                figures: figures, positions: [publisher.stream: publisher.seq], upstream: positions, catalog: book.catalog.document
            )
        }
    }
}


/// A snapshot sent in parts from a frozen copy of the book: the zguide's Clone pattern streams a
/// large state the same way, ending with a marker (here, `last` on the final part).
struct ChunkedSnapshot {
    let request: RouterRequest
    let id: JSONValue
    let book: FigureBook
    let ids: [UInt64]
    let chunk: Int
    let positions: [String: UInt64]
    let upstream: [String: UInt64]
    var next = 0
    var part = 0
    var done = false
    let started = monotonicMillis()

    mutating func sendNext(on router: Socket) {
        let end = min(next + chunk, ids.count)
        let records = ids[next..<end].compactMap { book.record($0) }
        let head = SnapshotPart(
            part: part, last: end == ids.count, figures: records.count, positions: positions, upstream: upstream,
            catalog: part == 0 ? book.catalog.document : nil
        )
        request.reply(Envelope(MessageType.snapshotPart, id: id, body: head), attachment: FigureList.encode(records), on: router)
        next = end
        part += 1
        done = end == ids.count
    }
}

/// The aggregate's own series (beside `Observability`'s common ones).
struct AggregateMetrics {
    let observability: Observability
    let figures: Prometheus.Counter
    let figuresHeld: Prometheus.Gauge
    let checkpointSave: Prometheus.Gauge
    let checkpointAge: Prometheus.Gauge
    let snapshot: DurationHistogram

    init(_ observability: Observability) {
        self.observability = observability
        figures = observability.counter("delivery_figures_published_total", "Figures published in figure.batch messages (each changed figure once per batch).")
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
