import DeliveryMessages

/// A query request the engine answers.
public protocol AnswerableQuery: QueryRequest {
    func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> Result
}

extension QueryKind {
    /// The request type of each kind: the one place a kind meets its code, checked by the compiler.
    public var request: any AnswerableQuery.Type {
        switch self {
        case .units: UnitsQuery.self
        case .share: ShareQuery.self
        case .growth: GrowthQuery.self
        case .ytd: YTDQuery.self
        case .ranking: RankingQuery.self
        case .streak: StreakQuery.self
        case .series: SeriesQuery.self
        case .reconcile: ReconcileQuery.self
        case .convert: ConvertQuery.self
        case .catalog: CatalogQuery.self
        case .record: RecordQuery.self
        case .cumulative: CumulativeQuery.self
        case .brief: BriefQuery.self
        case .panel: PanelQuery.self
        }
    }
}

/// Turns a query message into its encoded reply: decodes the body strictly, runs the query and
/// stamps `asOf`. Errors become `error` replies with the request's id.
public enum QueryDispatcher {
    /// Answers from the measure the query names (`measure`, deliveries when absent): another
    /// measure's figures through a `MeasureView`, so that every kind reads only that measure.
    public static func answer<Store: MeasuredStore>(
        _ kind: QueryKind,
        message: JSONValue,
        id: JSONValue,
        store: Store,
        asOf: [String: UInt64]
    ) -> (bytes: [UInt8], outcome: String) {
        // Most queries name no measure: the body is looked into, not decoded again, for those.
        var measure = Measure.default
        if let field = message["body"]?["measure"], field != .null {
            switch Wire.decodeBody(QueryControl.self, in: message, id: id, code: .invalidQuery) {
            case .failure(let error): return (Wire.encode(error.envelope), error.code.rawValue)
            case .success(let control): measure = control.measure ?? .default
            }
        }
        if kind == .units { return units(message: message, id: id, store: store, measure: measure, asOf: asOf) }
        guard measure != .default else { return answer(kind, message: message, id: id, engine: QueryEngine(store), asOf: asOf, measure: measure) }
        return answer(kind, message: message, id: id, engine: QueryEngine(MeasureView(store, measure)), asOf: asOf, measure: measure)
    }

    /// `units`, and with `compare` another measure's figure of the same entity and period beside it
    /// (deliveries against registrations, say): each from its own measure's figures.
    static func units<Store: MeasuredStore>(message: JSONValue, id: JSONValue, store: Store, measure: Measure, asOf: [String: UInt64])
        -> (bytes: [UInt8], outcome: String)
    {
        func failure(_ error: ProtocolError) -> (bytes: [UInt8], outcome: String) {
            var error = error
            error.id = id
            return (Wire.encode(error.envelope), error.code.rawValue)
        }
        let query: UnitsQuery
        switch Wire.decodeBody(UnitsQuery.self, in: message, id: id, code: .invalidQuery) {
        case .failure(let error): return failure(error)
        case .success(let decoded): query = decoded
        }
        func answer<Read: FigureStore>(_ engine: QueryEngine<Read>) throws(ProtocolError) -> UnitsResult { try engine.units(query) }
        do {
            var result = try measure == .default ? answer(QueryEngine(store)) : answer(QueryEngine(MeasureView(store, measure)))
            if let other = query.compare {
                var plain = query
                plain.compare = nil
                let theirs = try QueryEngine(MeasureView(store, other)).units(plain)
                result.compared = ComparedUnits(
                    measure: other, units: theirs.units, basis: theirs.basis, qualifier: theirs.qualifier, sources: theirs.sources,
                    coverage: theirs.coverage, difference: theirs.units.saturatingSubtracting(result.units),
                    ratio: result.units > 0 ? Double(theirs.units) / Double(result.units) : nil
                )
            }
            result.asOf = asOf
            result.measure = measure.wire
            return (Wire.encode(Envelope(type: QueryKind.units.resultType, id: id, body: result)), "ok")
        } catch {
            return failure(error)
        }
    }

    static func answer<Store: FigureStore>(
        _ kind: QueryKind,
        message: JSONValue,
        id: JSONValue,
        engine: QueryEngine<Store>,
        asOf: [String: UInt64],
        measure: Measure
    ) -> (bytes: [UInt8], outcome: String) {
        func run<Query: AnswerableQuery>(_ query: Query.Type) -> (bytes: [UInt8], outcome: String) {
            switch Wire.decodeBody(Query.self, in: message, id: id, code: .invalidQuery) {
            case .failure(let error):
                return (Wire.encode(error.envelope), error.code.rawValue)
            case .success(let query):
                do {
                    var result = try query.answer(with: engine)
                    result.asOf = asOf
                    result.measure = measure.wire
                    return (Wire.encode(Envelope(type: kind.resultType, id: id, body: result)), "ok")
                } catch var error {
                    error.id = id
                    return (Wire.encode(error.envelope), error.code.rawValue)
                }
            }
        }
        return run(kind.request)
    }
}
