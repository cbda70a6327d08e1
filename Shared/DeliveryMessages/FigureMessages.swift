/// Which stream position caused a figure's last change.
public struct Cause: Codable, Sendable, Hashable {
    public var stream: String
    public var seq: UInt64
    public var reportId: String?
    /// *Extension*: the report's `reportedAt`, so that a replica orders causes as the aggregate
    /// does (docs/PROTOCOL.md, "The order of reports").
    public var reportedAt: String?

    public init(stream: String, seq: UInt64, reportId: String?, reportedAt: String? = nil) {
        self.stream = stream
        self.seq = seq
        self.reportId = reportId
        self.reportedAt = reportedAt
    }
}

/// One source's report for a figure: what it said, and when.
public struct SourceFigure: Codable, Sendable, Hashable {
    public var source: String
    public var units: Int64
    public var qualifier: Qualifier
    public var reportedAt: String
    public var reportId: String
    public var stream: String
    public var seq: UInt64
    /// *Extension*: an approximate report's interval (high absent: no upper bound).
    public var low: Int64?
    public var high: Int64?
    /// *Extension*: the model's rank within its price segment, as this source's report states it.
    public var segmentRank: Int?

    public init(
        source: String, units: Int64, qualifier: Qualifier, reportedAt: String, reportId: String, stream: String,
        seq: UInt64, interval: Interval? = nil, segmentRank: Int? = nil
    ) {
        self.source = source
        self.units = units
        self.qualifier = qualifier
        self.reportedAt = reportedAt
        self.reportId = reportId
        self.stream = stream
        self.seq = seq
        (low, high) = FigureBody.wireBounds(qualifier, interval)
        self.segmentRank = segmentRank
    }

    /// The least and the most the report says the figure is.
    public var interval: Interval { FigureBody.wireInterval(units, qualifier, low: low, high: high) }
}

/// The body of `figure.changed`, and one entry of a snapshot: a figure for an entity and period.
/// Beyond PROTOCOL.md's fields it carries what a replica needs to answer every query from it: the
/// reported and computed values apart, whether a quarter or year sum is complete, and the latest
/// report of each source.
/// Stored properties: one per field of the event (docs/PROTOCOL.md).
public struct FigureBody: Codable, Sendable, Hashable {
    public var entity: EntityRef
    public var period: String
    /// The figure: the reported value where there is one, else the computed sum.
    public var units: Int64
    public var previous: Int64
    public var basis: Basis
    public var qualifier: Qualifier
    public var cause: Cause?
    /// For a reported figure: the source whose report won (the latest in the order of reports).
    public var source: String?
    public var reported: Int64?
    public var reportedQualifier: Qualifier?
    public var computed: Int64?
    public var computedQualifier: Qualifier?
    /// For a computed quarter or year: whether every month in it has a figure.
    public var complete: Bool
    public var sources: [SourceFigure]
    /// *Extension*: an approximate figure's interval, the least and the most it can be (`high`
    /// absent: no upper bound); absent for other qualifiers, whose interval the qualifier gives.
    public var low: Int64?
    public var high: Int64?
    /// *Extension*: what the figure counts; absent for deliveries.
    public var measure: Measure?
    /// *Extension*: the powertrain whose part of the entity's figure this is; absent for the whole.
    public var powertrain: Powertrain?
    /// *Extension*, on a computed figure: `powertrains` when it is the sum of its powertrain
    /// parts, not of its children's figures (absent).
    public var computedFrom: ComputedFrom?

    public init(
        entity: EntityRef, period: String, units: Int64, previous: Int64, basis: Basis, qualifier: Qualifier,
        cause: Cause?, source: String?, reported: Int64?, reportedQualifier: Qualifier?, computed: Int64?,
        computedQualifier: Qualifier?, complete: Bool, sources: [SourceFigure], interval: Interval? = nil, measure: Measure? = nil,
        powertrain: Powertrain? = nil, computedFrom: ComputedFrom? = nil
    ) {
        self.measure = measure?.wire
        self.powertrain = powertrain
        self.computedFrom = computedFrom
        self.entity = entity
        self.period = period
        self.units = units
        self.previous = previous
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
        (low, high) = Self.wireBounds(qualifier, interval)
    }

    /// The least and the most the figure can be.
    public var interval: Interval { Self.wireInterval(units, qualifier, low: low, high: high) }

    /// The wire fields of an interval: only an approximate figure states them.
    public static func wireBounds(_ qualifier: Qualifier, _ interval: Interval?) -> (Int64?, Int64?) {
        guard qualifier == .approximate, let interval else { return (nil, nil) }
        return (interval.low, interval.high)
    }

    /// The interval the wire fields give: an approximate figure without them has its digits' one.
    public static func wireInterval(_ units: Int64, _ qualifier: Qualifier, low: Int64?, high: Int64?) -> Interval {
        Interval.of(units, qualifier, stated: low.map { Interval(low: $0, high: high) })
    }
}

/// What a computed figure is the sum of, when not its children's figures.
public enum ComputedFrom: String, Codable, Sendable, Hashable {
    /// The sum of the entity's own figures by powertrain (BEV + plug-in + FCEV for NEV, say).
    case powertrains
}

/// `snapshot`: every figure under a topic prefix.
public struct SnapshotRequest: Codable, Sendable {
    public var prefix: String?
    /// Internal links only (aggregate ROUTER): figures per part. With it, the answer is a series
    /// of `snapshot.part` replies, each a JSON head and a binary frame of figures, all at one
    /// position, the last one marked `last`.
    public var chunk: Int?

    public init(prefix: String? = nil, chunk: Int? = nil) {
        self.prefix = prefix
        self.chunk = chunk
    }
}

/// The JSON head of a `snapshot.part`; its figures follow in the binary frame (`FigureList`).
public struct SnapshotPart: Codable, Sendable {
    public var part: Int
    public var last: Bool
    public var figures: Int
    /// The last seq of the aggregate's stream that every part reflects.
    public var positions: [String: UInt64]
    /// The ingest positions reflected.
    public var upstream: [String: UInt64]
    /// The merged catalog, in the first part.
    public var catalog: CatalogDocument?
    /// *Extension*: the figures in all the parts together (a follower makes room for them at once).
    public var total: Int?
    /// *Extension*: the aggregate's fact history, in the first part.
    public var facts: FactHistoryBody?

    public init(
        part: Int, last: Bool, figures: Int, positions: [String: UInt64], upstream: [String: UInt64], catalog: CatalogDocument?,
        total: Int? = nil, facts: FactHistoryBody? = nil
    ) {
        self.total = total
        self.facts = facts
        self.part = part
        self.last = last
        self.figures = figures
        self.positions = positions
        self.upstream = upstream
        self.catalog = catalog
    }
}

/// The JSON head of a `figure.batch` or `report.batch`: what the binary frame holds.
public struct BatchHead: Codable, Sendable {
    public var figures: Int?
    public var reports: Int
    public var catalogs: Int?
    /// `report.batch`: the first and last seq of the ingest events it carries.
    public var first: UInt64?

    public init(figures: Int? = nil, reports: Int, catalogs: Int? = nil, first: UInt64? = nil) {
        self.figures = figures
        self.reports = reports
        self.catalogs = catalogs
        self.first = first
    }
}

public struct SnapshotResult: Codable, Sendable {
    public var figures: [FigureBody]
    /// The last seq of each stream on the same PUB that the snapshot reflects.
    public var positions: [String: UInt64]
    /// The upstream (ingest) positions reflected.
    public var upstream: [String: UInt64]?
    /// The merged catalog, so that a replica can resolve names.
    public var catalog: CatalogDocument?

    public init(
        figures: [FigureBody], positions: [String: UInt64], upstream: [String: UInt64]? = nil,
        catalog: CatalogDocument? = nil
    ) {
        self.figures = figures
        self.positions = positions
        self.upstream = upstream
        self.catalog = catalog
    }
}
