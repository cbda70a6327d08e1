import DeliveryMessages

extension QueryEngine {
    public func units(_ query: UnitsQuery) throws(ProtocolError) -> UnitsResult {
        let key = try entity(query.entity)
        let period = try period(query.period)
        let ref = catalog.ref(key)
        if let source = query.source {
            let value = value(key, period, source: source)
            let slots = store.figure(key, period)?.sources.filter { $0.source.lowercased() == source.lowercased() } ?? []
            var result = UnitsResult(
                entity: ref, period: period.description, units: value.units, basis: value.basis,
                qualifier: value.qualifier, sources: value.present ? [slots.first?.source ?? source] : [],
                reported: slots.first?.units, computed: value.basis == .computed && value.present ? value.units : nil,
                complete: value.complete, bySource: slots, cause: nil
            )
            (result.low, result.high) = (value.low, value.high)
            return result
        }
        guard let figure = store.figure(key, period).map({ covered($0, key, period) }) else {
            return UnitsResult(
                entity: ref, period: period.description, units: 0, basis: .computed, qualifier: .exact, sources: [],
                reported: nil, computed: nil, complete: false, bySource: [], cause: nil
            )
        }
        var result = UnitsResult(
            entity: ref, period: period.description, units: figure.units, basis: figure.basis,
            qualifier: figure.qualifier, sources: sources(key, period).sorted(), reported: figure.reported,
            computed: figure.computed, complete: figure.complete, bySource: figure.sources, cause: figure.cause
        )
        (result.low, result.high) = FigureBody.wireBounds(figure.qualifier, figure.interval)
        result.computedFrom = figure.computedFrom
        if let words = coverageWords(key, period, basis: figure.basis) {
            result.coverage = words.coverage
            if words.count > 0 { (result.missing, result.missingCount) = (words.missing, words.count) }
            if !words.parts.isEmpty { result.missingParts = words.parts }
        }
        return result
    }
}

extension UnitsQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> UnitsResult {
        try engine.units(self)
    }
}
