import DeliveryMessages

extension QueryEngine {
    public func convert(_ query: ConvertQuery) throws(ProtocolError) -> ConvertResult {
        guard query.amount.isFinite else {
            throw Self.invalid("amount must be a finite number", field: "amount")
        }
        guard let rate = catalog.rate(from: query.from, to: query.to) else {
            throw Self.invalid("the catalog has no rate between \(query.from) and \(query.to)", field: "to")
        }
        return ConvertResult(
            amount: query.amount * rate.rate, from: query.from.uppercased(), to: query.to.uppercased(), rate: rate.rate,
            date: rate.date
        )
    }
}

extension ConvertQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> ConvertResult {
        try engine.convert(self)
    }
}
