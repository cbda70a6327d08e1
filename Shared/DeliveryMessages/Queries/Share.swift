public struct ShareQuery: QueryRequest {
    public static let kind = QueryKind.share
    public typealias Result = ShareResult

    public var entity: EntitySelector
    public var period: String
    public var of: EntitySelector?

    public init(entity: EntitySelector, period: String, of: EntitySelector? = nil) {
        self.entity = entity
        self.period = period
        self.of = of
    }
}

public struct ShareResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var of: EntityRef
    public var period: String
    /// units / ofUnits, from 0 to 1 (null when ofUnits is 0).
    public var share: Double?
    public var units: Int64
    public var ofUnits: Int64
    /// ofUnits minus units: the rest of the whole.
    public var otherUnits: Int64
    public var qualifier: Qualifier
    public var asOf: [String: UInt64] = [:]

    public init(
        entity: EntityRef, of: EntityRef, period: String, share: Double?, units: Int64, ofUnits: Int64,
        otherUnits: Int64, qualifier: Qualifier
    ) {
        self.entity = entity
        self.of = of
        self.period = period
        self.share = share
        self.units = units
        self.ofUnits = ofUnits
        self.otherUnits = otherUnits
        self.qualifier = qualifier
    }
}
