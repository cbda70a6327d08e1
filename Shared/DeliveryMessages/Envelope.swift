import Foundation

/// The protocol version this library speaks.
public let protocolVersion = 1

/// Every request, reply and event: `{"v": 1, "type": …, "id": …, "body": …}`; events add the
/// publisher's `stream` and `seq`.
public struct Envelope<Body: Codable & Sendable>: Codable, Sendable {
    public var v: Int
    public var type: String
    public var id: JSONValue
    public var body: Body
    public var stream: String?
    public var seq: UInt64?

    public init(type: String, id: JSONValue, body: Body, stream: String? = nil, seq: UInt64? = nil) {
        self.v = protocolVersion
        self.type = type
        self.id = id
        self.body = body
        self.stream = stream
        self.seq = seq
    }

    public init(_ type: MessageType, id: JSONValue, body: Body, stream: String? = nil, seq: UInt64? = nil) {
        self.init(type: type.rawValue, id: id, body: body, stream: stream, seq: seq)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(v, forKey: .v)
        try container.encode(type, forKey: .type)
        try container.encode(id, forKey: .id)
        try container.encode(body, forKey: .body)
        try container.encodeIfPresent(stream, forKey: .stream)
        try container.encodeIfPresent(seq, forKey: .seq)
    }
}

/// The head of an incoming message, read before its body: what it is and what to echo.
public struct EnvelopeHead: Sendable {
    public var type: String
    public var id: JSONValue
    public var stream: String?
    public var seq: UInt64?

    public init(type: String, id: JSONValue, stream: String? = nil, seq: UInt64? = nil) {
        self.type = type
        self.id = id
        self.stream = stream
        self.seq = seq
    }

    /// The type, when it is one this library knows (a query's type is a `QueryKind`).
    public var kind: MessageType? { MessageType(rawValue: type) }
}

/// A message as read off a socket, parsed once: its head, the parsed JSON and the bytes as they
/// came (for a client that prints them unchanged).
public struct WireMessage: Sendable {
    public let head: EnvelopeHead
    public let message: JSONValue
    public let bytes: [UInt8]

    public init(head: EnvelopeHead, message: JSONValue, bytes: [UInt8]) {
        self.head = head
        self.message = message
        self.bytes = bytes
    }

    public var kind: MessageType? { head.kind }

    /// The body, decoded from the parsed message (a missing body reads as `{}`); errors carry the
    /// message's id.
    public func body<Body: Decodable>(_ type: Body.Type, code: ErrorCode = .badEnvelope) -> Result<Body, ProtocolError> {
        Wire.decodeBody(type, in: message, id: head.id, code: code)
    }

    /// The error body, when the message is an `error` that reads as one.
    public var error: ErrorBody? {
        guard head.kind == .error, case .success(let error) = body(ErrorBody.self) else { return nil }
        return error
    }
}

/// A body that writes its whole envelope by hand, for what is sent by the thousand: the two
/// events (`figure.changed`, `report.accepted`) and the ack of a batch (an entry per report).
/// What it writes reads back as `CompactJSONEncoder` would have written it (JSONTests).
public protocol HandWrittenBody: Codable, Sendable {
    func envelope(type: String, id: JSONValue, stream: String?, seq: UInt64?) throws -> [UInt8]
}

extension FigureBody: HandWrittenBody {
    public func envelope(type: String, id: JSONValue, stream: String?, seq: UInt64?) throws -> [UInt8] {
        try CompactJSONEncoder.encodeFigure(type: type, id: id, body: self, stream: stream, seq: seq)
    }
}

extension SubmitResult: HandWrittenBody {
    public func envelope(type: String, id: JSONValue, stream: String?, seq: UInt64?) throws -> [UInt8] {
        try CompactJSONEncoder.encodeSubmitResult(type: type, id: id, body: self, stream: stream, seq: seq)
    }
}

extension ReportAcceptedEvent: HandWrittenBody {
    public func envelope(type: String, id: JSONValue, stream: String?, seq: UInt64?) throws -> [UInt8] {
        try CompactJSONEncoder.encodeReportAccepted(type: type, id: id, body: self, stream: stream, seq: seq)
    }
}

/// Encoding and strict decoding of envelopes. Decoding errors say what is wrong and where,
/// as a `ProtocolError` with the code PROTOCOL.md gives for it.
public enum Wire {
    /// The one JSON writer for every message (`CompactJSONEncoder`; a body that writes its own
    /// envelope, `HandWrittenBody`, is written that way). A body it cannot write (none of this protocol's can
    /// fail; a non-finite number would) becomes an `internal` error with the same id, written by
    /// hand, never a crash and never a second encoder's output.
    public static func encode<Body: Codable & Sendable>(_ envelope: Envelope<Body>) -> [UInt8] {
        do {
            if let body = envelope.body as? any HandWrittenBody {
                return try body.envelope(type: envelope.type, id: envelope.id, stream: envelope.stream, seq: envelope.seq)
            }
            return try CompactJSONEncoder.encode(envelope)
        } catch {
            return unwritable(envelope.type, id: envelope.id, error)
        }
    }

    /// The `internal` error that stands in for a message that could not be written.
    static func unwritable(_ type: String, id: JSONValue, _ error: any Error) -> [UInt8] {
        let output = CompactJSONEncoder.Output()
        output.raw(#"{"v":1,"type":"error","id":"#)
        // An id is a string, a number or null (checked on the way in); anything else is left null.
        if (try? output.encodeValue(id, codingPath: [])) == nil { output.raw("null") }
        output.raw(#","body":{"code":"internal","message":"#)
        output.writeString("a \(type) could not be written: \(error)")
        output.raw("}}")
        return output.bytes
    }

    /// Parses a whole message once (with `JSONParser`: strict, nesting bounded) and reads its head:
    /// valid JSON, an object, `v` 1, a `type` string. The id is kept even when the rest is bad, so
    /// that the error can echo it. Bodies are decoded from the parsed value (`WireMessage.body`),
    /// never from the bytes again.
    public static func parse(_ bytes: [UInt8]) -> Result<WireMessage, ProtocolError> {
        let message: JSONValue
        do {
            message = try JSONParser.parse(bytes)
        } catch {
            return .failure(ProtocolError(.badJSON, "the message is not valid UTF-8 JSON: \(error)"))
        }
        guard case .object(let fields) = message else {
            return .failure(ProtocolError(.badEnvelope, "a message is one JSON object"))
        }
        let id = fields["id"] ?? .null
        guard let version = fields["v"] else {
            return .failure(ProtocolError(.badEnvelope, "v is missing (the protocol version, 1)", id: id))
        }
        guard case .int(let number) = version else {
            return .failure(ProtocolError(.badEnvelope, "v must be a whole number, not \(version.kind)", id: id))
        }
        guard number == Int64(protocolVersion) else {
            return .failure(
                ProtocolError(.unsupportedVersion, "version \(number) is not supported; this service speaks v 1", id: id)
            )
        }
        guard let typeValue = fields["type"] else {
            return .failure(ProtocolError(.badEnvelope, "type is missing", id: id))
        }
        guard case .string(let type) = typeValue, !type.isEmpty else {
            return .failure(ProtocolError(.badEnvelope, "type must be a non-empty string, not \(typeValue.kind)", id: id))
        }
        switch id {
        case .null, .string, .int: break
        default:
            return .failure(ProtocolError(.badEnvelope, "id must be a string or a number, not \(id.kind)", id: .null))
        }
        var seq: UInt64?
        if case .int(let value)? = fields["seq"], value >= 0 { seq = UInt64(value) }
        return .success(WireMessage(head: EnvelopeHead(type: type, id: id, stream: fields["stream"]?.stringValue, seq: seq), message: message, bytes: bytes))
    }

    /// The reports of a `submit`, from a parsed message: `body.reports`, a non-empty array.
    public static func submittedReports(_ message: JSONValue, id: JSONValue) -> Result<[JSONValue], ProtocolError> {
        let body = message["body"] ?? .object([:])
        guard case .object = body else {
            return .failure(ProtocolError(.invalidReport, "body must be an object, not \(body.kind)", details: ["field": .string("body")], id: id))
        }
        guard let reports = body["reports"], reports != .null else {
            return .failure(ProtocolError(.invalidReport, "body.reports is missing", details: ["field": .string("body.reports")], id: id))
        }
        guard case .array(let list) = reports else {
            return .failure(
                ProtocolError(.invalidReport, "body.reports must be an array, not \(reports.kind)", details: ["field": .string("body.reports")], id: id)
            )
        }
        return .success(list)
    }

    /// Decodes the body of a message already parsed (see `parse`), through `JSONValueDecoder`.
    public static func decodeBody<Body: Decodable>(
        _ type: Body.Type,
        in message: JSONValue,
        id: JSONValue = .null,
        code: ErrorCode = .badEnvelope
    ) -> Result<Body, ProtocolError> {
        do {
            if let body = message["body"], body != .null {
                return .success(try JSONValueDecoder.decode(Body.self, from: body, codingPath: [FieldKey("body")]))
            }
            return .success(try JSONValueDecoder.decode(Body.self, from: .object([:])))
        } catch let error as DecodingError {
            return .failure(ProtocolError(describing: error, id: id, code: code))
        } catch let error as ProtocolError {
            var error = error
            error.id = id
            return .failure(error)
        } catch {
            return .failure(ProtocolError(.badEnvelope, "\(error)", id: id))
        }
    }

    struct FieldKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes a whole envelope of a known body type (replies and events, on the client side).
    public static func decode<Body: Codable & Sendable>(
        _ type: Body.Type,
        from bytes: [UInt8]
    ) -> Result<Envelope<Body>, ProtocolError> {
        parse(bytes).flatMap { message in
            message.body(Body.self).map {
                Envelope(type: message.head.type, id: message.head.id, body: $0, stream: message.head.stream, seq: message.head.seq)
            }
        }
    }
}
