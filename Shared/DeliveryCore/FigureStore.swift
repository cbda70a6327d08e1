import DeliveryMessages

/// Where queries read figures from: the aggregate's `FigureBook` or a query replica.
public protocol FigureStore {
    var catalog: Catalog { get }
    /// The figure of an entity in a period, or nil when nothing was reported for it or below it.
    func figure(_ entity: EntityKey, _ period: Period) -> FigureBody?
}

/// The key of one figure.
public struct FigureKey: Hashable, Sendable {
    public let entity: EntityKey
    public let period: Period

    public init(_ entity: EntityKey, _ period: Period) {
        self.entity = entity
        self.period = period
    }
}

extension FigureBody {
    /// The figure's key, or nil when its period does not parse.
    public var key: FigureKey? {
        guard let period = try? Period(parsing: period) else { return nil }
        return FigureKey(EntityKey(entity.level, entity.id), period)
    }
}
