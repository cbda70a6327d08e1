public struct YTDQuery: QueryRequest {
    public static let kind = QueryKind.ytd
    public typealias Result = YTDResult

    public var entity: EntitySelector
    public var period: String

    public init(entity: EntitySelector, period: String) {
        self.entity = entity
        self.period = period
    }
}

public struct YTDResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    public var from: String
    public var units: Int64
    public var qualifier: Qualifier
    /// Whether every month from January on has a figure.
    public var complete: Bool
    public var asOf: [String: UInt64] = [:]

    public init(entity: EntityRef, period: String, from: String, units: Int64, qualifier: Qualifier, complete: Bool) {
        self.entity = entity
        self.period = period
        self.from = from
        self.units = units
        self.qualifier = qualifier
        self.complete = complete
    }
}
