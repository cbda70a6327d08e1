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
        return YTDResult(
            entity: catalog.ref(key), period: period.description, from: first.description, units: units,
            qualifier: qualifier, complete: complete
        )
    }
}

extension YTDQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> YTDResult {
        try engine.ytd(self)
    }
}
