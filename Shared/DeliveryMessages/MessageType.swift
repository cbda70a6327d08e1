/// The `type` of every message in PROTOCOL.md except queries (`QueryKind`), and the extensions of
/// this implementation. On the wire a type is a string; in code it is one of these, so that a
/// `switch` over the types a service answers is checked by the compiler.
public enum MessageType: String, CaseIterable, Sendable, Codable {
    // Requests any ROUTER answers.
    case ping
    case pong
    case status
    case statusResult = "status.result"
    case error

    // Ingest.
    case submit
    case submitOK = "submit.ok"
    case catalogPut = "catalog.put"
    case catalogOK = "catalog.ok"
    case replay
    case replayResult = "replay.result"

    // Events.
    case reportAccepted = "report.accepted"
    case catalogAccepted = "catalog.accepted"
    case figureChanged = "figure.changed"
    /// *Extension*: a figure a replica no longer has (its aggregate's new state lacks it).
    case figureRemoved = "figure.removed"
    case heartbeat
    /// *Extension*: a fact a new figure made true (`FactEvent`).
    case fact

    // Aggregate and query.
    case snapshot
    case snapshotResult = "snapshot.result"
    /// *Extension*: the facts stated since a token (query ROUTER).
    case facts
    case factsResult = "facts.result"

    // Internal links (docs/PROTOCOL.md, "Internal links"): a JSON head and a binary frame.
    case figureBatch = "figure.batch"
    case reportBatch = "report.batch"
    case snapshotPart = "snapshot.part"
}

/// The requests one ROUTER answers, read from a message's `type`. A service lists them as an
/// enum and handles them with a `switch`: a request it lists and does not handle is a compile
/// error, and a type it does not list gets `unknown_type` naming the ones it does.
public protocol RequestSet: Sendable {
    init?(type: String)
    /// The wire types, for the `unknown_type` reply.
    static var served: [String] { get }
}

/// A request set whose cases each name a `MessageType`: the wire names are spelled once, in
/// `MessageType`, and a case without its type does not compile.
public protocol MessageRequestSet: RequestSet, CaseIterable {
    var messageType: MessageType { get }
}

extension MessageRequestSet {
    public init?(type: String) {
        guard let found = Self.allCases.first(where: { $0.messageType.rawValue == type }) else { return nil }
        self = found
    }

    public static var served: [String] { allCases.map(\.messageType.rawValue) }
}

/// The topics of pub/sub messages.
/// The kinds of event published under an entity's topic (`EntityRef.topic`).
public enum TopicKind: String, Sendable {
    case figure, report, fact
}

public enum Topic {
    public static let heartbeat = "heartbeat"
    public static let catalog = "catalog."
    public static let figureBatch = "batch."
    public static let reportBatch = "report."
    public static let fact = "fact."
}
