import DeliveryMessages

/// What one month says about a condition.
enum MonthVerdict {
    case meets, fails, missing, uncertain
    /// A segment's lead that only the tracked models show (`RunEnd.tracked`).
    case notEstablished
}

extension QueryEngine {
    /// How far back records, streaks and cumulative totals look: 50 years of months.
    public static var historyMonths: Int { 600 }

    /// Whether `a` is above `b` for certain (true), below or equal for certain (false), or cannot
    /// tell: decided by their intervals (`Interval.above`).
    static func above(_ a: FigureValue, _ b: FigureValue) -> Bool? {
        a.interval.above(b.interval)
    }

    /// Whether a month's figure meets a condition, by its interval: meets when all of it does,
    /// fails when none of it does, uncertain in between.
    func verdict(_ key: EntityKey, _ month: Period, _ condition: StreakCondition) -> MonthVerdict {
        let current = value(key, month)
        guard current.present else { return .missing }
        let interval = current.interval
        if let floor = condition.atLeast {
            if interval.low >= floor { return .meets }
            if let high = interval.high, high < floor { return .fails }
            return .uncertain
        }
        if let ceiling = condition.atMost {
            if let high = interval.high, high <= ceiling { return .meets }
            if interval.low > ceiling { return .fails }
            return .uncertain
        }
        let basis = condition.growth ?? .mom
        let before = value(key, basis == .yoy ? month.sameLastYear : month.previous)
        guard before.present else { return .missing }
        let up = condition.direction != .down
        let moved = up ? Self.above(current, before) : Self.above(before, current)
        switch moved {
        case true?: return .meets
        case false?: return .fails
        case nil:
            // Equal for certain is neither up nor down.
            if Self.above(current, before) == false && Self.above(before, current) == false { return .fails }
            return .uncertain
        }
    }

    /// The run of months up to `period` that meet: how many, the first, and why it stops there.
    func run(through period: Period, _ meets: (Period) -> MonthVerdict) -> (months: Int, since: Period?, endedBy: RunEnd) {
        var month = period
        var months = 0
        var since: Period?
        let earliest = store.earliestMonth
        while months < Self.historyMonths {
            // Before every figure held: nothing more to meet.
            if let earliest, month < earliest { return (months, since, .missing) }
            switch meets(month) {
            case .meets:
                months += 1
                since = month
                month = month.previous
            case .fails: return (months, since, .condition)
            case .missing: return (months, since, .missing)
            case .uncertain: return (months, since, .uncertain)
            case .notEstablished: return (months, since, .tracked)
            }
        }
        return (months, since, .missing)
    }

    /// The months of an entity with a figure, from `period` back (`historyMonths` at most), newest first.
    func history(_ key: EntityKey, through period: Period) -> [(month: Period, value: FigureValue)] {
        var result: [(Period, FigureValue)] = []
        var month = period
        let earliest = store.earliestMonth
        for _ in 0..<Self.historyMonths {
            if let earliest, month < earliest { break }
            let value = value(key, month)
            if value.present { result.append((month, value)) }
            month = month.previous
        }
        return result
    }

    func month(_ text: String, field: String = "period", for what: String) throws(ProtocolError) -> Period {
        let period = try period(text, field: field)
        guard period.kind == .month else {
            throw Self.invalid("\(what) counts months; \(field) must be a month (YYYY-MM), not \(period)", field: field)
        }
        return period
    }
}

extension FigureValue {
    func figure(_ month: Period) -> MonthFigure {
        var figure = MonthFigure(period: month.description, units: units, qualifier: qualifier)
        (figure.low, figure.high) = (low, high)
        return figure
    }
}
