import DeliveryCore
import DeliveryMessages
import Logging
import ServiceKit

/// The query replica's state, without its sockets: the figures (from snapshots, then batches: the
/// Clone pattern), the ingest positions each aggregate stream reflects, the batches held for a
/// stream not snapshotted yet, the read-your-writes wait queue, the snapshot allowance, and the
/// counts `status` gives. Each event in (a snapshot installed, a batch, a heartbeat) returns what
/// to publish; the executable does the publishing.
public struct ReplicaCore {
    public let logger: Logger
    /// The most figures a batch may change and still have its `fact` events worked out.
    public let factsPerBatch: Int
    public private(set) var replica = FigureReplica()
    /// Ingest positions each aggregate stream reflects; the replica reflects the least of them.
    public private(set) var upstream: [String: [String: UInt64]] = [:]
    /// The last ingest position whose `catalog.accepted` went out on the PUB.
    private var announced: [String: UInt64] = [:]
    /// Batches of streams not yet snapshotted, kept until the snapshot tells where to start.
    private var buffered: [String: [(seq: UInt64, frames: [[UInt8]])]] = [:]
    public private(set) var bufferedCount = 0
    public var waiting: WaitQueue<PendingQuery>
    public var allowance = SnapshotAllowance<[UInt8]>()
    public var resyncs = 0
    public private(set) var factsPublished = 0
    public private(set) var factBatchesSkipped = 0
    public var answered = 0
    public var busyReplies = 0
    /// Batches that did not read: set aside, counted, the latest kept for `status`.
    public private(set) var setAsideLog = SetAsideLog()
    /// Aggregates (by origin) whose figures of an unfinished first load are installed: the next
    /// snapshot from one replaces them whole (a load that stopped half-way leaves no ghosts).
    public private(set) var partlyLoaded = Set<UInt8>()
    public static let bufferLimit = 20_000
    public static let reserveLimit = 4_000_000
    public static let waitingLimit = 10_000

    public init(logger: Logger, factsPerBatch: Int, maxWaitingBytes: Int) {
        self.logger = logger
        self.factsPerBatch = factsPerBatch
        waiting = WaitQueue(countLimit: Self.waitingLimit, byteLimit: maxWaitingBytes)
    }

    /// A query held for its positions.
    public struct PendingQuery {
        public var request: RouterRequest
        public var head: EnvelopeHead
        public var kind: QueryKind

        public init(request: RouterRequest, head: EnvelopeHead, kind: QueryKind) {
            self.request = request
            self.head = head
            self.kind = kind
        }
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
        return changes.publications
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
            setAsideLog.record(stream, seq, "a figure.batch that does not read: \(error)", logger: logger)
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
        out += facts(changes)
        return out
    }

    /// The facts a batch's figures made true. A batch larger than `factsPerBatch` (a bulk load) is
    /// skipped and counted: a record set by a history being loaded is not news.
    mutating func facts(_ changes: ConflatedChanges) -> [Publication] {
        guard factsPerBatch > 0, changes.count > 0 else { return [] }
        guard changes.count <= factsPerBatch else {
            factBatchesSkipped += 1
            return []
        }
        let engine = QueryEngine(replica)
        var out: [Publication] = []
        for change in changes.changes where !change.removed {
            for fact in engine.liveFacts(change.key.entity, change.key.period) {
                out.append(.fact(FactEvent(entity: change.body.entity, period: change.body.period, fact: fact)))
            }
        }
        factsPublished += out.count
        return out
    }

    // MARK: Requests

    /// Whether the replica has reached `after` (every stream named at least at its seq).
    public static func reached(_ after: [String: UInt64], asOf positions: [String: UInt64]) -> Bool {
        after.allSatisfy { stream, seq in (positions[stream] ?? 0) >= seq }
    }
}
