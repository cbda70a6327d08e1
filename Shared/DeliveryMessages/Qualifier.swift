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

/// The levels of the entity hierarchy, from the top; and, beside it, a price segment (*extension*),
/// whose figures are the segment's market-wide totals as reported: no parent, no children.
public enum Level: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case market
    case group
    case brand
    case model
    case segment

    var depth: Int {
        switch self {
        case .market: 0
        case .group, .segment: 1
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
        case .model, .segment: nil
        }
    }

    public var parent: Level? {
        switch self {
        case .market: nil
        case .group: .market
        case .brand: .group
        case .model: .brand
        case .segment: nil
        }
    }
}

/// The least and the most a figure can be (docs/PROTOCOL.md, "Approximate figures"): an exact
/// figure is its units, an `atLeast` figure has no upper bound, an `atMost` one goes down to 0,
/// and an approximate one lies within a margin either side, stated by its report or else read from
/// its digits. Comparisons are decided by intervals: certain when they do not overlap.
public struct Interval: Sendable, Hashable {
    public var low: Int64
    /// nil: no upper bound.
    public var high: Int64?

    public init(low: Int64, high: Int64?) {
        self.low = low
        self.high = high
    }

    /// The interval of a figure of `units` with `qualifier`; `stated` is an approximate figure's
    /// own interval (nil: the one its digits give, `approximate(_:)`).
    public static func of(_ units: Int64, _ qualifier: Qualifier, stated: Interval? = nil) -> Interval {
        switch qualifier {
        case .exact: Interval(low: units, high: units)
        case .atLeast: Interval(low: units, high: nil)
        case .atMost: Interval(low: 0, high: units)
        case .approximate: stated ?? approximate(units)
        }
    }

    /// What "about `units`" means: plus or minus half the unit of its last non-zero digit (47,800:
    /// ±50), widened to at least 1 % of it, rounded up (47,800: ±478), never below 0.
    public static func approximate(_ units: Int64) -> Interval {
        guard units > 0 else { return Interval(low: 0, high: 0) }
        var place: Int64 = 1
        while units % (place * 10) == 0, place <= Int64.max / 100 { place *= 10 }
        let relative = (units - 1) / 100 + 1  // 1 %, rounded up
        let margin = max(place / 2, relative)
        return Interval(low: max(0, units - margin), high: units.addingReportingOverflow(margin).overflow ? nil : units + margin)
    }

    /// The interval of a sum.
    public func adding(_ other: Interval) -> Interval {
        let low = low.addingReportingOverflow(other.low)
        var high: Int64?
        if let a = self.high, let b = other.high {
            let sum = a.addingReportingOverflow(b)
            high = sum.overflow ? nil : sum.partialValue
        }
        return Interval(low: low.overflow ? Int64.max : low.partialValue, high: high)
    }

    /// Whether every value here is above every value of `other` (true), every value here at or
    /// below every value there (false), or the two overlap so that it cannot be told (nil).
    public func above(_ other: Interval) -> Bool? {
        if let otherHigh = other.high, low > otherHigh { return true }
        if let high, high <= other.low { return false }
        return nil
    }

    /// Whether the interval is one value.
    public var isPoint: Bool { high == low }
}

extension Int64 {
    /// 44454 → "44,454": the digits in groups of three, as the CLI and the brief write units.
    public var groupedDigits: String {
        let digits = String(magnitude)
        var out = ""
        for (index, char) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(char)
        }
        return self < 0 ? "-" + out : out
    }
}
