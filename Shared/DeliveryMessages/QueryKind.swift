/// Every query of PROTOCOL.md. A kind's request and result live in `Queries/<Kind>.swift`
/// here, its engine function in DeliveryCore's `Queries/<Kind>.swift`; adding a case here is a
/// compile error until both exist (`QueryKind.request` in DeliveryCore) and the CLI renders it.
public enum QueryKind: String, CaseIterable, Sendable, Codable {
    case units, share, growth, ytd, ranking, streak, series, reconcile, convert, catalog, record, cumulative, brief, panel, revisions

    /// The type of its reply: `<kind>.result`.
    public var resultType: String { rawValue + ".result" }
}

/// A query's request body. `Result` is what the reply's body decodes to.
public protocol QueryRequest: Codable, Sendable {
    associatedtype Result: QueryResult
    static var kind: QueryKind { get }
}

/// A query's body on the wire: the query's own fields and the control fields side by side
/// (`{"entity": …, "period": …, "after": …}`).
public struct QueryBody<Query: QueryRequest>: Codable, Sendable {
    public var query: Query
    public var control: QueryControl

    public init(query: Query, control: QueryControl = QueryControl()) {
        self.query = query
        self.control = control
    }

    public init(from decoder: any Decoder) throws {
        query = try Query(from: decoder)
        control = try QueryControl(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try query.encode(to: encoder)
        try control.encode(to: encoder)
    }
}

extension Wire {
    /// Reads a reply: the body of the expected type, or the `error` it is, or `bad_envelope`
    /// when it is neither (a reply of another type, or one whose body does not read).
    public static func reply<Body: Decodable>(
        _ type: Body.Type, _ reply: WireMessage, expecting expected: String
    ) -> Result<Body, ProtocolError> {
        if reply.head.kind == .error {
            switch reply.body(ErrorBody.self) {
            case .success(let error):
                return .failure(ProtocolError(error.code, error.message, details: error.details, id: reply.head.id))
            case .failure(let problem):
                return .failure(problem)
            }
        }
        guard reply.head.type == expected else {
            return .failure(ProtocolError(.badEnvelope, "expected a \(expected) reply, got \(reply.head.type)", id: reply.head.id))
        }
        return reply.body(Body.self)
    }
}
