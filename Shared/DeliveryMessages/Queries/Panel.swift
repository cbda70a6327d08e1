/// *Extension* `panel`: many entities over a range of periods in one round trip (an analyst's
/// "every HIMA brand, month by month, since 2024"): one series per entity, in the order asked.
public struct PanelQuery: QueryRequest {
    public static let kind = QueryKind.panel
    public typealias Result = PanelResult

    public var entities: [EntitySelector]
    public var from: String
    public var to: String
    public var granularity: Granularity?

    public init(entities: [EntitySelector], from: String, to: String, granularity: Granularity? = nil) {
        self.entities = entities
        self.from = from
        self.to = to
        self.granularity = granularity
    }
}

/// One entity's points in a panel: as in `series`.
public struct PanelSeries: Codable, Sendable, Hashable {
    public var entity: EntityRef
    public var points: [SeriesPoint]

    public init(entity: EntityRef, points: [SeriesPoint]) {
        self.entity = entity
        self.points = points
    }
}

public struct PanelResult: QueryResult, Hashable {
    public var from: String
    public var to: String
    public var granularity: Granularity
    public var series: [PanelSeries]
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

    public init(from: String, to: String, granularity: Granularity, series: [PanelSeries]) {
        self.from = from
        self.to = to
        self.granularity = granularity
        self.series = series
    }
}
