import DeliveryMessages

extension QueryEngine {
    public func growth(_ query: GrowthQuery) throws(ProtocolError) -> GrowthResult {
        let key = try entity(query.entity)
        let period = try period(query.period)
        let previous: Period
        switch (query.vs, period.kind) {
        case (.mom, .month): previous = period.previous
        case (.qoq, .quarter): previous = period.previous
        case (.yoy, _): previous = period.sameLastYear
        case (.mom, _):
            throw Self.invalid("mom compares a month with the month before; \(period) is not a month", field: "vs")
        case (.qoq, _):
            throw Self.invalid("qoq compares a quarter with the quarter before; \(period) is not a quarter", field: "vs")
        }
        let now = value(key, period)
        let before = value(key, previous)
        var result = GrowthResult(
            entity: catalog.ref(key), period: period.description, vs: query.vs,
            growth: before.units > 0 && now.present ? Double(now.units) / Double(before.units) - 1 : nil,
            units: now.units, previousUnits: before.units, previousPeriod: previous.description,
            qualifier: now.qualifier.combined(with: before.qualifier)
        )
        (result.low, result.high) = (now.low, now.high)
        (result.previousLow, result.previousHigh) = (before.low, before.high)
        guard now.present, before.present else { return result }
        switch (Self.above(now, before), Self.above(before, now)) {
        case (true?, _): result.direction = "up"
        case (_, true?): result.direction = "down"
        case (false?, false?): result.direction = "flat"
        default: result.direction = "uncertain"
        }
        if now.qualifier != .exact || before.qualifier != .exact {
            // The least growth: the least now over the most before; the most: the most now over the least before.
            if let beforeHigh = before.interval.high, beforeHigh > 0 {
                result.growthLow = Double(now.interval.low) / Double(beforeHigh) - 1
            }
            if let nowHigh = now.interval.high, before.interval.low > 0 {
                result.growthHigh = Double(nowHigh) / Double(before.interval.low) - 1
            }
        }
        return result
    }
}

extension GrowthQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> GrowthResult {
        try engine.growth(self)
    }
}
