import DeliveryMessages

extension QueryEngine {
    public func ytd(_ query: YTDQuery) throws(ProtocolError) -> YTDResult {
        let key = try entity(query.entity)
        let period = try period(query.period)
        guard period.kind == .month else {
            throw Self.invalid("year to date runs to a month (YYYY-MM), not \(period)", field: "period")
        }
        let first = Period.month(period.year, 1)
        var sum = FigureValue(present: true, units: 0, qualifier: .exact, basis: .computed, complete: true)
        var complete = true
        for month in first.through(period) {
            let value = value(key, month)
            if value.present {
                sum.add(value)
            } else {
                complete = false
            }
        }
        let (units, qualifier) = (sum.units, sum.qualifier)
        var result = YTDResult(
            entity: catalog.ref(key), period: period.description, from: first.description, units: units,
            qualifier: qualifier, complete: complete
        )
        (result.low, result.high) = (sum.low, sum.high)
        let before = value(key, .year(period.year - 1))
        if before.present {
            result.previousYear = YearFigure(
                year: String(period.year - 1), units: before.units, qualifier: before.qualifier, complete: before.complete
            )
            // An incomplete year is a floor of the whole: exceeding it says nothing.
            if before.complete {
                // Months missing this year make the sum a floor of the year to date.
                var sofar = sum
                if !complete {
                    sofar.qualifier = qualifier.combined(with: .atLeast)
                    sofar.interval.high = nil
                }
                result.exceedsPreviousYear = Self.above(sofar, before)
            }
        }
        return result
    }
}

extension YTDQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> YTDResult {
        try engine.ytd(self)
    }
}
