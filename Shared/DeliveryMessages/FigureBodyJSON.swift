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
            if let low = report.low { out.field("low", low) }
            if let high = report.high { out.field("high", high) }
            if let rank = report.segmentRank { out.field("segmentRank", Int64(rank)) }
            if let measure = report.measure { out.field("measure", measure.rawValue) }
            if let powertrain = report.powertrain { out.field("powertrain", powertrain.rawValue) }
            out.field("stream", body.stream)
            out.field("seq", body.seq)
            out.raw("}")
        }
    }

    /// `submit.ok`: one entry per report of the batch (a thousand at a time), written straight.
    static func encodeSubmitResult(type: String, id: JSONValue, body: SubmitResult, stream: String?, seq: UInt64?) throws -> [UInt8] {
        try encodeEvent(type: type, id: id, stream: stream, seq: seq, capacity: 64 + body.accepted.count * 96) { out in
            out.raw(#"{"accepted":["#)
            for (position, ack) in body.accepted.enumerated() {
                if position > 0 { out.raw(",") }
                out.raw(#"{"index":"#)
                out.writeInteger(ack.index)
                out.field("id", ack.id)
                out.field("stream", ack.stream)
                out.field("seq", ack.seq)
                out.raw(ack.duplicate ? #","duplicate":true"# : #","duplicate":false"#)
                if let later = ack.supersededBy {
                    out.raw(#","supersededBy":{"id":"#)
                    out.writeString(later.id)
                    out.field("stream", later.stream)
                    out.field("seq", later.seq)
                    out.raw("}")
                }
                out.raw("}")
            }
            out.raw("]}")
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
            if let low = source.low { field("low", low) }
            if let high = source.high { field("high", high) }
            if let rank = source.segmentRank { field("segmentRank", Int64(rank)) }
            raw("}")
        }
        raw("]")
        if let low = figure.low { field("low", low) }
        if let high = figure.high { field("high", high) }
        if let measure = figure.measure { field("measure", measure.rawValue) }
        if let powertrain = figure.powertrain { field("powertrain", powertrain.rawValue) }
        if let from = figure.computedFrom { field("computedFrom", from.rawValue) }
        raw("}")
    }
}
