import DeliveryMessages

extension QueryEngine {
    public func reconcile(_ query: ReconcileQuery) throws(ProtocolError) -> ReconcileResult {
        let key = try entity(query.entity)
        let period = try period(query.period)
        let figure = store.figure(key, period)
        var children: [ReconcileChild] = []
        var sum: Int64 = 0
        var qualifier = Qualifier.exact
        for child in catalog.children(of: key) {
            guard let value = store.figure(child, period) else { continue }
            children.append(ReconcileChild(entity: value.entity, units: value.units, basis: value.basis, qualifier: value.qualifier))
            sum = sum.saturatingAdding(value.units)
            qualifier = qualifier.combined(with: value.qualifier)
        }
        return ReconcileResult(
            entity: catalog.ref(key), period: period.description, reported: figure?.reported, childrenSum: sum,
            unattributed: figure?.reported.map { $0.saturatingSubtracting(sum) }, qualifier: figure?.reportedQualifier,
            childrenQualifier: qualifier, children: children, sources: figure?.sources ?? []
        )
    }
}

extension ReconcileQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> ReconcileResult {
        try engine.reconcile(self)
    }
}
