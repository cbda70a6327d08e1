public struct ShareQuery: QueryRequest {
    public static let kind = QueryKind.share
    public typealias Result = ShareResult

    public var entity: EntitySelector
    public var period: String
    public var of: EntitySelector?
    /// *Extension*: with a query's `powertrain`, the powertrain of the whole (`NEV`, `plug-in`,
    /// or `all` for the entity's whole figure). Absent: the whole figure of the same entity when
    /// `of` is absent, the same powertrain of `of` when it is given.
    public var ofPowertrain: String?

    public init(entity: EntitySelector, period: String, of: EntitySelector? = nil, ofPowertrain: String? = nil) {
        self.entity = entity
        self.period = period
        self.of = of
        self.ofPowertrain = ofPowertrain
    }
}

/// `share.result`. Stored properties: one per field of the reply (docs/PROTOCOL.md).
public struct ShareResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var of: EntityRef
    /// *Extension*: the powertrain of the whole, when the share is of a powertrain's figures
    /// (`all`: the entity's whole figure).
    public var ofPowertrain: String?
    public var period: String
    /// units / ofUnits, from 0 to 1 (null when ofUnits is 0).
    public var share: Double?
    public var units: Int64
    public var ofUnits: Int64
    /// ofUnits minus units: the rest of the whole.
    public var otherUnits: Int64
    public var qualifier: Qualifier
    /// *Extension*: the share in the period before (a month's month, a quarter's quarter; absent
    /// for a year) and in the same period a year before, with the change in percentage points.
    public var previous: ShareAt?
    public var previousYear: ShareAt?
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

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

/// A share in an earlier period, and how far the share moved since, in percentage points: a
/// share's change is a difference of two percentages, never a growth rate of units.
public struct ShareAt: Codable, Sendable, Hashable {
    public var period: String
    /// units / ofUnits in that period (null when ofUnits was 0).
    public var share: Double?
    public var units: Int64
    public var ofUnits: Int64
    public var qualifier: Qualifier
    /// (share now − share then) × 100, in percentage points; its qualifier follows the two
    /// shares' (a floor now, or a ceiling then, is a floor on the change). Null when either
    /// share is null.
    public var changePoints: Double?
    public var changeQualifier: Qualifier

    public init(
        period: String, share: Double?, units: Int64, ofUnits: Int64, qualifier: Qualifier, changePoints: Double?, changeQualifier: Qualifier
    ) {
        (self.period, self.share, self.units, self.ofUnits) = (period, share, units, ofUnits)
        (self.qualifier, self.changePoints, self.changeQualifier) = (qualifier, changePoints, changeQualifier)
    }
}
