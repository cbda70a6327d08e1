/// Reading a `figure.changed` body from an already parsed message, without `JSONDecoder`: a query
/// replica reads a dozen of these per report, and this is the quick way (the messages come from
/// an aggregate; any field of the wrong kind is still an error, not a crash).
extension FigureBody {
    public init(json value: JSONValue) throws(ProtocolError) {
        let fields = try JSONFields(value, "body")
        entity = try EntityRef(json: fields.required("entity"))
        period = try fields.string("period")
        units = try fields.int("units")
        previous = try fields.optionalInt("previous") ?? units
        basis = try fields.enumeration("basis", Basis.self)
        qualifier = try fields.enumeration("qualifier", Qualifier.self)
        cause = try fields.optional("cause").map { value throws(ProtocolError) in try Cause(json: value) }
        source = try fields.optionalString("source")
        reported = try fields.optionalInt("reported")
        reportedQualifier = try fields.optional("reportedQualifier").map { _ throws(ProtocolError) in try fields.enumeration("reportedQualifier", Qualifier.self) }
        computed = try fields.optionalInt("computed")
        computedQualifier = try fields.optional("computedQualifier").map { _ throws(ProtocolError) in try fields.enumeration("computedQualifier", Qualifier.self) }
        complete = try fields.optionalBool("complete") ?? false
        var sources: [SourceFigure] = []
        if let list = try fields.optional("sources") {
            guard case .array(let items) = list else { throw JSONFields.wrong("body.sources", "an array") }
            for item in items { sources.append(try SourceFigure(json: item)) }
        }
        self.sources = sources
    }
}

extension EntityRef {
    public init(json value: JSONValue) throws(ProtocolError) {
        let fields = try JSONFields(value, "entity")
        level = try fields.enumeration("level", Level.self)
        id = try fields.string("id")
        name = try fields.string("name")
        guard case .array(let items) = try fields.required("path") else { throw JSONFields.wrong("entity.path", "an array") }
        var path: [String] = []
        for item in items {
            guard case .string(let text) = item else { throw JSONFields.wrong("entity.path", "strings") }
            path.append(text)
        }
        self.path = path
    }
}

extension Cause {
    public init(json value: JSONValue) throws(ProtocolError) {
        let fields = try JSONFields(value, "cause")
        self.init(stream: try fields.string("stream"), seq: UInt64(max(try fields.int("seq"), 0)), reportId: try fields.optionalString("reportId"))
    }
}

extension SourceFigure {
    public init(json value: JSONValue) throws(ProtocolError) {
        let fields = try JSONFields(value, "sources[]")
        self.init(
            source: try fields.string("source"), units: try fields.int("units"), qualifier: try fields.enumeration("qualifier", Qualifier.self),
            reportedAt: try fields.string("reportedAt"), reportId: try fields.string("reportId"), stream: try fields.string("stream"),
            seq: UInt64(max(try fields.int("seq"), 0))
        )
    }
}

/// The fields of a JSON object, read by kind; a missing or mistyped field is a `ProtocolError`
/// that names it.
struct JSONFields {
    let fields: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, _ path: String) throws(ProtocolError) {
        guard case .object(let fields) = value else { throw Self.wrong(path, "an object") }
        self.fields = fields
        self.path = path
    }

    static func wrong(_ field: String, _ expected: String) -> ProtocolError {
        ProtocolError(.badEnvelope, "\(field) has the wrong type (expected \(expected))", details: ["field": .string(field)])
    }

    func optional(_ name: String) throws(ProtocolError) -> JSONValue? {
        guard let value = fields[name], value != .null else { return nil }
        return value
    }

    func required(_ name: String) throws(ProtocolError) -> JSONValue {
        guard let value = try optional(name) else {
            throw ProtocolError(.badEnvelope, "\(path).\(name) is missing", details: ["field": .string("\(path).\(name)")])
        }
        return value
    }

    func string(_ name: String) throws(ProtocolError) -> String {
        guard case .string(let text) = try required(name) else { throw Self.wrong("\(path).\(name)", "a string") }
        return text
    }

    func optionalString(_ name: String) throws(ProtocolError) -> String? {
        guard let value = try optional(name) else { return nil }
        guard case .string(let text) = value else { throw Self.wrong("\(path).\(name)", "a string") }
        return text
    }

    func int(_ name: String) throws(ProtocolError) -> Int64 {
        guard case .int(let number) = try required(name) else { throw Self.wrong("\(path).\(name)", "a whole number") }
        return number
    }

    func optionalInt(_ name: String) throws(ProtocolError) -> Int64? {
        guard let value = try optional(name) else { return nil }
        guard case .int(let number) = value else { throw Self.wrong("\(path).\(name)", "a whole number") }
        return number
    }

    func optionalBool(_ name: String) throws(ProtocolError) -> Bool? {
        guard let value = try optional(name) else { return nil }
        guard case .bool(let flag) = value else { throw Self.wrong("\(path).\(name)", "true or false") }
        return flag
    }

    func enumeration<T: RawRepresentable>(_ name: String, _ type: T.Type) throws(ProtocolError) -> T where T.RawValue == String {
        guard let value = T(rawValue: try string(name)) else { throw Self.wrong("\(path).\(name)", "one of the protocol's names") }
        return value
    }
}
