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
        self.init(
            stream: try fields.string("stream"), seq: UInt64(max(try fields.int("seq"), 0)), reportId: try fields.optionalString("reportId"),
            reportedAt: try fields.optionalString("reportedAt")
        )
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

/// Writing the two events sent by the thousand by hand (`figure.changed`: a replica sends one per
/// changed figure; `report.accepted`: one per report): the general encoder's container calls were
/// most of a replica's time. `JSONTests` checks both against `JSONEncoder`.
extension CompactJSONEncoder {
    static func encodeFigure(type: String, id: JSONValue, body: FigureBody, stream: String?, seq: UInt64?) throws -> [UInt8] {
        try encodeEvent(type: type, id: id, stream: stream, seq: seq, capacity: 512 + body.sources.count * 160) { out in
            out.writeFigure(body)
        }
    }

    static func encodeReportAccepted(type: String, id: JSONValue, body: ReportAcceptedEvent, stream: String?, seq: UInt64?) throws -> [UInt8] {
        try encodeEvent(type: type, id: id, stream: stream, seq: seq, capacity: 384) { out in
            let report = body.report
            out.raw(#"{"id":"#)
            out.writeString(report.id)
            out.field("source", report.source)
            out.field("period", report.period)
            if let group = report.group { out.field("group", group) }
            if let brand = report.brand { out.field("brand", brand) }
            if let model = report.model { out.field("model", model) }
            out.field("units", report.units)
            out.field("qualifier", report.qualifier.rawValue)
            out.field("reportedAt", report.reportedAt)
            if let note = report.note { out.field("note", note) }
            out.raw(#","entity":"#)
            out.writeEntity(report.entity)
            out.field("stream", body.stream)
            out.field("seq", body.seq)
            out.raw("}")
        }
    }

    /// An envelope around a body written by `writeBody`, with the event's stream and seq.
    private static func encodeEvent(
        type: String, id: JSONValue, stream: String?, seq: UInt64?, capacity: Int, _ writeBody: (Output) -> Void
    ) throws -> [UInt8] {
        let out = Output()
        out.bytes.reserveCapacity(capacity)
        out.raw(#"{"v":1,"type":"#)
        out.writeString(type)
        out.raw(#","id":"#)
        try out.encodeValue(id, codingPath: [])
        out.raw(#","body":"#)
        writeBody(out)
        if let stream {
            out.raw(#","stream":"#)
            out.writeString(stream)
        }
        if let seq {
            out.raw(#","seq":"#)
            out.writeInteger(seq)
        }
        out.raw("}")
        return out.bytes
    }
}

extension CompactJSONEncoder.Output {
    func writeEntity(_ entity: EntityRef) {
        raw(#"{"level":"#)
        writeString(entity.level.rawValue)
        field("id", entity.id)
        field("name", entity.name)
        raw(#","path":["#)
        for (index, id) in entity.path.enumerated() {
            if index > 0 { raw(",") }
            writeString(id)
        }
        raw("]}")
    }

    func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    func field(_ name: StaticString, _ value: String) {
        raw(",\"")
        raw(name)
        raw("\":")
        writeString(value)
    }

    func field<T: BinaryInteger>(_ name: StaticString, _ value: T) {
        raw(",\"")
        raw(name)
        raw("\":")
        writeInteger(value)
    }

    func writeFigure(_ figure: FigureBody) {
        raw(#"{"entity":"#)
        writeEntity(figure.entity)
        field("period", figure.period)
        field("units", figure.units)
        field("previous", figure.previous)
        field("basis", figure.basis.rawValue)
        field("qualifier", figure.qualifier.rawValue)
        if let cause = figure.cause {
            raw(#","cause":{"stream":"#)
            writeString(cause.stream)
            field("seq", cause.seq)
            if let reportId = cause.reportId { field("reportId", reportId) }
            if let reportedAt = cause.reportedAt { field("reportedAt", reportedAt) }
            raw("}")
        }
        if let source = figure.source { field("source", source) }
        if let reported = figure.reported { field("reported", reported) }
        if let qualifier = figure.reportedQualifier { field("reportedQualifier", qualifier.rawValue) }
        if let computed = figure.computed { field("computed", computed) }
        if let qualifier = figure.computedQualifier { field("computedQualifier", qualifier.rawValue) }
        raw(figure.complete ? #","complete":true"# : #","complete":false"#)
        raw(#","sources":["#)
        for (index, source) in figure.sources.enumerated() {
            raw(index > 0 ? #",{"source":"# : #"{"source":"#)
            writeString(source.source)
            field("units", source.units)
            field("qualifier", source.qualifier.rawValue)
            field("reportedAt", source.reportedAt)
            field("reportId", source.reportId)
            field("stream", source.stream)
            field("seq", source.seq)
            raw("}")
        }
        raw("]}")
    }
}
