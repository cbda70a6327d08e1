/// What the internal links carry (docs/PROTOCOL.md, "Internal links"), in the compact encoding
/// of `BinaryWriter`. Each layout starts with its own tag byte and a version, so that a reader
/// refuses a layout it does not know instead of misreading it.
public enum InternalLink {
    /// The version this build writes. Version 7 added a batch's stated facts (`FigureBatch.facts`);
    /// version 6 added a figure's earlier reports (`revisions`);
    /// version 5 added a report's and a figure's `powertrain` (a
    /// figure's `fromParts`; none, the whole, before); version 4 added what a report and a figure count (`measure`,
    /// deliveries in the versions before); version 3 added a report's `segmentRank` (on the report and
    /// on each source of a figure); version 2 added approximate intervals (a report's stated
    /// `low`/`high`, a figure's and its sources' intervals); versions 1 and 2, which logs written
    /// before hold, are still read.
    public static let version: UInt8 = 7
    public static let oldestVersion: UInt8 = 1
    public static let figureBatchTag: UInt8 = 0xF1
    public static let reportBatchTag: UInt8 = 0xE1
    public static let figureListTag: UInt8 = 0xD1
}

/// A figure as the internal links carry it: a `figure.changed` body without `previous` and with
/// the entity by level and id (every follower holds the catalog to name it).
/// Stored properties: one per field the link layout carries (docs/development.md).
public struct FigureRecord: Sendable, Hashable {
    public var level: Level
    public var id: String
    public var period: String
    public var units: Int64
    public var basis: Basis
    public var qualifier: Qualifier
    public var cause: Cause?
    public var source: String?
    public var reported: Int64?
    public var reportedQualifier: Qualifier?
    public var computed: Int64?
    public var computedQualifier: Qualifier?
    public var complete: Bool
    public var sources: [SourceFigure]
    /// An approximate figure's interval (see `FigureBody.low`).
    public var low: Int64?
    public var high: Int64?
    /// What the figure counts (layout 4 on; deliveries before).
    public var measure: Measure = .default
    /// The powertrain whose part it is (layout 5 on; nil, the whole, before and for the whole).
    public var powertrain: Powertrain?
    /// A computed figure that is the sum of its powertrain parts, not of its children's figures.
    public var fromParts = false
    /// Every earlier report of the figure (each source's values before its latest, and reports
    /// that came after a later one), in the order of reports; at most `FigureRecord.maxRevisions`
    /// (layout 6 on; none before).
    public var revisions: [SourceFigure] = []

    /// The most earlier reports a figure keeps (the log keeps them all).
    public static let maxRevisions = 64

    public init(
        level: Level, id: String, period: String, units: Int64, basis: Basis, qualifier: Qualifier, cause: Cause?, source: String?,
        reported: Int64?, reportedQualifier: Qualifier?, computed: Int64?, computedQualifier: Qualifier?, complete: Bool,
        sources: [SourceFigure], interval: Interval? = nil, measure: Measure = .default
    ) {
        self.measure = measure
        self.level = level
        self.id = id
        self.period = period
        self.units = units
        self.basis = basis
        self.qualifier = qualifier
        self.cause = cause
        self.source = source
        self.reported = reported
        self.reportedQualifier = reportedQualifier
        self.computed = computed
        self.computedQualifier = computedQualifier
        self.complete = complete
        self.sources = sources
        (low, high) = FigureBody.wireBounds(qualifier, interval)
    }

    public init(_ body: FigureBody) {
        level = body.entity.level
        id = body.entity.id
        period = body.period
        units = body.units
        basis = body.basis
        qualifier = body.qualifier
        cause = body.cause
        source = body.source
        reported = body.reported
        reportedQualifier = body.reportedQualifier
        computed = body.computed
        computedQualifier = body.computedQualifier
        complete = body.complete
        sources = body.sources
        low = body.low
        high = body.high
        measure = body.measure ?? .default
        powertrain = body.powertrain
        fromParts = body.computedFrom == .powertrains
    }

    /// The least and the most the figure can be.
    public var interval: Interval { FigureBody.wireInterval(units, qualifier, low: low, high: high) }

    /// The `figure.changed` body, with the entity named by the catalog.
    public func body(entity: EntityRef, previous: Int64) -> FigureBody {
        FigureBody(
            entity: entity, period: period, units: units, previous: previous, basis: basis, qualifier: qualifier, cause: cause,
            source: source, reported: reported, reportedQualifier: reportedQualifier, computed: computed,
            computedQualifier: computedQualifier, complete: complete, sources: sources, interval: interval, measure: measure,
            powertrain: powertrain, computedFrom: fromParts ? .powertrains : nil
        )
    }

    func write(to writer: inout BinaryWriter) {
        writer.choice(level)
        writer.string(id)
        writer.string(period)
        writer.int(units)
        writer.choice(basis)
        writer.choice(qualifier)
        if let cause {
            writer.byte(1)
            writer.string(cause.stream)
            writer.varint(cause.seq)
            writer.optionalText(cause.reportId)
            writer.optionalString(cause.reportedAt)
        } else {
            writer.byte(0)
        }
        writer.optionalString(source)
        writer.optionalInt(reported)
        Self.writeOptional(reportedQualifier, to: &writer)
        writer.optionalInt(computed)
        Self.writeOptional(computedQualifier, to: &writer)
        writer.bool(complete)
        writer.optionalInt(low)
        writer.optionalInt(high)
        Self.write(sources, to: &writer)
        writer.choice(measure)
        writer.varint(Powertrain.code(powertrain))
        writer.bool(fromParts)
        Self.write(revisions, to: &writer)
    }

    static func write(_ sources: [SourceFigure], to writer: inout BinaryWriter) {
        writer.varint(UInt64(sources.count))
        for source in sources {
            writer.string(source.source)
            writer.int(source.units)
            writer.choice(source.qualifier)
            writer.string(source.reportedAt)
            writer.text(source.reportId)
            writer.string(source.stream)
            writer.varint(source.seq)
            writer.optionalInt(source.low)
            writer.optionalInt(source.high)
            writer.optionalInt(source.segmentRank.map(Int64.init))
        }
    }

    init(from reader: inout BinaryReader, version: UInt8) throws(LinkError) {
        level = try reader.choice(Level.self)
        id = try reader.string()
        period = try reader.string()
        units = try reader.int()
        basis = try reader.choice(Basis.self)
        qualifier = try reader.choice(Qualifier.self)
        if try reader.bool() {
            cause = Cause(
                stream: try reader.string(), seq: try reader.varint(), reportId: try reader.optionalText(), reportedAt: try reader.optionalString()
            )
        } else {
            cause = nil
        }
        source = try reader.optionalString()
        reported = try reader.optionalInt()
        reportedQualifier = try Self.readOptional(&reader)
        computed = try reader.optionalInt()
        computedQualifier = try Self.readOptional(&reader)
        complete = try reader.bool()
        (low, high) = version >= 2 ? try Self.readInterval(&reader, qualifier) : (nil, nil)
        sources = try Self.readSources(&reader, version: version)
        measure = version >= 4 ? try reader.choice(Measure.self) : .default
        if version >= 5 {
            powertrain = try Self.readPowertrain(&reader)
            fromParts = try reader.bool()
        }
        if version >= 6 {
            revisions = try Self.readSources(&reader, version: version)
            guard revisions.count <= Self.maxRevisions else { throw LinkError("\(revisions.count) earlier reports of one figure") }
        }
    }

    static func readSources(_ reader: inout BinaryReader, version: UInt8) throws(LinkError) -> [SourceFigure] {
        var sources: [SourceFigure] = []
        let count = try reader.count(minimumBytes: 7)
        sources.reserveCapacity(count)
        for _ in 0..<count {
            var source = SourceFigure(
                source: try reader.string(), units: try reader.int(), qualifier: try reader.choice(Qualifier.self),
                reportedAt: try reader.string(), reportId: try reader.text(), stream: try reader.string(),
                seq: try reader.varint()
            )
            if version >= 2 { (source.low, source.high) = try Self.readInterval(&reader, source.qualifier) }
            if version >= 3 { source.segmentRank = try Self.readRank(&reader) }
            sources.append(source)
        }
        return sources
    }

    /// A powertrain's code (0: none, the whole); a code no powertrain has is refused.
    static func readPowertrain(_ reader: inout BinaryReader) throws(LinkError) -> Powertrain? {
        let code = try reader.varint()
        guard code == 0 || Powertrain.decode(code) != nil else { throw LinkError("a powertrain of code \(code)") }
        return Powertrain.decode(code)
    }

    /// A segment rank: absent, or 1 to `DeliveryReport.maxSegmentRank`.
    static func readRank(_ reader: inout BinaryReader) throws(LinkError) -> Int? {
        guard let rank = try reader.optionalInt() else { return nil }
        guard (1...Int64(DeliveryReport.maxSegmentRank)).contains(rank) else { throw LinkError("a segment rank of \(rank)") }
        return Int(rank)
    }

    /// An interval's two optional ints, refused where the qualifier has none or they disagree.
    static func readInterval(_ reader: inout BinaryReader, _ qualifier: Qualifier) throws(LinkError) -> (Int64?, Int64?) {
        let low = try reader.optionalInt()
        let high = try reader.optionalInt()
        guard qualifier == .approximate || (low == nil && high == nil) else { throw LinkError("an interval on a \(qualifier.rawValue) figure") }
        guard low != nil || high == nil else { throw LinkError("an interval with a high and no low") }
        if let low, let high, low > high { throw LinkError("an interval whose low \(low) is above its high \(high)") }
        return (low, high)
    }

    private static func writeOptional(_ value: Qualifier?, to writer: inout BinaryWriter) {
        guard let value else { return writer.byte(0) }
        writer.byte(1)
        writer.choice(value)
    }

    private static func readOptional(_ reader: inout BinaryReader) throws(LinkError) -> Qualifier? {
        try reader.bool() ? try reader.choice(Qualifier.self) : nil
    }
}

/// `figure.batch`, the aggregate's live feed: everything one turn of the aggregate applied. Each
/// changed figure once, with its final value; the ingest events that caused them; the catalog
/// puts among them; and the ingest positions reached. A follower applies it at once.
public struct FigureBatch: Sendable {
    public var upstream: [String: UInt64]
    public var catalogs: [CatalogAcceptedEvent]
    public var reports: [ReportAcceptedEvent]
    public var figures: [FigureRecord]
    /// The facts the aggregate stated for this turn, numbered in its fact history (layout 7 on;
    /// none before): in the last batch of a turn.
    public var facts: [FactEvent] = []

    public init(
        upstream: [String: UInt64] = [:], catalogs: [CatalogAcceptedEvent] = [], reports: [ReportAcceptedEvent] = [],
        figures: [FigureRecord] = [], facts: [FactEvent] = []
    ) {
        self.facts = facts
        self.upstream = upstream
        self.catalogs = catalogs
        self.reports = reports
        self.figures = figures
    }

    public var isEmpty: Bool { catalogs.isEmpty && reports.isEmpty && figures.isEmpty && facts.isEmpty }

    /// The bytes of the batch; throws only when a catalog document cannot be written as JSON.
    public func encoded() throws -> [UInt8] {
        var writer = BinaryWriter(capacity: 64 + figures.count * 80 + reports.count * 120)
        writer.byte(InternalLink.figureBatchTag)
        writer.byte(InternalLink.version)
        writer.varint(UInt64(upstream.count))
        for (stream, seq) in upstream.sorted(by: { $0.key < $1.key }) {
            writer.string(stream)
            writer.varint(seq)
        }
        writer.varint(UInt64(catalogs.count))
        for event in catalogs {
            writer.string(event.stream)
            writer.varint(event.seq)
            writer.raw(try CompactJSONEncoder.encode(event.catalog))
        }
        writer.varint(UInt64(reports.count))
        for event in reports { event.write(to: &writer) }
        writer.varint(UInt64(figures.count))
        for figure in figures { figure.write(to: &writer) }
        // Facts are few and said in words: JSON, each as one raw value.
        writer.varint(UInt64(facts.count))
        for fact in facts { writer.raw(try CompactJSONEncoder.encode(fact)) }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(LinkError) {
        var reader = BinaryReader(bytes)
        let version = try InternalLink.expect(InternalLink.figureBatchTag, "figure.batch", in: &reader)
        upstream = [:]
        for _ in 0..<(try reader.count(minimumBytes: 2)) {
            upstream[try reader.string()] = try reader.varint()
        }
        catalogs = []
        for _ in 0..<(try reader.count(minimumBytes: 3)) {
            let stream = try reader.string()
            let seq = try reader.varint()
            let json = Array(try reader.raw())
            guard let parsed = try? JSONParser.parse(json), let document = try? JSONValueDecoder.decode(CatalogDocument.self, from: parsed) else {
                throw LinkError("a catalog in the batch does not read")
            }
            catalogs.append(CatalogAcceptedEvent(catalog: document, stream: stream, seq: seq))
        }
        reports = []
        let reportCount = try reader.count(minimumBytes: 12)
        reports.reserveCapacity(reportCount)
        for _ in 0..<reportCount { reports.append(try ReportAcceptedEvent(from: &reader, version: version)) }
        figures = []
        let figureCount = try reader.count(minimumBytes: 12)
        figures.reserveCapacity(figureCount)
        for _ in 0..<figureCount { figures.append(try FigureRecord(from: &reader, version: version)) }
        facts = []
        if version >= 7 {
            for _ in 0..<(try reader.count(minimumBytes: 2)) {
                let json = Array(try reader.raw())
                guard let parsed = try? JSONParser.parse(json), let fact = try? JSONValueDecoder.decode(FactEvent.self, from: parsed) else {
                    throw LinkError("a fact in the batch does not read")
                }
                facts.append(fact)
            }
        }
        guard reader.atEnd else { throw LinkError("bytes left after the batch") }
    }
}

/// Figures alone, as one part of a chunked aggregate snapshot.
public enum FigureList {
    public static func encode(_ figures: [FigureRecord]) -> [UInt8] {
        var writer = BinaryWriter(capacity: 16 + figures.count * 80)
        writer.byte(InternalLink.figureListTag)
        writer.byte(InternalLink.version)
        writer.varint(UInt64(figures.count))
        for figure in figures { figure.write(to: &writer) }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(LinkError) -> [FigureRecord] {
        var reader = BinaryReader(bytes)
        let version = try InternalLink.expect(InternalLink.figureListTag, "figure list", in: &reader)
        var figures: [FigureRecord] = []
        let count = try reader.count(minimumBytes: 12)
        figures.reserveCapacity(count)
        for _ in 0..<count { figures.append(try FigureRecord(from: &reader, version: version)) }
        guard reader.atEnd else { throw LinkError("bytes left after the figures") }
        return figures
    }
}

extension InternalLink {
    /// Reads a layout's tag and version; returns the version (`oldestVersion`…`version`).
    @discardableResult
    static func expect(_ tag: UInt8, _ name: String, in reader: inout BinaryReader) throws(LinkError) -> UInt8 {
        let found = try reader.byte()
        guard found == tag else { throw LinkError("not a \(name) (tag \(found))") }
        let version = try reader.byte()
        guard (InternalLink.oldestVersion...InternalLink.version).contains(version) else {
            throw LinkError("a \(name) of version \(version); this build reads versions \(InternalLink.oldestVersion) to \(InternalLink.version)")
        }
        return version
    }
}

extension ReportAcceptedEvent {
    func write(to writer: inout BinaryWriter) {
        writer.string(stream)
        writer.varint(seq)
        report.write(to: &writer)
    }

    init(from reader: inout BinaryReader, version: UInt8) throws(LinkError) {
        let stream = try reader.string()
        let seq = try reader.varint()
        self.init(report: try DeliveryReport(from: &reader, version: version), stream: stream, seq: seq)
    }
}

extension DeliveryReport {
    public func write(to writer: inout BinaryWriter) {
        writer.text(id)
        writer.string(source)
        writer.string(period)
        writer.optionalString(group)
        writer.optionalString(brand)
        writer.optionalString(model)
        writer.int(units)
        writer.choice(qualifier)
        writer.string(reportedAt)
        writer.optionalText(note)
        writer.choice(entity.level)
        writer.string(entity.id)
        writer.string(entity.name)
        writer.varint(UInt64(entity.path.count))
        for part in entity.path { writer.string(part) }
        writer.optionalInt(low)
        writer.optionalInt(high)
        writer.optionalInt(segmentRank.map(Int64.init))
        writer.choice(measured)
        writer.varint(Powertrain.code(powertrain))
    }

    /// Reads a report written by `write` in layout `version` (1: without `low`/`high`; 1 and 2:
    /// without `segmentRank`).
    public init(from reader: inout BinaryReader, version: UInt8) throws(LinkError) {
        id = try reader.text()
        source = try reader.string()
        period = try reader.string()
        group = try reader.optionalString()
        brand = try reader.optionalString()
        model = try reader.optionalString()
        units = try reader.int()
        qualifier = try reader.choice(Qualifier.self)
        reportedAt = try reader.string()
        note = try reader.optionalText()
        let level = try reader.choice(Level.self)
        let entityId = try reader.string()
        let name = try reader.string()
        var path: [String] = []
        for _ in 0..<(try reader.count()) { path.append(try reader.string()) }
        entity = EntityRef(level: level, id: entityId, name: name, path: path)
        low = nil
        high = nil
        if version >= 2 {
            (low, high) = try FigureRecord.readInterval(&reader, qualifier)
            guard (low == nil) == (high == nil) else { throw LinkError("a report interval needs both low and high") }
            if let low, let high, !(low...high).contains(units) { throw LinkError("a report interval \(low)–\(high) without its units \(units)") }
        }
        segmentRank = version >= 3 ? try FigureRecord.readRank(&reader) : nil
        measure = version >= 4 ? (try reader.choice(Measure.self)).wire : nil
        powertrain = version >= 5 ? try FigureRecord.readPowertrain(&reader) : nil
    }
}

/// A stored report as the ingest log keeps it and its feed and replay carry it: tag `0xE2`,
/// the version, then the report (see `DeliveryReport.write`). One encoding from submit to the
/// aggregate: the log's bytes are what followers read.
public enum StoredReport {
    public static let tag: UInt8 = 0xE2

    public static func encode(_ report: DeliveryReport) -> [UInt8] {
        var writer = BinaryWriter(capacity: 160)
        writer.byte(tag)
        writer.byte(InternalLink.version)
        report.write(to: &writer)
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(LinkError) -> DeliveryReport {
        var reader = BinaryReader(bytes)
        let version = try InternalLink.expect(tag, "stored report", in: &reader)
        let report = try DeliveryReport(from: &reader, version: version)
        guard reader.atEnd else { throw LinkError("bytes left after the report") }
        return report
    }

    /// Whether stored bytes are in this encoding (older logs hold JSON, starting with `{`).
    public static func isBinary(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.first == tag
    }
}

/// Ingest events in the binary form of the internal links: the body of a `report.batch` on the
/// ingest PUB (one per committed batch) and of a binary `replay.result`. Tag `0xE1`, the version,
/// the count, then per event its seq, a kind byte and its bytes: 0 a report (a `StoredReport`,
/// as stored), 1 a catalog put (its JSON), 2 a row that cannot be read (the problem, as text).
public enum EventBatch {
    public enum Entry: Sendable {
        case report(seq: UInt64, stored: [UInt8])
        case catalog(seq: UInt64, json: [UInt8])
        case problem(seq: UInt64, type: String, text: String)
    }

    public static func encode(_ entries: [Entry]) -> [UInt8] {
        var writer = BinaryWriter(capacity: 16 + entries.count * 140)
        writer.byte(InternalLink.reportBatchTag)
        writer.byte(InternalLink.version)
        writer.varint(UInt64(entries.count))
        for entry in entries {
            switch entry {
            case .report(let seq, let stored):
                writer.varint(seq)
                writer.byte(0)
                writer.raw(stored)
            case .catalog(let seq, let json):
                writer.varint(seq)
                writer.byte(1)
                writer.raw(json)
            case .problem(let seq, let type, let text):
                writer.varint(seq)
                writer.byte(2)
                writer.text(type)
                writer.text(text)
            }
        }
        return writer.bytes
    }

    /// The events of a batch. A frame that does not read throws; one event inside it that does
    /// not read comes back as an event with a `problem`, in its place, so that it is set aside
    /// and the stream goes on.
    public static func decode(_ bytes: [UInt8], stream: String) throws(LinkError) -> [StreamEvent] {
        var reader = BinaryReader(bytes)
        try InternalLink.expect(InternalLink.reportBatchTag, "event batch", in: &reader)
        let count = try reader.count(minimumBytes: 3)
        var events: [StreamEvent] = []
        events.reserveCapacity(count)
        for _ in 0..<count {
            let seq = try reader.varint()
            let content: StreamEvent.Content
            switch try reader.byte() {
            case 0:
                let stored = Array(try reader.raw())
                do {
                    content = .report(try StoredReport.decode(stored))
                } catch {
                    content = .unreadable(type: MessageType.reportAccepted.rawValue, problem: "the stored report does not read: \(error)")
                }
            case 1:
                let json = Array(try reader.raw())
                if let parsed = try? JSONParser.parse(json), let document = try? JSONValueDecoder.decode(CatalogDocument.self, from: parsed) {
                    content = .catalog(document)
                } else {
                    content = .unreadable(type: MessageType.catalogAccepted.rawValue, problem: "the stored catalog does not read")
                }
            case 2:
                let type = try reader.text()
                content = .unreadable(type: type, problem: try reader.text())
            case let other:
                throw LinkError("an event of kind \(other)")
            }
            events.append(StreamEvent(stream: stream, seq: seq, content: content))
        }
        guard reader.atEnd else { throw LinkError("bytes left after the events") }
        return events
    }
}
