import DeliveryMessages

extension QueryEngine {
    public func streak(_ query: StreakQuery) throws(ProtocolError) -> StreakResult {
        let segment = try segmentID(query.segment)
        let period = try period(query.period)
        guard period.kind == .month else {
            throw Self.invalid("a streak counts months; period must be a month (YYYY-MM)", field: "period")
        }
        let models = catalog.models.values.filter { $0.segment == segment }.map { EntityKey(.model, $0.id) }
        func leader(_ month: Period) -> (EntityKey, FigureBody)? { ranked(models, month).first }
        var subject: EntityKey?
        if let selector = query.entity {
            let key = try entity(selector)
            guard key.level == .model, catalog.model(key.id)?.segment == segment else {
                throw Self.invalid("'\(key.id)' is not a model of segment '\(segment)'", field: "entity")
            }
            subject = key
        }
        let top = leader(period)
        let counted = subject ?? top?.0
        var months = 0
        if let counted {
            var month = period
            while let current = leader(month), current.0 == counted {
                months += 1
                month = month.previous
            }
        }
        return StreakResult(
            segment: segment, period: period.description, leader: top?.1.entity, units: top?.1.units ?? 0,
            months: months, entity: subject.map { catalog.ref($0) }, leads: subject.map { $0 == top?.0 }
        )
    }
}

extension StreakQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> StreakResult {
        try engine.streak(self)
    }
}
