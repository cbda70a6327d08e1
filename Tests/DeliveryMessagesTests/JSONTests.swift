import DeliveryMessages
import Foundation
import Testing

/// The hand-written JSON parser and encoder against Foundation's, on the messages of the protocol
/// and on the corners of RFC 8259.
@Suite struct JSONTests {
    static let report = DeliveryReport(
        id: "aito-m9-2025-05", source: "CPCA", period: "2025-05", group: "hima", brand: "aito", model: "aito-m9",
        units: 15_481, qualifier: .exact, reportedAt: "2025-06-01T00:00:00Z", note: "line\nbreak \"quoted\" \\ tab\t é 😀 \u{01}",
        entity: EntityRef(level: .model, id: "aito-m9", name: "AITO M9", path: ["hima", "aito", "aito-m9"])
    )

    /// Both encoders' output, read back by the parser: the same JSON value.
    func expectSameJSON<Body: Codable & Sendable>(_ body: Body, _ label: String) throws {
        let envelope = Envelope(type: "t", id: .string("x"), body: body, stream: "s", seq: 3)
        let compact = try JSONParser.parse(CompactJSONEncoder.encode(envelope))
        let foundation = try JSONParser.parse(Array(JSONEncoder().encode(envelope)))
        #expect(compact == foundation, "\(label)")
        #expect(try JSONParser.parse(Wire.encode(envelope)) == foundation, "\(label) through Wire")
    }

    @Test func theCompactEncoderWritesWhatJSONEncoderWrites() throws {
        try expectSameJSON(Self.report, "report")
        try expectSameJSON(ReportAcceptedEvent(report: Self.report, stream: "ingest-a", seq: 41), "report.accepted")
        try expectSameJSON(SubmitResult(accepted: [SubmitAck(index: 0, id: "a", stream: "ingest-a", seq: 1, duplicate: false)]), "submit.ok")
        try expectSameJSON(
            SubmitResult(accepted: [
                SubmitAck(index: 0, id: "a\"\u{1}é", stream: "ingest-a", seq: UInt64.max, duplicate: false),
                SubmitAck(index: 7, id: "b", stream: "s", seq: 2, duplicate: true, supersededBy: Superseding(id: "c/d", stream: "t", seq: 9)),
            ]),
            "submit.ok with a superseded duplicate"
        )
        try expectSameJSON(SubmitResult(accepted: []), "submit.ok of nothing")
        try expectSameJSON(HeartbeatBody(stream: "s", seq: 9, positions: ["ingest-a": 4, "ingest-b": 0]), "heartbeat")
        try expectSameJSON(HeartbeatBody(stream: "s", seq: 9), "heartbeat without positions")
        try expectSameJSON(
            FigureBody(
                entity: Self.report.entity, period: "2025-Q2", units: 44_454, previous: 0, basis: .computed, qualifier: .atLeast,
                cause: Cause(stream: "ingest-a", seq: 7, reportId: nil), source: nil, reported: nil, reportedQualifier: nil,
                computed: 44_454, computedQualifier: .atLeast, complete: false,
                sources: [SourceFigure(source: "CPCA", units: 1, qualifier: .approximate, reportedAt: "2025-06-01T00:00:00Z", reportId: "r", stream: "s", seq: 1)]
            ),
            "figure"
        )
        var approximate = Self.report
        (approximate.qualifier, approximate.low, approximate.high) = (.approximate, 15_000, 16_000)
        try expectSameJSON(ReportAcceptedEvent(report: approximate, stream: "ingest-a", seq: 42), "report.accepted with an interval")
        try expectSameJSON(
            FigureBody(
                entity: Self.report.entity, period: "2025-05", units: 15_481, previous: 0, basis: .reported, qualifier: .approximate,
                cause: nil, source: "CPCA", reported: 15_481, reportedQualifier: .approximate, computed: nil, computedQualifier: nil,
                complete: true,
                sources: [
                    SourceFigure(
                        source: "CPCA", units: 15_481, qualifier: .approximate, reportedAt: "2025-06-01T00:00:00Z", reportId: "r", stream: "s",
                        seq: 1, interval: Interval(low: 15_000, high: nil)
                    )
                ],
                interval: Interval(low: 15_000, high: 16_000)
            ),
            "figure with intervals"
        )
        try expectSameJSON(ProtocolError(.stale, "not yet", details: ["asOf": .object(["a": .int(3)]), "x": .double(0.6133)]).envelope.body, "error")
        try expectSameJSON(JSONValue.array([.null, .bool(true), .int(-5), .double(1.5e300), .string("")]), "values")
        try expectSameJSON(Empty(), "empty")
    }

    @Test func figureBodiesWrittenByHandReadBackAsJSONEncoderWritesThem() throws {
        let figure = FigureBody(
            entity: Self.report.entity, period: "2025-Q2", units: 44_454, previous: 12, basis: .reported, qualifier: .atLeast,
            cause: Cause(stream: "ingest-a", seq: 7, reportId: nil), source: "CPCA", reported: 44_454, reportedQualifier: .atLeast,
            computed: 40_000, computedQualifier: .exact, complete: false,
            sources: [SourceFigure(source: "CPCA", units: 44_454, qualifier: .atLeast, reportedAt: "2025-06-01T00:00:00Z", reportId: "r", stream: "s", seq: 1)]
        )
        let bytes = Wire.encode(Envelope(type: "figure.changed", id: .string("x"), body: figure, stream: "agg", seq: 9))
        // The hand-written figure writer writes what JSONEncoder writes.
        let foundation = try JSONEncoder().encode(Envelope(type: "figure.changed", id: .string("x"), body: figure, stream: "agg", seq: 9))
        #expect(try JSONParser.parse(bytes) == JSONParser.parse(Array(foundation)))
        for variant in [FigureBody?.none, figure].compactMap({ $0 }) {
            var odd = variant
            odd.entity = EntityRef(level: .market, id: "market", name: "Mär\"ket\n", path: [])
            odd.sources += [SourceFigure(source: "S\u{01}", units: -1, qualifier: .exact, reportedAt: "", reportId: "", stream: "", seq: UInt64.max)]
            let mine = Wire.encode(Envelope(type: "t", id: .int(5), body: odd))
            let theirs = try JSONEncoder().encode(Envelope(type: "t", id: .int(5), body: odd))
            #expect(try JSONParser.parse(mine) == JSONParser.parse(Array(theirs)))
        }
        let message = try Wire.parse(bytes).get().message
        #expect(try JSONValueDecoder.decode(FigureBody.self, from: message["body"]!) == figure)
        #expect(try Wire.decode(FigureBody.self, from: bytes).get().body == figure)
        var bare = figure
        bare.cause = nil
        bare.source = nil
        bare.reported = nil
        bare.reportedQualifier = nil
        bare.computedQualifier = nil
        bare.computed = nil
        bare.sources = []
        let bareMessage = try Wire.parse(Wire.encode(Envelope(type: "t", id: .null, body: bare))).get().message
        #expect(try JSONValueDecoder.decode(FigureBody.self, from: bareMessage["body"]!) == bare)
        #expect(throws: (any Error).self) { try JSONValueDecoder.decode(FigureBody.self, from: .object(["entity": .int(1)])) }
        #expect(throws: (any Error).self) { try JSONValueDecoder.decode(FigureBody.self, from: .string("x")) }
    }

    @Test(arguments: [
        (#"{"a":[1,-0,2.5,1e3,-1E-2,true,false,null,"\u00e9\ud83d\ude00\n\/"]}"#, true),
        (#" [ ] "#, true),
        (#"{"a":1,}"#, false),
        (#"[1,]"#, false),
        (#"01"#, false),
        (#"1."#, false),
        (#"-"#, false),
        (#""\ud800""#, false),
        (#""\udc00x""#, false),
        ("\"a\u{01}b\"", false),
        (#""\x""#, false),
        (#"{"a" 1}"#, false),
        (#"[1] 2"#, false),
        (#"tru"#, false),
        (#"1e999"#, false),
        (#""#, false),
    ])
    func theParserFollowsRFC8259(text: String, valid: Bool) {
        let parsed = try? JSONParser.parse(Array(text.utf8))
        #expect((parsed != nil) == valid, "\(text)")
        if valid {
            let foundation = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            #expect(foundation != nil, "Foundation disagrees on \(text)")
        }
    }

    @Test func theParserReadsValuesExactly() throws {
        let value = try JSONParser.parse(Array(#"{"i":9223372036854775807,"d":0.6133,"big":18446744073709551616,"s":"\u00e9\ud83d\ude00"}"#.utf8))
        #expect(value["i"] == .int(Int64.max))
        #expect(value["d"] == .double(0.6133))
        #expect(value["big"] == .double(18_446_744_073_709_551_616))
        #expect(value["s"] == .string("é😀"))
    }

    @Test func invalidUTF8AndDeepNestingAreRefused() {
        #expect((try? JSONParser.parse([0x22, 0xC3, 0x28, 0x22])) == nil)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect((try? JSONParser.parse(Array(deep.utf8))) == nil)
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect((try? JSONParser.parse(Array(fine.utf8))) != nil)
        switch Wire.parse(Array(#"{"v":1,"type":"units","body":"#.utf8) + Array(deep.utf8) + [UInt8(ascii: "}")]) {
        case .success: Issue.record("a message nested 66 deep was taken")
        case .failure(let error): #expect(error.code == .badJSON)
        }
    }

    /// The hand-written `report.accepted` writer writes what `JSONEncoder` writes, with and
    /// without the optional fields.
    @Test func reportAcceptedByHandMatchesJSONEncoder() throws {
        var bare = Self.report
        bare.group = nil
        bare.brand = nil
        bare.note = nil
        bare.entity = EntityRef(level: .market, id: "market", name: "Mär\"ket", path: [])
        for report in [Self.report, bare] {
            let envelope = Envelope(type: "report.accepted", id: .string("q:1"), body: ReportAcceptedEvent(report: report, stream: "ingest-a", seq: 41), stream: "query-a", seq: 9)
            let mine = Wire.encode(envelope)
            let theirs = try JSONEncoder().encode(envelope)
            #expect(try JSONParser.parse(mine) == JSONParser.parse(Array(theirs)))
            #expect(try Wire.decode(ReportAcceptedEvent.self, from: mine).get().body.report == report)
        }
    }

    struct Nested: Codable, Sendable {
        var inner: Int
        func encode(to encoder: any Encoder) throws {
            var outer = encoder.container(keyedBy: CodingKeys.self)
            var nested = outer.nestedUnkeyedContainer(forKey: .inner)
            try nested.encode(inner)
        }
    }

    /// What the compact encoder does not support is an error, never a crash and never another
    /// encoder's output: `Wire.encode` answers with an `internal` error carrying the id.
    @Test func unsupportedBodiesAreAnErrorNotACrash() throws {
        #expect(throws: EncodingError.self) { try CompactJSONEncoder.encode(Nested(inner: 1)) }
        let bytes = Wire.encode(Envelope(type: "odd.result", id: .string("keep"), body: Nested(inner: 1)))
        let message = try Wire.parse(bytes).get()
        #expect(message.head.type == "error")
        #expect(message.head.id == .string("keep"))
        #expect(message.message["body"]?["code"] == .string("internal"))
        let nan = Wire.encode(Envelope(type: "x", id: .int(3), body: ["share": Double.nan]))
        #expect(try Wire.parse(nan).get().message["body"]?["code"] == .string("internal"))
    }
}
