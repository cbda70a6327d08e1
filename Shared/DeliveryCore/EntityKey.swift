import DeliveryMessages

/// An entity of the catalog by level and id: what figures are keyed by.
public struct EntityKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let level: Level
    public let id: String

    public init(_ level: Level, _ id: String) {
        self.level = level
        self.id = id
    }

    public static let market = EntityKey(.market, "market")

    public static func < (lhs: EntityKey, rhs: EntityKey) -> Bool {
        (lhs.level, lhs.id) < (rhs.level, rhs.id)
    }

    public var description: String { "\(level.rawValue):\(id)" }
}
