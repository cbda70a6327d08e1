/// What the internal links carry (docs/PROTOCOL.md, "Internal links"), in the compact encoding
/// of `BinaryWriter`. Version 1 of each layout starts with its own tag byte, so that a reader
/// refuses a layout it does not know instead of misreading it.
public enum InternalLink {
    /// The version this build writes and reads.
    public static let version: UInt8 = 1
    public static let figureBatchTag: UInt8 = 0xF1
    public static let reportBatchTag: UInt8 = 0xE1
    public static let figureListTag: UInt8 = 0xD1
}

/// A figure as the internal links carry it: a `figure.changed` body without `previous` and with
/// the entity by level and id (every follower holds the catalog to name it).
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
    }

    /// The `figure.changed` body, with the entity named by the catalog.
    public func body(entity: EntityRef, previous: Int64) -> FigureBody {
        FigureBody(
            entity: entity, period: period, units: units, previous: previous, basis: basis, qualifier: qualifier, cause: cause,
            source: source, reported: reported, reportedQualifier: reportedQualifier, computed: computed,
            computedQualifier: computedQualifier, complete: complete, sources: sources
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
            writer.optionalString(cause.reportId)
        } else {
            writer.byte(0)
        }
        writer.optionalString(source)
        writer.optionalInt(reported)
        Self.writeOptional(reportedQualifier, to: &writer)
        writer.optionalInt(computed)
        Self.writeOptional(computedQualifier, to: &writer)
        writer.bool(complete)
        writer.varint(UInt64(sources.count))
        for source in sources {
            writer.string(source.source)
            writer.int(source.units)
            writer.choice(source.qualifier)
            writer.string(source.reportedAt)
            writer.string(source.reportId)
            writer.string(source.stream)
            writer.varint(source.seq)
        }
    }

    init(from reader: inout BinaryReader) throws(LinkError) {
        level = try reader.choice(Level.self)
        id = try reader.string()
        period = try reader.string()
        units = try reader.int()
        basis = try reader.choice(Basis.self)
        qualifier = try reader.choice(Qualifier.self)
        if try reader.bool() {
            cause = Cause(stream: try reader.string(), seq: try reader.varint(), reportId: try reader.optionalString())
        } else {
            cause = nil
        }
        source = try reader.optionalString()
        reported = try reader.optionalInt()
        reportedQualifier = try Self.readOptional(&reader)
        computed = try reader.optionalInt()
        computedQualifier = try Self.readOptional(&reader)
        complete = try reader.bool()
        var sources: [SourceFigure] = []
        let count = try reader.count(minimumBytes: 7)
        sources.reserveCapacity(count)
        for _ in 0..<count {
            sources.append(
                SourceFigure(
                    source: try reader.string(), units: try reader.int(), qualifier: try reader.choice(Qualifier.self),
                    reportedAt: try reader.string(), reportId: try reader.string(), stream: try reader.string(),
                    seq: try reader.varint()
                )
            )
        }
        self.sources = sources
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

    public init(
        upstream: [String: UInt64] = [:], catalogs: [CatalogAcceptedEvent] = [], reports: [ReportAcceptedEvent] = [],
        figures: [FigureRecord] = []
    ) {
        self.upstream = upstream
        self.catalogs = catalogs
        self.reports = reports
        self.figures = figures
    }

    public var isEmpty: Bool { catalogs.isEmpty && reports.isEmpty && figures.isEmpty }

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
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(LinkError) {
        var reader = BinaryReader(bytes)
        try InternalLink.expect(InternalLink.figureBatchTag, "figure.batch", in: &reader)
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
        for _ in 0..<reportCount { reports.append(try ReportAcceptedEvent(from: &reader)) }
        figures = []
        let figureCount = try reader.count(minimumBytes: 12)
        figures.reserveCapacity(figureCount)
        for _ in 0..<figureCount { figures.append(try FigureRecord(from: &reader)) }
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
        try InternalLink.expect(InternalLink.figureListTag, "figure list", in: &reader)
        var figures: [FigureRecord] = []
        let count = try reader.count(minimumBytes: 12)
        figures.reserveCapacity(count)
        for _ in 0..<count { figures.append(try FigureRecord(from: &reader)) }
        guard reader.atEnd else { throw LinkError("bytes left after the figures") }
        return figures
    }
}

extension InternalLink {
    static func expect(_ tag: UInt8, _ name: String, in reader: inout BinaryReader) throws(LinkError) {
        let found = try reader.byte()
        guard found == tag else { throw LinkError("not a \(name) (tag \(found))") }
        let version = try reader.byte()
        guard version == InternalLink.version else {
            throw LinkError("a \(name) of version \(version); this build reads version \(InternalLink.version)")
        }
    }
}

extension ReportAcceptedEvent {
    func write(to writer: inout BinaryWriter) {
        writer.string(stream)
        writer.varint(seq)
        report.write(to: &writer)
    }

    init(from reader: inout BinaryReader) throws(LinkError) {
        let stream = try reader.string()
        let seq = try reader.varint()
        self.init(report: try DeliveryReport(from: &reader), stream: stream, seq: seq)
    }
}

extension DeliveryReport {
    public func write(to writer: inout BinaryWriter) {
        writer.string(id)
        writer.string(source)
        writer.string(period)
        writer.optionalString(group)
        writer.optionalString(brand)
        writer.optionalString(model)
        writer.int(units)
        writer.choice(qualifier)
        writer.string(reportedAt)
        writer.optionalString(note)
        writer.choice(entity.level)
        writer.string(entity.id)
        writer.string(entity.name)
        writer.varint(UInt64(entity.path.count))
        for part in entity.path { writer.string(part) }
    }

    public init(from reader: inout BinaryReader) throws(LinkError) {
        id = try reader.string()
        source = try reader.string()
        period = try reader.string()
        group = try reader.optionalString()
        brand = try reader.optionalString()
        model = try reader.optionalString()
        units = try reader.int()
        qualifier = try reader.choice(Qualifier.self)
        reportedAt = try reader.string()
        note = try reader.optionalString()
        let level = try reader.choice(Level.self)
        let entityId = try reader.string()
        let name = try reader.string()
        var path: [String] = []
        for _ in 0..<(try reader.count()) { path.append(try reader.string()) }
        entity = EntityRef(level: level, id: entityId, name: name, path: path)
    }
}
