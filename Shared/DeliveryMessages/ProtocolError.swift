/// The error codes of PROTOCOL.md, one to one.
public enum ErrorCode: String, Codable, Sendable, Hashable {
    case badJSON = "bad_json"
    case badEnvelope = "bad_envelope"
    case unsupportedVersion = "unsupported_version"
    case unknownType = "unknown_type"
    case invalidReport = "invalid_report"
    case unknownEntity = "unknown_entity"
    case invalidQuery = "invalid_query"
    case stale
    case tooLarge = "too_large"
    case unauthorized
    case unavailable
    /// The service is at a limit it sets to protect its other clients (queued snapshots, bytes held
    /// for waiting queries); `details.retryAfterMs` says when to ask again.
    case busy
    case `internal`
}

/// The body of an `error` reply.
public struct ErrorBody: Codable, Sendable, Hashable {
    public var code: ErrorCode
    public var message: String
    public var details: [String: JSONValue]?

    public init(code: ErrorCode, message: String, details: [String: JSONValue]? = nil) {
        self.code = code
        self.message = message
        self.details = details
    }
}

/// An error with a wire code, a message for people and details for scripts. Thrown by decoding,
/// validation and queries; a service turns it into an `error` reply.
public struct ProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var details: [String: JSONValue]?
    public var id: JSONValue

    public init(_ code: ErrorCode, _ message: String, details: [String: JSONValue]? = nil, id: JSONValue = .null) {
        self.code = code
        self.message = message
        self.details = details
        self.id = id
    }

    public var body: ErrorBody { ErrorBody(code: code, message: message, details: details) }

    public var description: String { "\(code.rawValue): \(message)" }

    public var envelope: Envelope<ErrorBody> { Envelope(MessageType.error, id: id, body: body) }

    /// Says what a decoding error found wrong and where (`body.period: expected a string, found a number`).
    public init(describing error: DecodingError, id: JSONValue = .null, code: ErrorCode = .badEnvelope) {
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : "." + key.stringValue
                }
            }
            return text.isEmpty ? "the message" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            self.init(code, "\(field) is missing", details: ["field": .string(field)], id: id)
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            self.init(
                code,
                "\(field) has the wrong type (expected \(Self.jsonName(of: type)))",
                details: ["field": .string(field)],
                id: id
            )
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            self.init(code, "\(field) is null (expected \(Self.jsonName(of: type)))", details: ["field": .string(field)], id: id)
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            self.init(code, "\(field): \(context.debugDescription)", details: ["field": .string(field)], id: id)
        @unknown default:
            self.init(code, "\(error)", id: id)
        }
    }

    static func jsonName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is UInt64.Type, is Int32.Type: "a whole number"
        case is Double.Type: "a number"
        default: "\(type)"
        }
    }
}
