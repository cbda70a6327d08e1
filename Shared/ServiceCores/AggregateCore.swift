import DeliveryCore
import DeliveryMessages

/// The aggregate's state, without its sockets: every figure (a `FigureBook`), the position applied
/// of each ingest stream, reports waiting for their entity, catalog conflicts settled the same way
/// whatever order the puts arrive in, and what this turn changed and has not published yet.
/// Events go in (`apply`), batches to publish come out (`flush`); the executable follows the
/// ingests, answers requests and saves checkpoints.
public struct AggregateCore {
    /// Lines to log, taken by the service after each turn (`takeLogLines`).
    public private(set) var logLines: [LogLine] = []
    /// The groups this shard owns (empty: every one).
    public let groups: Set<String>
    public private(set) var book = FigureBook()
    /// Last applied seq per ingest stream.
    public private(set) var positions: [String: UInt64] = [:]
    /// Reports whose entity the catalog does not know yet (a catalog put on another ingest stream
    /// may still be on its way); applied after the next catalog change.
    public private(set) var waiting: [(DeliveryReport, String, UInt64)] = []
    public private(set) var skipped = 0
    /// Stored events that could not be applied: counted, the latest kept for `status`.
    public private(set) var setAsideLog = SetAsideLog()
    public private(set) var rebuilds = 0
    /// Set when the state must be built again from every log (handled between turns).
    public private(set) var rebuildWanted: String?
    /// How catalog conflicts between ingests were settled.
    private var settlement = CatalogSettlement()
    /// The conflicts settled, by entity, as `status` lists them.
    public var catalogConflicts: [String: String] { settlement.conflicts }
    /// What this turn applied and has not published yet.
    private var unpublished = Unpublished()
    public static let figuresPerMessage = 20_000
    /// The facts it states (`FactStating`).
    public private(set) var stating: FactStating
    public var factsPerBatch: Int { stating.perBatch }
    /// Every fact this aggregate stated, numbered (kept by the service in its fact journal).
    public var facts: FactHistory { stating.history }
    public var statedThrough: [String: UInt64] { stating.through }
    public var factBatchesSkipped: Int { stating.skipped }

    public init(groups: Set<String>, factsPerBatch: Int = 0, facts: FactHistory = FactHistory(id: "none", capacity: 1)) {
        self.groups = groups
        stating = FactStating(perBatch: factsPerBatch, history: facts)
    }

    /// Takes in the fact history kept on disk, and how far it had stated facts.
    public mutating func adopt(facts history: FactHistory, statedThrough positions: [String: UInt64]) {
        stating.history = history
        stating.through = positions
    }

    /// A stream is followed from now on: its position shows (0 until something is applied).
    public mutating func follow(_ stream: String) {
        if positions[stream] == nil { positions[stream] = 0 }
    }

    /// The lines to log since the last call.
    public mutating func takeLogLines() -> [LogLine] {
        defer { logLines = [] }
        return logLines
    }

    // MARK: Checkpoints

    /// The state as a checkpoint, for the groups this shard owns.
    public var checkpoint: BookCheckpoint {
        BookCheckpoint(book: book, groups: groups.sorted(), positions: positions, waiting: waiting, skipped: skipped, setAside: setAsideLog.count)
    }

    /// Takes a checkpoint in: the book, positions and waiting reports as they were.
    public mutating func restore(_ loaded: BookCheckpoint) {
        stating.coverage = CoverageMemo()
        book = loaded.book
        positions = loaded.positions
        waiting = loaded.waiting
        skipped = loaded.skipped
    }

    /// Starts again from nothing (a rebuild under a new epoch): every log is replayed from its
    /// start. The decisions on catalog conflicts are kept.
    public mutating func reset() {
        stating.coverage = CoverageMemo()
        book = FigureBook()
        positions = [:]
        waiting = []
        skipped = 0
        unpublished = Unpublished()
        // The losers of settled conflicts are kept through a rebuild: they lose again.
        settlement = CatalogSettlement(conflicts: settlement.conflicts, losers: settlement.losers)
        rebuildWanted = nil
        rebuilds += 1
    }

    // MARK: Applying

    /// Applies the next event of a stream (any other is ignored). No event stops the aggregate:
    /// one that cannot be applied (unreadable in the log, out of range, a catalog that does not
    /// merge) is set aside, named in the log and in `status`, and the stream goes on past it.
    public mutating func apply(_ event: StreamEvent) {
        let applied = positions[event.stream] ?? 0
        guard event.seq == applied &+ 1 else { return }
        positions[event.stream] = event.seq
        switch event.content {
        case .unreadable(_, let problem):
            setAside(event.stream, event.seq, "unreadable in the log: \(problem)")
        case .report(let report):
            if let reason = ReportValidator.unusable(report) {
                setAside(event.stream, event.seq, "report '\(report.id)': \(reason)")
                return
            }
            apply(report, stream: event.stream, seq: event.seq)
        case .catalog(let put):
            let document = resolveConflicts(put, stream: event.stream, seq: event.seq)
            guard rebuildWanted == nil else { return }
            applyCatalog(document, stream: event.stream, seq: event.seq)
        }
    }

    /// Applies a report this shard owns (or keeps it until the catalog knows its entity).
    mutating func apply(_ report: DeliveryReport, stream: String, seq: UInt64) {
        // A segment's total, like the market's own reports, belongs to the shard that owns "market".
        let owner = report.entity.level == .segment ? "market" : report.entity.path.first ?? "market"
        guard groups.isEmpty || groups.contains(owner) else {
            skipped += 1
            return
        }
        guard book.catalog.contains(EntityKey(report.entity.level, report.entity.id)) else {
            waiting.append((report, stream, seq))
            return
        }
        let news = seq > stating.through[stream] ?? 0
        for change in book.apply(report, stream: stream, seq: seq) {
            unpublished.figures.insert(change.figure)
            if news { unpublished.factFigures.insert(change.figure) }
        }
        unpublished.reports.append(ReportAcceptedEvent(report: report, stream: stream, seq: seq))
    }

    /// Merges a catalog put (conflicts resolved), then the puts held for it and the reports
    /// waiting for their entities. A put that lost a conflict may name the contested brand before
    /// the winning put has defined it (a replay in another order): it is held until it merges.
    mutating func applyCatalog(_ document: CatalogDocument, stream: String, seq: UInt64) {
        do {
            try book.apply(catalog: document)
            stating.coverage.clear()
        } catch {
            if settlement.losers["\(stream)#\(seq)"] != nil {
                settlement.held.append((document, stream, seq))
                return
            }
            setAside(stream, seq, "the catalog document does not merge: \(error.message)")
            return
        }
        for brand in document.brands where settlement.definedBy[EntityKey(.brand, brand.id)] == nil {
            settlement.definedBy[EntityKey(.brand, brand.id)] = (stream, seq)
        }
        for model in document.models where settlement.definedBy[EntityKey(.model, model.id)] == nil {
            settlement.definedBy[EntityKey(.model, model.id)] = (stream, seq)
        }
        // The change only: followers hold the rest from their snapshot.
        unpublished.catalogs.append(CatalogAcceptedEvent(catalog: document, stream: stream, seq: seq))
        let held = settlement.held
        settlement.held = []
        for (document, stream, seq) in held {
            applyCatalog(document, stream: stream, seq: seq)
        }
        let retry = waiting
        waiting = []
        for (report, stream, seq) in retry {
            apply(report, stream: stream, seq: seq)
        }
    }

    /// Catalog puts from different ingests that put one brand (or model) under different parents:
    /// the put later in the order of puts (the FNV-1a hash of its stream id, then its seq, as for
    /// reports) wins, whatever order they arrive in; the other put's entry is dropped. When the
    /// winner arrives after the loser was applied, everything is applied again (a rebuild, the
    /// decision kept). Each conflict is logged with both puts and listed in `status`.
    mutating func resolveConflicts(_ put: CatalogDocument, stream: String, seq: UInt64) -> CatalogDocument {
        let key = "\(stream)#\(seq)"
        let document = Catalog.without(settlement.losers[key] ?? [], in: put)
        let mine = ReportOrder(at: 0, stream: ReportOrder.hash(stream), seq: seq)
        for move in book.catalog.moves(in: document) {
            guard let definer = settlement.definedBy[move.entity] else {
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
            if settlement.conflicts[move.entity.description] != text {
                logLines.append(LogLine(.error, "catalog puts from two ingests conflict", ["conflict": text]))
            }
            settlement.conflicts[move.entity.description] = text
            if mine > theirs {
                settlement.losers["\(definer.stream)#\(definer.seq)", default: []].insert(move.entity)
                rebuildWanted = "a catalog conflict decided for a put that came later: \(text)"
            } else {
                settlement.losers[key, default: []].insert(move.entity)
            }
        }
        return Catalog.without(settlement.losers[key] ?? [], in: document)
    }

    public mutating func setAside(_ stream: String, _ seq: UInt64, _ reason: String) {
        logLines.append(setAsideLog.record(stream, seq, reason))
    }

    /// Whether this turn has anything to publish (figures, reports, puts or new positions).
    public var pending: Bool {
        !unpublished.figures.isEmpty || !unpublished.reports.isEmpty || !unpublished.catalogs.isEmpty || unpublished.positions != positions
    }

    // MARK: Output

    /// What this turn applied (`flushFigures`), then its facts (`stateFacts`) as a batch of
    /// their own: the batches a follower gets, in order.
    public mutating func flush(statedAt: String = "") -> [FigureBatch] {
        var batches = flushFigures()
        if let facts = stateFacts(at: statedAt) { batches.append(facts) }
        return batches
    }

    /// What this turn applied, as `figure.batch`es: each changed figure once with its final value,
    /// then the reports, catalog puts and ingest positions reached in the last batch (so that a
    /// follower that sees them has every figure they changed). Large turns are split. The facts
    /// the figures made true are left for `stateFacts`: the service publishes the figures first,
    /// so that working out the news never delays a figure.
    public mutating func flushFigures() -> [FigureBatch] {
        guard pending else { return [] }
        stating.due.formUnion(unpublished.factFigures)
        stating.dueFigures += unpublished.figures.count
        // What the coverage memo must forget when the facts are stated (all of it after a turn
        // too large to list).
        if factsPerBatch > 0 {
            if stating.dueFigures <= factsPerBatch { stating.changed?.formUnion(unpublished.figures) } else { stating.changed = nil }
        }
        let figures = unpublished.figures.sorted().compactMap { book.record($0) }
        var batches: [FigureBatch] = []
        var start = 0
        repeat {
            let end = min(start + Self.figuresPerMessage, figures.count)
            let last = end == figures.count
            batches.append(
                FigureBatch(
                    upstream: last ? positions : [:], catalogs: last ? unpublished.catalogs : [], reports: last ? unpublished.reports : [],
                    figures: Array(figures[start..<end])
                )
            )
            start = end
        } while start < figures.count
        unpublished.figures.removeAll(keepingCapacity: true)
        unpublished.factFigures.removeAll()
        unpublished.reports.removeAll(keepingCapacity: true)
        unpublished.catalogs.removeAll()
        unpublished.positions = positions
        return batches
    }

    /// The facts the reports flushed since the last call made true, numbered in the history, as
    /// a `figure.batch` of facts alone (nil: none). None for turns of more than `factsPerBatch`
    /// changed figures (counted), nor for reports stated through before.
    public mutating func stateFacts(at statedAt: String) -> FigureBatch? {
        defer {
            stating.due.removeAll()
            stating.dueFigures = 0
            stating.through.merge(positions) { max($0, $1) }
        }
        if let changed = stating.changed {
            book.forgetCoverage(of: changed, in: stating.coverage)
        } else {
            stating.coverage.clear()
        }
        stating.changed = []
        guard factsPerBatch > 0, !stating.due.isEmpty else { return nil }
        guard stating.dueFigures <= factsPerBatch else {
            stating.skipped += 1
            return nil
        }
        let stated = book.liveFactEvents(stating.due, memo: stating.coverage).map { stating.history.state($0, at: statedAt) }
        return stated.isEmpty ? nil : FigureBatch(facts: stated)
    }

    /// The whole state of the figures under a topic prefix, as a `snapshot` answers it.
    public func snapshot(prefix: String, positions own: [String: UInt64]) -> SnapshotResult {
        let figures = book.keys.compactMap { book.body($0, previous: nil) }
            .filter { prefix.isEmpty || $0.entity.topic(.figure, measure: $0.measure ?? .default, powertrain: $0.powertrain).hasPrefix(prefix) }
        return SnapshotResult(figures: figures, positions: own, upstream: positions, catalog: book.catalog.document)
    }
}

/// How catalog puts from several ingests that disagree were settled: the same way whatever order
/// they arrive in.
struct CatalogSettlement {
    /// The conflicts settled, by entity, as `status` lists them.
    var conflicts: [String: String] = [:]
    /// Which put first defined each brand and model (its parent).
    var definedBy: [EntityKey: (stream: String, seq: UInt64)] = [:]
    /// Entries dropped from puts that lost a conflict, by put ("stream#seq"); kept through rebuilds.
    var losers: [String: Set<EntityKey>] = [:]
    /// Puts that lost a conflict and name what only the winning put defines: merged once it has.
    var held: [(CatalogDocument, String, UInt64)] = []
}

/// What a turn applied and has not published yet: each changed figure once (conflated), the
/// reports and catalog puts behind them, and the positions last published.
struct Unpublished {
    var figures = Set<UInt64>()
    /// The figures changed by reports not stated through before: the ones facts are stated for.
    var factFigures = Set<UInt64>()
    var reports: [ReportAcceptedEvent] = []
    var catalogs: [CatalogAcceptedEvent] = []
    var positions: [String: UInt64] = [:]
}

/// What an aggregate states as facts: at most how many changed figures a turn may have for its
/// facts to be stated, the history they are numbered in, the ingest positions whose reports have
/// had their chance (a report at or before them, replayed after a restart or a rebuild, states
/// none again), the turns skipped as bulk loads, and the figures waiting for their facts.
public struct FactStating: Sendable {
    public let perBatch: Int
    public internal(set) var history: FactHistory
    public internal(set) var through: [String: UInt64] = [:]
    public internal(set) var skipped = 0
    /// The figures flushed since facts were last stated (changed by reports not stated through),
    /// and how many figures those turns changed in all.
    var due = Set<UInt64>()
    var dueFigures = 0
    /// The book's coverage as the facts found it, kept across turns (`CoverageMemo`); one core's
    /// alone (`AggregateCore.restore` and `reset` start it anew).
    public internal(set) var coverage = CoverageMemo()
    /// The figures changed since facts were last stated (nil: too many to list; the memo is
    /// cleared instead).
    var changed: Set<UInt64>? = []
}
