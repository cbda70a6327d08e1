/// *Extension* `revisions`: every value a figure has had, per source, with when and by which
/// report; the first release, the latest, and the largest revision.
public struct RevisionsQuery: QueryRequest {
    public static let kind = QueryKind.revisions
    public typealias Result = RevisionsResult

    public var entity: EntitySelector
    public var period: String
    /// Only this source's reports.
    public var source: String?

    public init(entity: EntitySelector, period: String, source: String? = nil) {
        self.entity = entity
        self.period = period
        self.source = source
    }
}

/// One report of a figure, and how it moved its source's value.
public struct Revision: Codable, Sendable, Hashable {
    public var source: String
    public var units: Int64
    public var qualifier: Qualifier
    public var reportedAt: String
    public var reportId: String
    public var stream: String
    public var seq: UInt64
    /// Its units minus the source's value before it (absent for a source's first release).
    public var change: Int64?
    /// Whether it is its source's value now.
    public var current: Bool

    public init(_ report: SourceFigure, change: Int64?, current: Bool) {
        (source, units, qualifier, reportedAt) = (report.source, report.units, report.qualifier, report.reportedAt)
        (reportId, stream, seq) = (report.reportId, report.stream, report.seq)
        self.change = change
        self.current = current
    }
}

/// `revisions.result`. Stored properties: one per field of the reply (docs/PROTOCOL.md).
public struct RevisionsResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    /// Every report of the figure, in the order of reports (the last of each source is current).
    public var reports: [Revision]
    /// The first report, the latest, and the one that moved its source's value most (absent
    /// when no source revised).
    public var first: Revision?
    public var latest: Revision?
    public var largest: Revision?
    /// Earlier reports past the most a figure keeps (64) were dropped: the log still has them.
    public var truncated: Bool
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

    public init(entity: EntityRef, period: String, reports: [Revision], truncated: Bool) {
        self.entity = entity
        self.period = period
        self.reports = reports
        first = reports.first
        latest = reports.last
        largest = reports.filter { $0.change != nil }.max { abs($0.change ?? 0) < abs($1.change ?? 0) }
        self.truncated = truncated
    }
}
