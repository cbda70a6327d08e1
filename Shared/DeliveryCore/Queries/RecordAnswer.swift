import DeliveryMessages

extension QueryEngine {
    public func record(_ query: RecordQuery) throws(ProtocolError) -> RecordResult {
        let key = try entity(query.entity)
        let period = try month(query.period, for: "a record")
        return record(key, period, history: history(key, through: period))
    }

    /// The record of a month, from the entity's history through it (newest first).
    func record(_ key: EntityKey, _ period: Period, history: [(month: Period, value: FigureValue)]) -> RecordResult {
        let ref = catalog.ref(key)
        guard let current = history.first, current.month == period else {
            return RecordResult(
                entity: ref, period: period.description, figure: nil, monthsBefore: 0, firstMonth: nil, isHighest: false, isLowest: false,
                previousHigh: nil, previousLow: nil, highestSince: nil, lowestSince: nil
            )
        }
        let earlier = history.dropFirst()
        var high: (month: Period, value: FigureValue)?
        var low: (month: Period, value: FigureValue)?
        var higher: (month: Period, value: FigureValue)?
        var lower: (month: Period, value: FigureValue)?
        // Newest first: the first higher (lower) month met is the latest; ties keep the latest.
        for entry in earlier {
            if high == nil || entry.value.units > high!.value.units { high = entry }
            if low == nil || entry.value.units < low!.value.units { low = entry }
            if higher == nil, entry.value.units > current.value.units { higher = entry }
            if lower == nil, entry.value.units < current.value.units { lower = entry }
        }
        return RecordResult(
            entity: ref, period: period.description, figure: current.value.figure(period), monthsBefore: earlier.count,
            firstMonth: history.last?.month.description, isHighest: high.map { current.value.units > $0.value.units } ?? false,
            isLowest: low.map { current.value.units < $0.value.units } ?? false, previousHigh: high.map { $0.value.figure($0.month) },
            previousLow: low.map { $0.value.figure($0.month) }, highestSince: higher.map { $0.value.figure($0.month) },
            lowestSince: lower.map { $0.value.figure($0.month) }
        )
    }
}

extension RecordQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> RecordResult {
        try engine.record(self)
    }
}
