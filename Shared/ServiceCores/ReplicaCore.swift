import DeliveryCore
import DeliveryMessages

/// The query replica's state, without its sockets: the figures (from snapshots, then batches: the
/// Clone pattern), the ingest positions each aggregate stream reflects, the batches held for a
/// stream not snapshotted yet, the read-your-writes wait queue, the snapshot allowance, and the
/// counts `status` gives. Each event in (a snapshot installed, a batch, a heartbeat) returns what
/// to publish; the executable does the publishing. A query is admitted here (answered now, held
/// for its positions, or refused `busy`), and so is a snapshot request (within each client's
/// allowance); `Request` is what the executable answers a held query on (a test uses plain
/// values).
public struct ReplicaCore<Request> {
    /// What `status` counts.
    public struct Counts: Sendable, Equatable {
        public var answered = 0
        public var busy = 0
        public var resyncs = 0
        public var factsPublished = 0
    }

    /// What became of a query as it arrived.
    public enum Admission: Equatable {
        /// The replica is loaded and has the positions asked for: answer now (`answering`).
        case answerNow
        /// Held until its positions are in or its time is up (`due`).
        case held
        /// The wait queue is full: refuse it with this message.
        case busy(String)
    }
    public private(set) var replica = FigureReplica()
    /// A copy of each aggregate's fact history (from its snapshot, then its batches): what the
    /// `facts` request answers from.
    public private(set) var factHistories: FactHistories
    /// Ingest positions each aggregate stream reflects; the replica reflects the least of them.
    public private(set) var upstream: [String: [String: UInt64]] = [:]
    /// The last ingest position whose `catalog.accepted` went out on the PUB.
    private var announced: [String: UInt64] = [:]
    /// Batches of streams not yet snapshotted, kept until the snapshot tells where to start.
    private var buffered: [String: [(seq: UInt64, frames: [[UInt8]])]] = [:]
    public private(set) var bufferedCount = 0
    public private(set) var waiting: WaitQueue<PendingQuery>
    private var allowance = SnapshotAllowance<[UInt8]>()
    public private(set) var counts = Counts()
    /// Lines to log, taken by the service after each turn (`takeLogLines`).
    public private(set) var logLines: [LogLine] = []
    /// Batches that did not read: set aside, counted, the latest kept for `status`.
    public private(set) var setAsideLog = SetAsideLog()
    /// Aggregates (by origin) whose figures of an unfinished first load are installed: the next
    /// snapshot from one replaces them whole (a load that stopped half-way leaves no ghosts).
    public private(set) var partlyLoaded = Set<UInt8>()
    public static var bufferLimit: Int { 20_000 }
    public static var reserveLimit: Int { 4_000_000 }
    public static var waitingLimit: Int { 10_000 }

    /// `factHistory`: the most facts kept of each aggregate's history (at least as many as the
    /// aggregates keep, for a token to be answered by any replica).
    public init(factHistory: Int, maxWaitingBytes: Int) {
        factHistories = FactHistories(capacity: factHistory)
        waiting = WaitQueue(countLimit: Self.waitingLimit, byteLimit: maxWaitingBytes)
    }

    /// A query held for its positions.
    public struct PendingQuery {
        public var request: Request
        public var head: EnvelopeHead
        public var kind: QueryKind

        public init(request: Request, head: EnvelopeHead, kind: QueryKind) {
            self.request = request
            self.head = head
            self.kind = kind
        }
    }

    // MARK: Admission

    /// A query arrives: answered now when the replica is `ready` and at its `after` positions,
    /// else held (a held query keeps its `bytes` until answered: bounded, so that parked queries
    /// cannot take the replica's memory), or refused when the queue is full.
    public mutating func admit(
        _ query: PendingQuery, after: [String: UInt64], timeoutMillis: Int?, bytes: Int, ready: Bool, asOf: [String: UInt64], now: Int64
    ) -> Admission {
        if ready && Positions.reached(after, asOf: asOf) { return .answerNow }
        // (A refused add leaves the queue as it was: its counts are read after it.)
        guard waiting.add(query, after: after, timeoutMillis: timeoutMillis, bytes: bytes, now: now) else {
            counts.busy += 1
            return .busy("\(waiting.count) queries (\(waiting.bytes) bytes) are already waiting for their positions")
        }
        return .held
    }

    /// A query is answered (now, or taken from the wait queue).
    public mutating func answering() {
        counts.answered += 1
    }

    /// The queries due at `now`: reached (when `ready`) or past their deadline.
    public mutating func due(now: Int64, ready: Bool, asOf: [String: UInt64]) -> [WaitQueue<PendingQuery>.Due] {
        guard !waiting.isEmpty else { return [] }
        return waiting.due(now: now, ready: ready) { Positions.reached($0, asOf: asOf) }
    }

    /// A whole-snapshot request from `client`: nil when it may be served (its allowance is taken
    /// once `queued` says the queue took it), else the wait in ms to ask again after.
    public mutating func admitSnapshot(client: [UInt8], now: Int64) -> Int? {
        guard let wait = allowance.wait(for: client, now: now) else { return nil }
        counts.busy += 1
        return wait
    }

    /// The snapshot request admitted was queued (true: its allowance is taken) or refused because
    /// the queue is full (counted busy).
    public mutating func snapshotQueued(_ queued: Bool, client: [UInt8], now: Int64) {
        if queued { allowance.take(for: client, now: now) } else { counts.busy += 1 }
    }

    /// An aggregate's stream was resynced (a gap, or a restart).
    public mutating func resynced() {
        counts.resyncs += 1
    }

    /// The lines to log since the last call.
    public mutating func takeLogLines() -> [LogLine] {
        defer { logLines = [] }
        return logLines
    }

    // MARK: Positions

    /// For each ingest stream, the least that every aggregate has applied (shards follow every
    /// ingest stream).
    public var ingestPositions: [String: UInt64] {
        var result: [String: UInt64] = [:]
        for ingest in Set(upstream.values.flatMap(\.keys)) {
            result[ingest] = upstream.values.map { $0[ingest] ?? 0 }.min()
        }
        return result
    }

    /// The positions every answer reflects: the ingest positions and each aggregate stream's own.
    public func asOf(streams: [String: UInt64]) -> [String: UInt64] {
        ingestPositions.merging(streams) { $1 }
    }

    public mutating func advance(_ stream: String, ingest: String, to seq: UInt64) {
        upstream[stream, default: [:]][ingest] = max(upstream[stream]?[ingest] ?? 0, seq)
    }

    /// An aggregate stream no longer followed (its aggregate restarted under a new one).
    public mutating func forget(stream: String) {
        upstream[stream] = nil
    }

    /// The ingest positions a heartbeat says its stream reflects.
    public mutating func takeHeartbeat(_ beat: HeartbeatBody, stream: String) {
        for (ingest, at) in beat.positions ?? [:] { advance(stream, ingest: ingest, to: at) }
    }

    // MARK: Snapshots and batches

    /// Installs an aggregate's snapshot. The first load has no subscribers to tell; a resync
    /// replaces what this aggregate had, and publishes every figure that changed (`figure.removed`
    /// for those its new state lacks).
    public mutating func install(_ snapshot: Snapshot, origin: UInt8, resync: Bool) -> [Publication] {
        let resync = resync || (partlyLoaded.contains(origin) && snapshot.handedOut == 0)
        partlyLoaded.remove(origin)
        if let catalog = snapshot.catalog { replica.replaceCatalog(catalog) }
        let parts: [[FigureRecord]]
        if case .records(let records) = snapshot.figures { parts = records } else { parts = [] }
        var changes = ConflatedChanges()
        if resync {
            changes.add(replica.replace(origin: origin, with: parts.joined()))
        } else {
            // A first load: room for every figure at once (no table grown and copied on the way).
            replica.reserveCapacity(parts.reduce(0) { $0 + $1.count })
            for part in parts {
                for figure in part { replica.receive(figure, origin: origin, reporting: false) }
            }
        }
        upstream[snapshot.stream] = snapshot.upstream
        var out = changes.publications
        // The facts stated while this replica was not following (a gap, a restart of the
        // aggregate) go out now; a first load tells nothing (no one subscribed to a new stream).
        if let facts = snapshot.facts {
            let missed = factHistories.install(facts, origin: origin)
            if resync { out += published(missed) }
        }
        return out
    }

    /// Whether the next snapshot from an aggregate may be installed part by part: only a first
    /// load (`loaded` false) that has not stopped half-way before.
    public func installsPartByPart(origin: UInt8, loaded: Bool) -> Bool {
        !loaded && !partlyLoaded.contains(origin)
    }

    /// A part of a first load, installed as it comes (nothing is answered from the figures until
    /// the last part is in: the replica is not ready). `total`, with the first part, makes room
    /// for the whole snapshot at once, up to `reserveLimit` figures (a number on the wire never
    /// reserves more than that; past it the table grows as it fills).
    public mutating func installPart(_ records: [FigureRecord], origin: UInt8, total: Int?) {
        partlyLoaded.insert(origin)
        if let total { replica.reserveCapacity(min(max(total, 0), Self.reserveLimit)) }
        for figure in records { replica.receive(figure, origin: origin, reporting: false) }
    }

    /// Holds a batch of a stream no snapshot has named yet (up to `bufferLimit` in all).
    public mutating func hold(stream: String, seq: UInt64, frames: [[UInt8]]) {
        guard bufferedCount < Self.bufferLimit else { return }
        buffered[stream, default: []].append((seq, frames))
        bufferedCount += 1
    }

    /// The batches held for a stream, in seq order, now that a snapshot has named it.
    public mutating func takeHeld(stream: String) -> [(seq: UInt64, frames: [[UInt8]])] {
        let held = buffered.removeValue(forKey: stream) ?? []
        bufferedCount -= held.count
        return held.sorted { $0.seq < $1.seq }
    }

    /// Applies one `figure.batch` of an aggregate stream: the catalog puts, every figure (each once,
    /// conflated), then the reports and catalog puts, so that a subscriber that sees
    /// `report.accepted` has its figures, and last the facts the figures made true.
    public mutating func apply(frames: [[UInt8]], stream: String, seq: UInt64, origin: UInt8) -> [Publication] {
        let batch: FigureBatch
        do {
            guard frames.count == 3 else { throw LinkError("\(frames.count) frames; a figure.batch has 3") }
            batch = try FigureBatch(decoding: frames[2])
        } catch {
            logLines.append(setAsideLog.record(stream, seq, "a figure.batch that does not read: \(error)"))
            return []
        }
        for event in batch.catalogs { replica.mergeCatalog(event.catalog) }
        var changes = ConflatedChanges()
        for figure in batch.figures { changes.add(replica.receive(figure, origin: origin)) }
        var out = changes.publications
        for (ingest, position) in batch.upstream { advance(stream, ingest: ingest, to: position) }
        // Every shard applies every put and sends it; the replica's PUB carries it once. (A report
        // comes from the one shard that owns it.)
        for event in batch.catalogs where event.seq > announced[event.stream] ?? 0 {
            announced[event.stream] = event.seq
            out.append(.catalog(event))
        }
        out += batch.reports.map { .report($0) }
        out += published(factHistories.take(batch.facts, origin: origin))
        return out
    }

    /// Facts the aggregate stated, each with its place in its history, as `fact` events.
    mutating func published(_ facts: [FactEvent]) -> [Publication] {
        counts.factsPublished += facts.count
        return facts.map { .fact($0) }
    }
}

/// Positions in the streams (stream id → seq), as `after` and `asOf` give them.
public enum Positions {
    /// Whether `positions` reach `after` (every stream named at least at its seq).
    public static func reached(_ after: [String: UInt64], asOf positions: [String: UInt64]) -> Bool {
        after.allSatisfy { stream, seq in (positions[stream] ?? 0) >= seq }
    }
}
