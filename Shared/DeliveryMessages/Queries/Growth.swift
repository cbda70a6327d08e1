public enum GrowthBasis: String, Codable, Sendable, CaseIterable {
    case mom, qoq, yoy
}

public struct GrowthQuery: QueryRequest {
    public static let kind = QueryKind.growth
    public typealias Result = GrowthResult

    public var entity: EntitySelector
    public var period: String
    public var vs: GrowthBasis

    public init(entity: EntitySelector, period: String, vs: GrowthBasis) {
        self.entity = entity
        self.period = period
        self.vs = vs
    }
}

public struct GrowthResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    public var vs: GrowthBasis
    /// units / previousUnits - 1 (0.6133 = +61.33 %); null when previousUnits is 0.
    public var growth: Double?
    public var units: Int64
    public var previousUnits: Int64
    public var previousPeriod: String
    public var qualifier: Qualifier
    public var asOf: [String: UInt64] = [:]

    public init(
        entity: EntityRef, period: String, vs: GrowthBasis, growth: Double?, units: Int64, previousUnits: Int64,
        previousPeriod: String, qualifier: Qualifier
    ) {
        self.entity = entity
        self.period = period
        self.vs = vs
        self.growth = growth
        self.units = units
        self.previousUnits = previousUnits
        self.previousPeriod = previousPeriod
        self.qualifier = qualifier
    }
}
