public struct ReconcileQuery: QueryRequest {
    public static let kind = QueryKind.reconcile
    public typealias Result = ReconcileResult

    public var entity: EntitySelector
    public var period: String

    public init(entity: EntitySelector, period: String) {
        self.entity = entity
        self.period = period
    }
}

public struct ReconcileChild: Codable, Sendable, Hashable {
    public var entity: EntityRef
    public var units: Int64
    public var basis: Basis
    public var qualifier: Qualifier

    public init(entity: EntityRef, units: Int64, basis: Basis, qualifier: Qualifier) {
        self.entity = entity
        self.units = units
        self.basis = basis
        self.qualifier = qualifier
    }
}

/// `reconcile.result`. Stored properties: one per field of the reply (docs/PROTOCOL.md).
public struct ReconcileResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    /// The figure reported for the entity itself (null when none was).
    public var reported: Int64?
    public var childrenSum: Int64
    /// reported minus childrenSum (null when nothing was reported for the entity itself).
    public var unattributed: Int64?
    public var qualifier: Qualifier?
    public var childrenQualifier: Qualifier
    public var children: [ReconcileChild]
    /// Each source's report for the entity and period.
    public var sources: [SourceFigure]
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

    public init(
        entity: EntityRef, period: String, reported: Int64?, childrenSum: Int64, unattributed: Int64?,
        qualifier: Qualifier?, childrenQualifier: Qualifier, children: [ReconcileChild], sources: [SourceFigure]
    ) {
        self.entity = entity
        self.period = period
        self.reported = reported
        self.childrenSum = childrenSum
        self.unattributed = unattributed
        self.qualifier = qualifier
        self.childrenQualifier = childrenQualifier
        self.children = children
        self.sources = sources
    }
}
