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
        case .revisions: RevisionsQuery.self
        }
    }
}

/// Turns a query message into its encoded reply: decodes the body strictly, runs the query and
/// stamps `asOf`. Errors become `error` replies with the request's id.
public enum QueryDispatcher {
    /// Answers from the measure and powertrain the query names (`measure`, deliveries when absent;
    /// `powertrain`, the whole when absent): another one's figures through a `MeasureView`, so
    /// that every kind reads only those figures.
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
        let powertrain: Powertrain?
        switch Self.powertrain(kind, message) {
        case .failure(var error):
            error.id = id
            return (Wire.encode(error.envelope), error.code.rawValue)
        case .success(let named): powertrain = named
        }
        var view = View(measure: measure, powertrain: powertrain)
        if let field = message["body"]?["knownAt"], field != .null {
            switch Self.knownAt(field, kind: kind, message: message) {
            case .failure(var error):
                error.id = id
                return (Wire.encode(error.envelope), error.code.rawValue)
            case .success(let cutoff):
                view.knownAt = (field.stringValue ?? "", cutoff)
                return answer(kind, message: message, id: id, engine: QueryEngine(KnownAtStore(store, measure, powertrain, cutoff: cutoff)), asOf: asOf, view: view)
            }
        }
        if kind == .units { return units(message: message, id: id, store: store, view: view, asOf: asOf) }
        guard measure != .default || powertrain != nil else { return answer(kind, message: message, id: id, engine: QueryEngine(store), asOf: asOf, view: view) }
        return answer(kind, message: message, id: id, engine: QueryEngine(MeasureView(store, measure, powertrain)), asOf: asOf, view: view)
    }

    /// Which figures a query reads besides its own fields.
    struct View {
        var measure: Measure
        var powertrain: Powertrain?
        /// The moment the answer is as of (`knownAt` as given, and in ms since 1970).
        var knownAt: (text: String, millis: Int64)?
    }

    /// A query's `knownAt`: an RFC 3339 time (as `reportedAt` is read); `units` with `compare`
    /// reads two measures and is answered now only.
    static func knownAt(_ field: JSONValue, kind: QueryKind, message: JSONValue) -> Result<Int64, ProtocolError> {
        guard case .string(let text) = field, let millis = Timestamp.millis(text) else {
            let given = field.stringValue.map { "'\(String($0.prefix(40)))'" } ?? field.kind
            return .failure(
                ProtocolError(.invalidQuery, "knownAt must be a time such as 2025-06-02T00:00:00Z, not \(given)", details: ["field": .string("knownAt")])
            )
        }
        if kind == .units, let compare = message["body"]?["compare"], compare != .null {
            return .failure(ProtocolError(.invalidQuery, "compare is answered as of now only; ask each measure with knownAt", details: ["field": .string("knownAt")]))
        }
        return .success(millis)
    }

    /// The powertrain a query's figures are of: `powertrain` exactly as the protocol spells it;
    /// for `ranking` only with `byPowertrain` (its `powertrain` alone filters models by catalog).
    static func powertrain(_ kind: QueryKind, _ message: JSONValue) -> Result<Powertrain?, ProtocolError> {
        let body = message["body"]
        guard let field = body?["powertrain"], field != .null else { return .success(nil) }
        if kind == .ranking, body?["byPowertrain"] != .bool(true) { return .success(nil) }
        guard case .string(let text) = field, let powertrain = Powertrain(rawValue: text) else {
            let given = field.stringValue.map { "'\(String($0.prefix(32)))'" } ?? field.kind
            return .failure(
                ProtocolError(.invalidQuery, "powertrain must be one of \(Powertrain.spellings), not \(given)", details: ["field": .string("powertrain")])
            )
        }
        return .success(powertrain)
    }

    /// `units`, and with `compare` another measure's figure of the same entity and period beside it
    /// (deliveries against registrations, say): each from its own measure's figures.
    static func units<Store: MeasuredStore>(message: JSONValue, id: JSONValue, store: Store, view: View, asOf: [String: UInt64])
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
            let (measure, powertrain) = (view.measure, view.powertrain)
            var result = try measure == .default && powertrain == nil
                ? answer(QueryEngine(store)) : answer(QueryEngine(MeasureView(store, measure, powertrain)))
            if let other = query.compare {
                var plain = query
                plain.compare = nil
                let theirs = try QueryEngine(MeasureView(store, other, powertrain)).units(plain)
                result.compared = ComparedUnits(
                    measure: other, units: theirs.units, basis: theirs.basis, qualifier: theirs.qualifier, sources: theirs.sources,
                    coverage: theirs.coverage, difference: theirs.units.saturatingSubtracting(result.units),
                    ratio: result.units > 0 ? Double(theirs.units) / Double(result.units) : nil
                )
            }
            result.asOf = asOf
            result.measure = measure.wire
            result.powertrain = powertrain
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
        view: View
    ) -> (bytes: [UInt8], outcome: String) {
        func run<Query: AnswerableQuery>(_ query: Query.Type) -> (bytes: [UInt8], outcome: String) {
            switch Wire.decodeBody(Query.self, in: message, id: id, code: .invalidQuery) {
            case .failure(let error):
                return (Wire.encode(error.envelope), error.code.rawValue)
            case .success(let query):
                do throws(ProtocolError) {
                    var result = try query.answer(with: engine)
                    if let known = engine.store as? any KnownAtReading, known.exhausted {
                        throw ProtocolError(
                            .invalidQuery, "knownAt: this query reads more than \(known.budget) figures as of a past moment; ask a narrower one",
                            details: ["field": .string("knownAt")]
                        )
                    }
                    result.asOf = asOf
                    result.measure = view.measure.wire
                    result.powertrain = view.powertrain
                    result.knownAt = view.knownAt?.text
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
