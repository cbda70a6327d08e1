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
        // The latest earlier month higher (lower) for certain, looked for until one that may be.
        var higher: (month: Period, value: FigureValue)?
        var lower: (month: Period, value: FigureValue)?
        var lookHigher = true
        var lookLower = true
        // Highest (lowest): above (below) every earlier month for certain; `nil` once one overlaps.
        var highest: Bool? = true
        var lowest: Bool? = true
        var approximate = current.value.qualifier == .approximate
        // Newest first: the first higher (lower) month met is the latest; ties keep the latest.
        for entry in earlier {
            if entry.value.qualifier == .approximate { approximate = true }
            if high == nil || entry.value.units > high!.value.units { high = entry }
            if low == nil || entry.value.units < low!.value.units { low = entry }
            let above = Self.above(current.value, entry.value)
            let below = Self.above(entry.value, current.value)
            if lookHigher {
                switch below {
                case true?: (higher, lookHigher) = (entry, false)
                case nil: lookHigher = false
                case false?: break
                }
            }
            if lookLower {
                switch above {
                case true?: (lower, lookLower) = (entry, false)
                case nil: lookLower = false
                case false?: break
                }
            }
            if above == false { highest = false } else if above == nil, highest == true { highest = nil }
            if below == false { lowest = false } else if below == nil, lowest == true { lowest = nil }
        }
        if earlier.isEmpty { (highest, lowest) = (false, false) }
        var result = RecordResult(
            entity: ref, period: period.description, figure: current.value.figure(period), monthsBefore: earlier.count,
            firstMonth: history.last?.month.description, isHighest: highest == true,
            isLowest: lowest == true, previousHigh: high.map { $0.value.figure($0.month) },
            previousLow: low.map { $0.value.figure($0.month) }, highestSince: higher.map { $0.value.figure($0.month) },
            lowestSince: lower.map { $0.value.figure($0.month) }
        )
        if approximate { result.approximate = true }
        let uncertain = (highest == nil ? ["isHighest"] : []) + (lowest == nil ? ["isLowest"] : [])
        if !uncertain.isEmpty { result.uncertain = uncertain }
        return result
    }
}

extension RecordQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> RecordResult {
        try engine.record(self)
    }
}
