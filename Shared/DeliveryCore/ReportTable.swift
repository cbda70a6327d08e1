import DeliveryMessages

/// The reports behind a book's figures, each kept once: a figure's slots and cause refer to a
/// report by its arrival number, and names that repeat (sources, streams, `reportedAt` stamps) are
/// kept once each. This is what keeps a figure near 150 bytes.
struct ReportTable: Sendable {
    struct Record: Sendable {
        var seq: UInt64 = 0
        var reportId: String?
        var stamp: UInt32 = 0
        var stream: UInt32 = 0
    }

    var records = [Record()]
    var names = Interner()
    var stamps = Interner()
    /// Each stamp in milliseconds, parsed once.
    var millis: [Int64] = []
    /// Each name's FNV-1a hash, the tie-break of the report order (`ReportOrder`).
    var hashes: [UInt64] = []
    /// The segment rank a report states, by arrival number: few reports state one, so the others
    /// pay nothing for it.
    var ranks: [UInt32: UInt16] = [:]

    /// Keeps a report's provenance; returns its arrival number (from 1 on) and its place in the
    /// report order.
    mutating func add(stream: String, seq: UInt64, reportId: String?, reportedAt: String, segmentRank: Int? = nil) -> (UInt32, ReportOrder) {
        let stamp = stamps.index(reportedAt)
        if Int(stamp) == millis.count { millis.append(Timestamp.millis(reportedAt) ?? 0) }
        let streamIndex = name(stream)
        records.append(Record(seq: seq, reportId: reportId, stamp: stamp, stream: streamIndex))
        if let segmentRank { ranks[UInt32(records.count - 1)] = UInt16(clamping: segmentRank) }
        return (UInt32(records.count - 1), ReportOrder(at: millis[Int(stamp)], stream: hashes[Int(streamIndex)], seq: seq))
    }

    mutating func source(_ name: String) -> UInt32 { self.name(name) }

    /// Interns a name, hashing it the first time.
    mutating func name(_ value: String) -> UInt32 {
        let index = names.index(value)
        if Int(index) == hashes.count { hashes.append(ReportOrder.hash(value)) }
        return index
    }

    /// Where a kept report stands in the report order; the least order for none.
    func order(_ arrival: UInt32) -> ReportOrder {
        guard arrival != 0 else { return .none }
        let record = records[Int(arrival)]
        return ReportOrder(at: millis[Int(record.stamp)], stream: hashes[Int(record.stream)], seq: record.seq)
    }

    /// The `reportedAt` of a kept report, as it was written.
    func stamp(_ arrival: UInt32) -> String? {
        guard arrival != 0 else { return nil }
        return stamps.value(records[Int(arrival)].stamp)
    }

    func name(_ index: UInt32) -> String { names.value(index) }

    func cause(_ arrival: UInt32) -> Cause? {
        guard arrival != 0 else { return nil }
        let record = records[Int(arrival)]
        let stamp = stamps.value(record.stamp)
        return Cause(stream: names.value(record.stream), seq: record.seq, reportId: record.reportId, reportedAt: stamp.isEmpty ? nil : stamp)
    }

    /// The (stream, seq) of a report, for ordering causes.
    func position(_ arrival: UInt32) -> (String, UInt64)? {
        guard arrival != 0 else { return nil }
        let record = records[Int(arrival)]
        return (names.value(record.stream), record.seq)
    }

    func sourceFigure(_ slot: FigureBook.Slot) -> SourceFigure {
        let record = records[Int(slot.arrival)]
        return SourceFigure(
            source: names.value(slot.source), units: slot.units, qualifier: slot.qualifier,
            reportedAt: stamps.value(record.stamp), reportId: record.reportId ?? "", stream: names.value(record.stream),
            seq: record.seq, interval: slot.interval, segmentRank: ranks[slot.arrival].map(Int.init)
        )
    }
}

/// The one order on the reports of a figure (docs/PROTOCOL.md, "The order of reports"): the
/// later `reportedAt` first, then the greater FNV-1a hash of the stream id, then the greater seq.
/// It does not depend on arrival: live application, replay in any interleaving of the streams,
/// and a checkpoint all choose the same report, and name the same cause.
public struct ReportOrder: Comparable, Sendable, Hashable {
    public var at: Int64
    public var stream: UInt64
    public var seq: UInt64

    public init(at: Int64, stream: UInt64, seq: UInt64) {
        self.at = at
        self.stream = stream
        self.seq = seq
    }

    public init(reportedAt: String, stream: String, seq: UInt64) {
        self.init(at: Timestamp.millis(reportedAt) ?? 0, stream: Self.hash(stream), seq: seq)
    }

    public static let none = ReportOrder(at: .min, stream: 0, seq: 0)

    public static func < (a: ReportOrder, b: ReportOrder) -> Bool {
        (a.at, a.stream, a.seq) < (b.at, b.stream, b.seq)
    }

    public static func hash(_ value: String) -> UInt64 {
        var value = value
        return value.withUTF8 { ReportValidator.fnv1aHash(UnsafeRawBufferPointer($0)) }
    }
}

/// Strings kept once, by index.
struct Interner: Sendable {
    var indices: [String: UInt32] = [:]
    var values: [String] = []
    private var last: (String, UInt32)?

    mutating func index(_ value: String) -> UInt32 {
        // The same name as last time is the common case (one stream, one source, one stamp).
        if let last, last.0 == value { return last.1 }
        if let index = indices[value] {
            last = (value, index)
            return index
        }
        let index = UInt32(values.count)
        values.append(value)
        indices[value] = index
        return index
    }

    func value(_ index: UInt32) -> String { values[Int(index)] }
}

/// The entities a book has figures for, by dense index, with each one's parent: the catalog is
/// asked once per entity, not once per report.
struct EntityIndex: Sendable {
    static let none = UInt32.max
    var indices: [EntityKey: UInt32] = [:]
    var keys: [EntityKey] = []
    var parents: [UInt32] = []

    /// The entity's index, registering it (and its ancestors) on first sight; nil when the
    /// catalog does not know it.
    mutating func index(of key: EntityKey, in catalog: Catalog) -> UInt32? {
        if let known = indices[key] { return known }
        guard catalog.contains(key) else { return nil }
        // The entity and its ancestors not seen yet, registered from the top down.
        var chain = [key]
        while let parent = catalog.parent(of: chain[chain.count - 1]), indices[parent] == nil, catalog.contains(parent) {
            chain.append(parent)
        }
        var parentIndex = catalog.parent(of: chain[chain.count - 1]).flatMap { indices[$0] } ?? Self.none
        for entity in chain.reversed() {
            let new = UInt32(keys.count)
            keys.append(entity)
            parents.append(parentIndex)
            indices[entity] = new
            parentIndex = new
        }
        return parentIndex
    }

    func existing(_ key: EntityKey) -> UInt32? { indices[key] }
}
