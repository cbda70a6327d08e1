/// A delivery report as it is stored and published: validated, with its entity resolved against
/// the catalog and its defaults filled in.
/// Stored properties: one per field of a report (docs/PROTOCOL.md).
public struct DeliveryReport: Codable, Sendable, Hashable {
    public var id: String
    public var source: String
    public var period: String
    public var group: String?
    public var brand: String?
    public var model: String?
    public var units: Int64
    public var qualifier: Qualifier
    public var reportedAt: String
    public var note: String?
    /// The catalog entity the names resolved to.
    public var entity: EntityRef
    /// *Extension*: an approximate report's own interval, both or neither (nil: the one its digits
    /// give, `Interval.approximate`).
    public var low: Int64?
    public var high: Int64?
    /// *Extension*: the model's rank within its price segment in the period, as the source states
    /// it (1: the segment's best seller across the whole market, not only among tracked models).
    public var segmentRank: Int?
    /// *Extension*: what the report counts; absent for deliveries.
    public var measure: Measure?
    /// *Extension*: the one powertrain (or group) whose part of the entity's figure the report
    /// gives; absent for the whole figure.
    public var powertrain: Powertrain?

    /// The highest segment rank a report may state.
    public static let maxSegmentRank = 1_000

    public init(
        id: String, source: String, period: String, group: String?, brand: String?, model: String?,
        units: Int64, qualifier: Qualifier, reportedAt: String, note: String?, entity: EntityRef, low: Int64? = nil, high: Int64? = nil,
        segmentRank: Int? = nil, measure: Measure? = nil, powertrain: Powertrain? = nil
    ) {
        self.measure = measure?.wire
        self.powertrain = powertrain
        self.id = id
        self.source = source
        self.period = period
        self.group = group
        self.brand = brand
        self.model = model
        self.units = units
        self.qualifier = qualifier
        self.reportedAt = reportedAt
        self.note = note
        self.entity = entity
        self.low = low
        self.high = high
        self.segmentRank = segmentRank
    }

    /// The least and the most the report says the figure is.
    public var interval: Interval {
        Interval.of(units, qualifier, stated: low.map { Interval(low: $0, high: high) })
    }

    /// What the report counts (deliveries when the field is absent).
    public var measured: Measure { measure ?? .default }
}

/// `submit`: one or many reports, checked by hand so that every bad one is named by index.
public struct SubmitRequest: Codable, Sendable {
    public var reports: [JSONValue]

    public init(reports: [JSONValue]) {
        self.reports = reports
    }
}

public struct SubmitAck: Codable, Sendable, Hashable {
    public var index: Int
    public var id: String
    public var stream: String
    public var seq: UInt64
    public var duplicate: Bool
    /// *Extension*, on a duplicate only: the report it repeats is no longer current. This log
    /// holds a report of the same source, period and entity later in the order of reports
    /// (docs/PROTOCOL.md), so the repeated value does not stand.
    public var supersededBy: Superseding?

    public init(index: Int, id: String, stream: String, seq: UInt64, duplicate: Bool, supersededBy: Superseding? = nil) {
        self.index = index
        self.id = id
        self.stream = stream
        self.seq = seq
        self.duplicate = duplicate
        self.supersededBy = supersededBy
    }
}

/// The report that made a repeated one no longer current.
public struct Superseding: Codable, Sendable, Hashable {
    public var id: String
    public var stream: String
    public var seq: UInt64

    public init(id: String, stream: String, seq: UInt64) {
        self.id = id
        self.stream = stream
        self.seq = seq
    }
}

public struct SubmitResult: Codable, Sendable {
    public var accepted: [SubmitAck]

    public init(accepted: [SubmitAck]) {
        self.accepted = accepted
    }
}

/// `catalog.ok`: the catalog event's place in the stream and what the catalog now holds.
public struct CatalogPutResult: Codable, Sendable {
    public var stream: String
    public var seq: UInt64
    public var groups: Int
    public var brands: Int
    public var models: Int
    public var segments: Int
    public var duplicate: Bool

    public init(stream: String, seq: UInt64, groups: Int, brands: Int, models: Int, segments: Int, duplicate: Bool) {
        self.stream = stream
        self.seq = seq
        self.groups = groups
        self.brands = brands
        self.models = models
        self.segments = segments
        self.duplicate = duplicate
    }
}

/// How a `replay.result` carries its events: JSON (the default) or one binary frame.
public enum ReplayEncoding: String, Codable, Sendable, CaseIterable {
    case json, binary
}

/// `replay`: the stored events from `from` on.
public struct ReplayRequest: Codable, Sendable, Equatable {
    public var from: UInt64
    public var limit: Int?
    /// Internal links: `.binary` asks for the events as one binary frame (`EventBatch`) after a
    /// JSON head (`BinaryReplayHead`) instead of JSON events.
    public var encoding: ReplayEncoding?

    public init(from: UInt64, limit: Int? = nil, encoding: ReplayEncoding? = nil) {
        self.from = from
        self.limit = limit
        self.encoding = encoding
    }
}

/// The JSON head of a binary `replay.result`: the events follow in the binary frame.
public struct BinaryReplayHead: Codable, Sendable {
    public var stream: String
    /// The last seq stored; a reader is caught up once it has applied this much.
    public var last: UInt64
    public var count: Int

    public init(stream: String, last: UInt64, count: Int) {
        self.stream = stream
        self.last = last
        self.count = count
    }
}

/// One event of an ingest stream: a report, a catalog put, or a stored row that does not read (it
/// keeps its place, names what is wrong, and is set aside). The one shape of a log row: what a
/// follower applies, what a log returns, and (as JSON) what `replay` shows:
/// `{"type", "stream", "seq", "topic", "report" | "catalog" | "problem"}`.
public struct StreamEvent: Codable, Sendable {
    public enum Content: Sendable {
        case report(DeliveryReport)
        case catalog(CatalogDocument)
        case unreadable(type: String, problem: String)
    }

    public var stream: String
    public var seq: UInt64
    public var content: Content
    /// The topic the row was stored under, kept for a row that does not read (the others' topic
    /// follows from what they hold).
    public var storedTopic: String?

    public init(stream: String, seq: UInt64, content: Content, storedTopic: String? = nil) {
        self.stream = stream
        self.seq = seq
        self.content = content
        self.storedTopic = storedTopic
    }

    /// The event's wire type: `report.accepted`, `catalog.accepted`, or the unreadable row's.
    public var type: String {
        switch content {
        case .report: MessageType.reportAccepted.rawValue
        case .catalog: MessageType.catalogAccepted.rawValue
        case .unreadable(let type, _): type
        }
    }

    /// The pub/sub topic: the report's entity's, the catalog's, or the one stored.
    public var topic: String {
        switch content {
        case .report(let report): report.entity.topic(.report)
        case .catalog: Topic.catalog
        case .unreadable: storedTopic ?? ""
        }
    }

    enum CodingKeys: String, CodingKey {
        case type, stream, seq, topic, report, catalog, problem
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(stream, forKey: .stream)
        try container.encode(seq, forKey: .seq)
        try container.encode(topic, forKey: .topic)
        try container.encodeIfPresent(report, forKey: .report)
        try container.encodeIfPresent(catalog, forKey: .catalog)
        try container.encodeIfPresent(problem, forKey: .problem)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        stream = try container.decode(String.self, forKey: .stream)
        seq = try container.decode(UInt64.self, forKey: .seq)
        let topic = try container.decode(String.self, forKey: .topic)
        if let report = try container.decodeIfPresent(DeliveryReport.self, forKey: .report) {
            content = .report(report)
        } else if let catalog = try container.decodeIfPresent(CatalogDocument.self, forKey: .catalog) {
            content = .catalog(catalog)
        } else {
            let problem = try container.decodeIfPresent(String.self, forKey: .problem) ?? "the event holds neither a report nor a catalog"
            content = .unreadable(type: try container.decode(String.self, forKey: .type), problem: problem)
            storedTopic = topic
        }
    }

    public var report: DeliveryReport? {
        if case .report(let report) = content { return report }
        return nil
    }

    public var catalog: CatalogDocument? {
        if case .catalog(let document) = content { return document }
        return nil
    }

    public var problem: String? {
        if case .unreadable(_, let problem) = content { return problem }
        return nil
    }
}

/// A stored event a follower could not apply, as `status` lists it.
public struct SetAsideEvent: Codable, Sendable, Hashable {
    public var stream: String
    public var seq: UInt64
    public var reason: String

    public init(stream: String, seq: UInt64, reason: String) {
        self.stream = stream
        self.seq = seq
        self.reason = reason
    }
}

public struct ReplayResult: Codable, Sendable {
    public var stream: String
    public var events: [StreamEvent]
    /// The last seq stored; a reader is caught up once it has applied this much.
    public var last: UInt64

    public init(stream: String, events: [StreamEvent], last: UInt64) {
        self.stream = stream
        self.events = events
        self.last = last
    }
}

/// `report.accepted`: the stored report with its place in the stream.
public struct ReportAcceptedEvent: Codable, Sendable {
    public var report: DeliveryReport
    public var stream: String
    public var seq: UInt64

    public init(report: DeliveryReport, stream: String, seq: UInt64) {
        self.report = report
        self.stream = stream
        self.seq = seq
    }

    public func encode(to encoder: any Encoder) throws {
        // The stored report's own fields at the top level, as PROTOCOL.md shows it.
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(stream, forKey: .stream)
        try container.encode(seq, forKey: .seq)
    }

    public init(from decoder: any Decoder) throws {
        report = try DeliveryReport(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        stream = try container.decode(String.self, forKey: .stream)
        seq = try container.decode(UInt64.self, forKey: .seq)
    }

    enum CodingKeys: String, CodingKey {
        case stream, seq
    }
}

/// `catalog.accepted`: a catalog document merged at ingest, with its place in the stream.
public struct CatalogAcceptedEvent: Codable, Sendable {
    public var catalog: CatalogDocument
    public var stream: String
    public var seq: UInt64

    public init(catalog: CatalogDocument, stream: String, seq: UInt64) {
        self.catalog = catalog
        self.stream = stream
        self.seq = seq
    }
}

public struct HeartbeatBody: Codable, Sendable {
    public var stream: String
    public var seq: UInt64
    /// Aggregate and query: the upstream positions reflected so far.
    public var positions: [String: UInt64]?

    public init(stream: String, seq: UInt64, positions: [String: UInt64]? = nil) {
        self.stream = stream
        self.seq = seq
        self.positions = positions
    }
}

public struct Empty: Codable, Sendable, Hashable {
    public init() {}
}

/// `status.result`. Stored properties: one per field of the reply (docs/PROTOCOL.md).
public struct StatusResult: Codable, Sendable {
    public var service: String
    public var version: String
    public var instance: String
    public var streams: [String]
    public var positions: [String: UInt64]
    public var counts: [String: Int]
    public var uptimeSeconds: Double
    public var ready: Bool
    public var endpoints: [String: String]
    /// Why the service is not ready, or what keeps it from doing all of its work (it cannot write,
    /// an upstream refuses it); nil when all is well.
    public var problem: String?
    /// The latest stored events this service set aside (at most 20; `counts.setAside` has them all).
    public var setAside: [SetAsideEvent]?
    /// Each upstream link by endpoint: `connected`, `connecting`, `disconnected`, or
    /// `handshake failed: …` (a wrong or refused CURVE key).
    public var links: [String: String]?
    /// Aggregate: upstream streams no longer followed, each with what happened to it (its log was
    /// replaced behind its endpoint, or another endpoint claims it).
    public var retired: [String: String]?
    /// Aggregate: catalog puts from different ingests that conflict, each with the put that wins.
    public var conflicts: [String]?

    public init(
        service: String, version: String, instance: String, streams: [String], positions: [String: UInt64],
        counts: [String: Int], uptimeSeconds: Double, ready: Bool, endpoints: [String: String], problem: String? = nil,
        setAside: [SetAsideEvent]? = nil, links: [String: String]? = nil, retired: [String: String]? = nil,
        conflicts: [String]? = nil
    ) {
        self.retired = retired
        self.conflicts = conflicts
        self.problem = problem
        self.setAside = setAside
        self.links = links
        self.service = service
        self.version = version
        self.instance = instance
        self.streams = streams
        self.positions = positions
        self.counts = counts
        self.uptimeSeconds = uptimeSeconds
        self.ready = ready
        self.endpoints = endpoints
    }
}

public struct PongBody: Codable, Sendable {
    public var service: String
    public var instance: String

    public init(service: String, instance: String) {
        self.service = service
        self.instance = instance
    }
}
