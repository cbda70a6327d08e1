import DeliveryMessages

extension QueryEngine {
    public func cumulative(_ query: CumulativeQuery) throws(ProtocolError) -> CumulativeResult {
        let key = try entity(query.entity)
        let period = try month(query.period, for: "a cumulative total")
        if let milestone = query.milestone, milestone <= 0 {
            throw Self.invalid("a milestone is a number of units above 0", field: "milestone")
        }
        return cumulative(key, period, milestone: query.milestone, history: history(key, through: period))
    }

    /// The running total of an entity's months (history newest first), and where it crossed `milestone`.
    func cumulative(_ key: EntityKey, _ period: Period, milestone: Int64?, history: [(month: Period, value: FigureValue)]) -> CumulativeResult {
        let ref = catalog.ref(key)
        guard let first = history.last?.month else {
            return CumulativeResult(
                entity: ref, period: period.description, from: nil, units: 0, qualifier: .exact, months: 0, missingMonths: 0, missing: [],
                milestone: milestone, crossedIn: nil
            )
        }
        var sum = FigureValue(present: true, units: 0, qualifier: .exact, basis: .computed, complete: true)
        var crossed: Period?
        for (month, value) in history.reversed() {
            sum.add(value)
            if crossed == nil, let milestone, sum.units >= milestone { crossed = month }
        }
        let (total, qualifier) = (sum.units, sum.qualifier)
        let held = Set(history.map(\.month))
        let gaps = first.through(period).filter { !held.contains($0) }
        var result = CumulativeResult(
            entity: ref, period: period.description, from: first.description, units: total, qualifier: qualifier, months: history.count,
            missingMonths: gaps.count, missing: gaps.prefix(24).map(\.description), milestone: milestone, crossedIn: crossed?.description
        )
        (result.low, result.high) = (sum.low, sum.high)
        return result
    }
}

extension CumulativeQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> CumulativeResult {
        try engine.cumulative(self)
    }
}
