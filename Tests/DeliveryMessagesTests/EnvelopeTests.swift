import DeliveryMessages
import Foundation
import Testing

@Suite struct EnvelopeTests {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func readsTheHeadOfPROTOCOLExamples() throws {
        let head = try Wire.parse(bytes(#"{"v": 1, "type": "submit", "id": "c7f1", "body": {"reports": []}}"#)).get().head
        #expect(head.type == "submit")
        #expect(head.id == .string("c7f1"))
        let numeric = try Wire.parse(bytes(#"{"v":1,"type":"ping","id":42}"#)).get().head
        #expect(numeric.id == .int(42))
    }

    @Test(arguments: [
        ("not json", ErrorCode.badJSON),
        ("[1,2]", .badEnvelope),
        (#"{"type":"ping"}"#, .badEnvelope),
        (#"{"v":"1","type":"ping"}"#, .badEnvelope),
        (#"{"v":2,"type":"ping","id":"a"}"#, .unsupportedVersion),
        (#"{"v":1,"id":"a"}"#, .badEnvelope),
        (#"{"v":1,"type":7}"#, .badEnvelope),
    ])
    func badMessagesGetTheirCode(text: String, code: ErrorCode) {
        switch Wire.parse(bytes(text)) {
        case .success: Issue.record("\(text) decoded")
        case .failure(let error): #expect(error.code == code)
        }
    }

    @Test func theIdIsEchoedEvenWhenTheVersionIsWrong() {
        guard case .failure(let error) = Wire.parse(bytes(#"{"v":9,"type":"ping","id":"keep"}"#)) else {
            Issue.record("decoded")
            return
        }
        #expect(error.id == .string("keep"))
    }

    @Test func bodyErrorsNameTheField() {
        let text = #"{"v":1,"type":"units","id":"q","body":{"entity":{"group":"HIMA"},"period":202505}}"#
        guard case .failure(let error) = Wire.parse(bytes(text)).flatMap({ $0.body(UnitsQuery.self, code: .invalidQuery) })
        else {
            Issue.record("decoded")
            return
        }
        #expect(error.code == .invalidQuery)
        #expect(error.message.contains("period"))
        #expect(error.id == .string("q"))
        let missing = #"{"v":1,"type":"units","id":"q","body":{"entity":{},"period":"2025-05"}}"#
        guard case .failure(let empty) = Wire.parse(bytes(missing)).flatMap({ $0.body(UnitsQuery.self, code: .invalidQuery) }) else {
            Issue.record("decoded")
            return
        }
        #expect(empty.message.contains("entity"))
    }

    @Test func everyTypeRoundTrips() throws {
        let entity = EntityRef(level: .brand, id: "aito", name: "AITO", path: ["hima", "aito"])
        let figure = FigureBody(
            entity: entity, period: "2025-05", units: 36_625, previous: 0, basis: .reported, qualifier: .exact,
            cause: Cause(stream: "ingest-a", seq: 41, reportId: "aito-2025-05"), source: "CPCA", reported: 36_625,
            reportedQualifier: .exact, computed: 27_597, computedQualifier: .exact, complete: true, sources: []
        )
        try roundTrip(figure)
        try roundTrip(SubmitResult(accepted: [SubmitAck(index: 0, id: "x", stream: "ingest-a", seq: 41, duplicate: false)]))
        try roundTrip(SnapshotResult(figures: [figure], positions: ["aggregate-a": 9], upstream: ["ingest-a": 41]))
        try roundTrip(RankingQuery(period: "2025-05", level: .model, within: EntitySelector(group: "HIMA"), top: 3))
        try roundTrip(GrowthQuery(entity: EntitySelector(group: "HIMA"), period: "2025-05", vs: .yoy))
        try roundTrip(SeriesQuery(entity: .wholeMarket, from: "2025-01", to: "2025-05", granularity: .month))
        try roundTrip(ErrorBody(code: .invalidReport, message: "units", details: ["index": .int(3)]))
        try roundTrip(HeartbeatBody(stream: "s", seq: 3, positions: ["a": 1]))
        let accepted = ReportAcceptedEvent(
            report: DeliveryReport(
                id: "r", source: "CPCA", period: "2025-05", group: "HIMA", brand: nil, model: nil, units: 1,
                qualifier: .exact, reportedAt: "2025-06-01T00:00:00Z", note: nil,
                entity: EntityRef(level: .group, id: "hima", name: "HIMA", path: ["hima"])
            ),
            stream: "ingest-a", seq: 5
        )
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(accepted)) as! [String: Any]
        // The report's fields sit at the top level of the event body, beside stream and seq.
        #expect(json["units"] as? Int == 1)
        #expect(json["seq"] as? Int == 5)
        let back = try JSONDecoder().decode(ReportAcceptedEvent.self, from: JSONEncoder().encode(accepted))
        #expect(back.report == accepted.report)
    }

    func roundTrip<T: Codable & Sendable>(_ value: T) throws {
        let envelope = Envelope(type: "t", id: .string("1"), body: value)
        let decoded = try Wire.decode(T.self, from: Wire.encode(envelope)).get()
        let again = Wire.encode(Envelope(type: "t", id: .string("1"), body: decoded.body))
        // Key order is free in JSON: compare as values.
        let first = try JSONDecoder().decode(JSONValue.self, from: Data(Wire.encode(envelope)))
        let second = try JSONDecoder().decode(JSONValue.self, from: Data(again))
        #expect(first == second)
    }
}

/// A log row in `replay`'s JSON form (docs/PROTOCOL.md, "replay"): one shape for every row.
@Suite struct StreamEventJSONTests {
    @Test func rowsReadAndWriteAsReplayShowsThem() throws {
        let entity = EntityRef(level: .brand, id: "aito", name: "AITO", path: ["hima", "aito"])
        let report = DeliveryReport(
            id: "r1", source: "HIMA", period: "2025-05", group: "HIMA", brand: "AITO", model: nil, units: 36625, qualifier: .exact,
            reportedAt: "2025-06-01T00:00:00Z", note: nil, entity: entity
        )
        let rows = [
            StreamEvent(stream: "ingest-a", seq: 2, content: .report(report)),
            StreamEvent(stream: "ingest-a", seq: 3, content: .catalog(CatalogDocument(groups: [], brands: [], models: []))),
            StreamEvent(
                stream: "ingest-a", seq: 4, content: .unreadable(type: "report.accepted", problem: "the payload does not match its hash"),
                storedTopic: "report.hima.aito."
            ),
        ]
        let json = try rows.map { try JSONParser.parse(CompactJSONEncoder.encode($0)) }
        #expect(json.map { $0["type"] } == [.string("report.accepted"), .string("catalog.accepted"), .string("report.accepted")])
        #expect(json.map { $0["topic"] } == [.string("report.hima.aito."), .string("catalog."), .string("report.hima.aito.")])
        #expect(json[0]["report"]?["units"] == .int(36625) && json[0]["problem"] == nil && json[0]["catalog"] == nil)
        #expect(json[2]["problem"] == .string("the payload does not match its hash") && json[2]["report"] == nil)
        let back = try json.map { try JSONValueDecoder.decode(StreamEvent.self, from: $0) }
        #expect(back.map(\.seq) == [2, 3, 4] && back.map(\.topic) == rows.map(\.topic) && back.map(\.type) == rows.map(\.type))
        #expect(back[0].report == report && back[2].problem == "the payload does not match its hash")
    }
}
