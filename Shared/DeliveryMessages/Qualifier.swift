/// How exact a figure is. A sum carries the weakest qualifier of its parts (see `combined`).
public enum Qualifier: String, Codable, Sendable, Hashable, CaseIterable {
    case exact
    case approximate
    case atLeast
    case atMost

    /// The qualifier of a sum of figures with these two qualifiers: exact only when both are;
    /// `atLeast` when the inexact parts are all lower bounds, `atMost` when all upper bounds,
    /// `approximate` otherwise.
    public func combined(with other: Qualifier) -> Qualifier {
        if self == other { return self }
        if self == .exact { return other }
        if other == .exact { return self }
        return .approximate
    }
}

/// Whether a figure was reported directly or computed from its parts.
public enum Basis: String, Codable, Sendable, Hashable, CaseIterable {
    case reported
    case computed
}

/// The levels of the entity hierarchy, from the top.
public enum Level: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case market
    case group
    case brand
    case model

    var depth: Int {
        switch self {
        case .market: 0
        case .group: 1
        case .brand: 2
        case .model: 3
        }
    }

    public static func < (lhs: Level, rhs: Level) -> Bool { lhs.depth < rhs.depth }

    public var child: Level? {
        switch self {
        case .market: .group
        case .group: .brand
        case .brand: .model
        case .model: nil
        }
    }

    public var parent: Level? {
        switch self {
        case .market: nil
        case .group: .market
        case .brand: .group
        case .model: .brand
        }
    }
}
