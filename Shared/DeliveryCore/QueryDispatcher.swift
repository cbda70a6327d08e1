import DeliveryMessages

/// Turns a query message into its encoded reply: decodes the body strictly, runs the query and
/// stamps `asOf`. Errors become `error` replies with the request's id.
public enum QueryDispatcher {
    public static func answer<Store: FigureStore>(
        type: String,
        message: JSONValue,
        id: JSONValue,
        store: Store,
        asOf: [String: UInt64]
    ) -> (bytes: [UInt8], outcome: String) {
        let engine = QueryEngine(store)
        func run<Query: Decodable, Result: QueryResult>(
            _ query: Query.Type,
            _ body: (Query) throws(ProtocolError) -> Result
        ) -> (bytes: [UInt8], outcome: String) {
            switch Wire.decodeBody(Query.self, in: message, id: id, code: .invalidQuery) {
            case .failure(let error):
                return (Wire.encode(error.envelope), error.code.rawValue)
            case .success(let query):
                do {
                    var result = try body(query)
                    result.asOf = asOf
                    return (Wire.encode(Envelope(type: MessageType.result(type), id: id, body: result)), "ok")
                } catch var error {
                    error.id = id
                    return (Wire.encode(error.envelope), error.code.rawValue)
                }
            }
        }
        switch type {
        case MessageType.units: return run(UnitsQuery.self, engine.units)
        case MessageType.share: return run(ShareQuery.self, engine.share)
        case MessageType.growth: return run(GrowthQuery.self, engine.growth)
        case MessageType.ytd: return run(YTDQuery.self, engine.ytd)
        case MessageType.ranking: return run(RankingQuery.self, engine.ranking)
        case MessageType.streak: return run(StreakQuery.self, engine.streak)
        case MessageType.series: return run(SeriesQuery.self, engine.series)
        case MessageType.reconcile: return run(ReconcileQuery.self, engine.reconcile)
        case MessageType.convert: return run(ConvertQuery.self, engine.convert)
        case MessageType.catalog: return run(Empty.self) { _ throws(ProtocolError) in engine.catalogResult() }
        default:
            return (Wire.encode(ProtocolError(.unknownType, "'\(type)' is not a query", id: id).envelope), ErrorCode.unknownType.rawValue)
        }
    }
}
