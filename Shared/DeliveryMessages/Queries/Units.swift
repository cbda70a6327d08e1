public struct UnitsQuery: QueryRequest {
    public static let kind = QueryKind.units
    public typealias Result = UnitsResult

    public var entity: EntitySelector
    public var period: String
    public var source: String?
    /// *Extension*: another measure of the same entity and period, answered beside (`compared`).
    public var compare: Measure?

    public init(entity: EntitySelector, period: String, source: String? = nil, compare: Measure? = nil) {
        self.entity = entity
        self.period = period
        self.source = source
        self.compare = compare
    }
}

/// Another measure's figure of the same entity and period, beside the one asked for, and how the
/// two differ (`units` minus this one's; their ratio when this one is not 0).
public struct ComparedUnits: Codable, Sendable, Hashable {
    public var measure: Measure
    public var units: Int64
    public var basis: Basis
    public var qualifier: Qualifier
    public var sources: [String]
    public var coverage: String?
    public var difference: Int64
    public var ratio: Double?

    public init(
        measure: Measure, units: Int64, basis: Basis, qualifier: Qualifier, sources: [String], coverage: String?, difference: Int64, ratio: Double?
    ) {
        (self.measure, self.units, self.basis, self.qualifier, self.sources) = (measure, units, basis, qualifier, sources)
        (self.coverage, self.difference, self.ratio) = (coverage, difference, ratio)
    }
}

/// `units.result`. Stored properties: one per field of the reply (docs/PROTOCOL.md).
public struct UnitsResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    public var units: Int64
    public var basis: Basis
    public var qualifier: Qualifier
    /// *Extension*: when approximate, the least and the most it can be (docs/PROTOCOL.md,
    /// "Approximate figures"); `high` absent: no upper bound.
    public var low: Int64?
    public var high: Int64?
    /// The sources the figure rests on.
    public var sources: [String]
    public var reported: Int64?
    public var computed: Int64?
    /// For a computed quarter or year: whether every month has a figure.
    public var complete: Bool
    /// Each source's latest report for this entity and period.
    public var bySource: [SourceFigure]
    public var cause: Cause?
    /// *Extension*: for a computed figure, what the sum covers: `complete` (every part the catalog
    /// expects has a figure), `partial` (some have none: the figure is a lower bound and `missing`
    /// names them), or `tracked` (the market: the sum of the groups the catalog tracks).
    public var coverage: String?
    /// *Extension*: with `partial`, the expected entities with no figure (at most 20) and how many.
    public var missing: [EntityRef]?
    public var missingCount: Int?
    /// *Extension*, on a computed figure: `powertrains` when it is the sum of its powertrain parts.
    public var computedFrom: ComputedFrom?
    /// *Extension*: for a sum of powertrain parts, the parts it has no figure of (at most 20).
    public var missingParts: [MissingPart]?
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?
    /// *Extension*: with `compare`, the other measure's figure of the same entity and period.
    public var compared: ComparedUnits?

    public init(
        entity: EntityRef, period: String, units: Int64, basis: Basis, qualifier: Qualifier, sources: [String],
        reported: Int64?, computed: Int64?, complete: Bool, bySource: [SourceFigure], cause: Cause?
    ) {
        self.entity = entity
        self.period = period
        self.units = units
        self.basis = basis
        self.qualifier = qualifier
        self.sources = sources
        self.reported = reported
        self.computed = computed
        self.complete = complete
        self.bySource = bySource
        self.cause = cause
    }
}

/// A powertrain part a sum has no figure of: an entity's BEV, say.
public struct MissingPart: Codable, Sendable, Hashable {
    public var entity: EntityRef
    public var powertrain: Powertrain

    public init(entity: EntityRef, powertrain: Powertrain) {
        self.entity = entity
        self.powertrain = powertrain
    }
}
