import DeliveryMessages

extension QueryEngine {
    /// The most entities a panel takes, and the most cells (entities × periods).
    public static var maxPanelEntities: Int { 500 }
    public static var maxPanelCells: Int { 24_000 }

    public func panel(_ query: PanelQuery) throws(ProtocolError) -> PanelResult {
        guard !query.entities.isEmpty else { throw Self.invalid("a panel names at least one entity", field: "entities") }
        guard query.entities.count <= Self.maxPanelEntities else {
            throw Self.invalid("a panel has at most \(Self.maxPanelEntities) entities, not \(query.entities.count)", field: "entities")
        }
        var series: [PanelSeries] = []
        var shape: SeriesResult?
        for (index, selector) in query.entities.enumerated() {
            let one: SeriesResult
            do {
                one = try self.series(SeriesQuery(entity: selector, from: query.from, to: query.to, granularity: query.granularity))
            } catch var failure {
                // Which entity of the list: the field is entities[i].
                if failure.details?["field"] == .string("entity") { failure.details?["field"] = .string("entities[\(index)]") }
                throw failure
            }
            if shape == nil {
                guard one.points.count * query.entities.count <= Self.maxPanelCells else {
                    throw Self.invalid(
                        "a panel has at most \(Self.maxPanelCells) cells; \(query.entities.count) entities × \(one.points.count) periods is more", field: "to"
                    )
                }
                shape = one
            }
            series.append(PanelSeries(entity: one.entity, points: one.points))
        }
        let first = shape ?? SeriesResult(entity: .market, from: query.from, to: query.to, granularity: .month, points: [])
        return PanelResult(from: first.from, to: first.to, granularity: first.granularity, series: series)
    }
}

extension PanelQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> PanelResult {
        try engine.panel(self)
    }
}
