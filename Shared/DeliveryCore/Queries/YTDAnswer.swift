import DeliveryMessages

extension QueryEngine {
    public func ytd(_ query: YTDQuery) throws(ProtocolError) -> YTDResult {
        let key = try entity(query.entity)
        let period = try period(query.period)
        guard period.kind == .month else {
            throw Self.invalid("year to date runs to a month (YYYY-MM), not \(period)", field: "period")
        }
        let first = Period.month(period.year, 1)
        var units: Int64 = 0
        var qualifier = Qualifier.exact
        var complete = true
        for month in first.through(period) {
            let value = value(key, month)
            if value.present {
                units = units.saturatingAdding(value.units)
                qualifier = qualifier.combined(with: value.qualifier)
            } else {
                complete = false
            }
        }
        var result = YTDResult(
            entity: catalog.ref(key), period: period.description, from: first.description, units: units,
            qualifier: qualifier, complete: complete
        )
        let before = value(key, .year(period.year - 1))
        if before.present {
            result.previousYear = YearFigure(
                year: String(period.year - 1), units: before.units, qualifier: before.qualifier, complete: before.complete
            )
            // An incomplete year is a floor of the whole: exceeding it says nothing.
            if before.complete {
                // Months missing this year make the sum a floor of the year to date.
                let sofar = FigureValue(
                    present: true, units: units, qualifier: complete ? qualifier : qualifier.combined(with: .atLeast), basis: .computed,
                    complete: complete
                )
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
