import DeliveryMessages

extension QueryEngine {
    public static var maxSeriesPoints: Int { 1200 }

    public func series(_ query: SeriesQuery) throws(ProtocolError) -> SeriesResult {
        let key = try entity(query.entity)
        var from = try period(query.from, field: "from")
        var to = try period(query.to, field: "to")
        let granularity = query.granularity ?? {
            switch from.kind {
            case .month: .month
            case .quarter: .quarter
            case .year: .year
            }
        }()
        func convert(_ period: Period, end: Bool) -> Period {
            switch granularity {
            case .month: end ? period.months.last! : period.months.first!
            case .quarter: period.kind == .year ? .quarter(period.year, end ? 4 : 1) : period.quarter!
            case .year: period.wholeYear
            }
        }
        from = convert(from, end: false)
        to = convert(to, end: true)
        guard from <= to else {
            throw Self.invalid("from (\(from)) is after to (\(to))", field: "from")
        }
        let periods = from.through(to)
        guard periods.count <= Self.maxSeriesPoints else {
            throw Self.invalid("a series has at most \(Self.maxSeriesPoints) points", field: "to")
        }
        let points = periods.map { period in
            let value = value(key, period)
            var point = SeriesPoint(
                period: period.description, units: value.units, basis: value.basis, qualifier: value.qualifier,
                complete: value.present && value.complete
            )
            (point.low, point.high) = (value.low, value.high)
            return point
        }
        return SeriesResult(
            entity: catalog.ref(key), from: from.description, to: to.description, granularity: granularity, points: points
        )
    }
}

extension SeriesQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> SeriesResult {
        try engine.series(self)
    }
}
