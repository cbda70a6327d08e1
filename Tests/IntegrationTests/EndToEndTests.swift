import DeliveryMessages
import Foundation
import TestSupport
import Testing
import ZeroMQ

struct SampleFile: Codable, Sendable {
    var catalog: CatalogDocument
    var reports: [JSONValue]
}

/// The real executables on loopback: submit, read back with `after`, the live feed, the golden
/// values, bad input, and crashes.
@Suite(.serialized) struct EndToEndTests {
    func loadSample() throws -> SampleFile {
        try JSONDecoder().decode(SampleFile.self, from: Data(contentsOf: Paths.sample))
    }

    /// Submits the sample and returns the `after` positions of its acknowledgement.
    func submitSample(_ stack: Stack) throws -> [String: UInt64] {
        let sample = try loadSample()
        let put = try stack.request(stack.endpoint("ingest"), "catalog.put", sample.catalog)
        #expect(put["type"] == .string("catalog.ok"))
        let ack = try stack.request(stack.endpoint("ingest"), "submit", SubmitRequest(reports: sample.reports))
        #expect(ack["type"] == .string("submit.ok"))
        var after: [String: UInt64] = [:]
        if case .array(let accepted)? = ack["body"]?["accepted"] {
            for item in accepted {
                after[item["stream"]!.stringValue!] = UInt64(item["seq"]!.int!)
            }
            #expect(accepted.count == sample.reports.count)
        }
        return after
    }

    func query<Body: Codable & Sendable>(_ stack: Stack, _ type: String, _ body: Body) throws -> JSONValue {
        let reply = try stack.request(stack.endpoint("query"), type, body)
        #expect(reply["type"] == .string(type + ".result"), "\(type): \(reply)")
        return reply["body"] ?? .null
    }

    struct After<Q: Codable & Sendable>: Codable, Sendable {
        var query: Q
        var after: [String: UInt64]

        func encode(to encoder: any Encoder) throws {
            try query.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(after, forKey: .after)
        }
    }

    @Test func submitReadBackLiveUpdateAndGoldenValues() throws {
        let stack = try Stack()
        defer { stack.stop() }
        try stack.startAll()

        // Subscribe to the query's PUB before submitting; wait for its heartbeat so the
        // subscription is known to be in place.
        let feed = try Socket(stack.context, .sub)
        defer { feed.close() }
        try feed.set([.linger(0), .receiveTimeout(5000)])
        try feed.set(.subscribe("figure.hima."))
        try feed.set(.subscribe("heartbeat"))
        try feed.connect(stack.endpoint("queryPub"))
        _ = try #require(try feed.receive(), "no heartbeat from the query PUB")

        let after = try submitSample(stack)
        let units = try query(stack, "units", After(query: UnitsQuery(entity: EntitySelector(group: "HIMA"), period: "2025-05"), after: after))
        #expect(units["units"]?.int == 44_454)
        #expect(units["basis"] == .string("reported"))
        for (stream, seq) in after { #expect((units["asOf"]?[stream]?.int ?? 0) >= Int64(seq)) }

        var sawChange = false
        let deadline = Date().addingTimeInterval(10)
        while !sawChange && Date() < deadline {
            guard let frames = try feed.receive(), frames.count == 2 else { continue }
            let topic = String(decoding: frames[0], as: UTF8.self)
            if topic.hasPrefix("figure.hima.") {
                let event = try JSONDecoder().decode(JSONValue.self, from: Data(frames[1]))
                #expect(event["type"] == .string("figure.changed"))
                #expect(event["seq"]?.int != nil)
                sawChange = true
            }
        }
        #expect(sawChange, "no live figure.changed on the query PUB")

        let growth = try query(stack, "growth", GrowthQuery(entity: EntitySelector(group: "HIMA"), period: "2025-05", vs: .mom))
        #expect(abs((growth["growth"]?.double ?? 0) - 0.6133) < 0.0001)
        let share = try query(stack, "share", ShareQuery(entity: EntitySelector(brand: "AITO"), period: "2025-05"))
        #expect(abs((share["share"]?.double ?? 0) - 0.8239) < 0.0001)
        #expect(share["otherUnits"]?.int == 7_829)
        let reconcile = try query(stack, "reconcile", ReconcileQuery(entity: EntitySelector(brand: "AITO"), period: "2025-05"))
        #expect(reconcile["unattributed"]?.int == 9_028)
        let ranking = try query(stack, "ranking", RankingQuery(period: "2025-05", level: .model, within: EntitySelector(group: "HIMA")))
        if case .array(let rows)? = ranking["rows"] {
            #expect(rows.compactMap { $0["entity"]?["id"]?.stringValue } == ["aito-m9", "aito-m8", "luxeed-r7", "stelato-s9"])
        } else {
            Issue.record("ranking has no rows")
        }
        for (segment, leader) in [("above-500k", "aito-m9"), ("400k-500k", "aito-m8")] {
            let streak = try query(stack, "streak", StreakQuery(segment: segment, period: "2025-05"))
            #expect(streak["leader"]?["id"]?.stringValue == leader)
        }
        let stelato = try query(stack, "units", UnitsQuery(entity: EntitySelector(model: "Stelato S9"), period: "2025-05"))
        #expect(stelato["qualifier"] == .string("atLeast"))
        let convert = try query(stack, "convert", ConvertQuery(amount: 500_000, from: "CNY", to: "USD"))
        #expect(abs((convert["amount"]?.double ?? 0) - 69_587) <= 1)

        // Bad input: an error reply, nothing changed, the service still answers.
        let bad = try stack.request(
            stack.endpoint("ingest"), "submit",
            SubmitRequest(reports: [.object(["source": .string("X"), "period": .string("2025-05"), "model": .string("AITO M9"), "units": .string("12")])])
        )
        #expect(bad["type"] == .string("error"))
        #expect(bad["body"]?["code"] == .string("invalid_report"))
        #expect(bad["body"]?["details"]?["index"]?.int == 0)
        let unknown = try stack.request(stack.endpoint("query"), "frobnicate", Empty())
        #expect(unknown["body"]?["code"] == .string("unknown_type"))
        let again = try query(stack, "units", UnitsQuery(entity: EntitySelector(model: "AITO M9"), period: "2025-05"))
        #expect(again["units"]?.int == 15_481)

        // A query for a position the replica never reaches is `stale`, not a wrong answer.
        struct Stale: Codable, Sendable {
            var entity = EntitySelector(group: "HIMA")
            var period = "2025-05"
            var after: [String: UInt64]
            var timeoutMs = 200
        }
        let stale = try stack.request(stack.endpoint("query"), "units", Stale(after: after.mapValues { _ in 1_000_000 }))
        #expect(stale["body"]?["code"] == .string("stale"))
    }

    @Test(arguments: DurabilityTests.Log.allCases)
    func crashesLoseNothingAndCountNothingTwice(log kind: DurabilityTests.Log) throws {
        let stack = try Stack()
        let postgres = kind == .postgres ? try ThrowawayPostgres() : nil
        if kind == .postgres && postgres == nil {
            Issue.record("PostgreSQL is not installed (apt-get install postgresql)")
            return
        }
        defer { postgres?.stop() }
        if let postgres { stack.settings["ingest"] = ["DELIVERY_DATABASE_URL": postgres.url] }
        defer { stack.stop() }
        try stack.startAll()
        let after = try submitSample(stack)
        _ = try query(stack, "units", After(query: UnitsQuery(entity: EntitySelector(group: "HIMA"), period: "2025-05"), after: after))

        // kill -9 each service in turn and start it again.
        for service in ["aggregate", "ingest", "query"] {
            stack.processes[service]!.kill(SIGKILL)
            try stack.start(service)
            try stack.waitForPong(stack.endpoint(service == "aggregate" ? "agg" : service))
        }
        try stack.waitForPong(stack.endpoint("query"))

        // A retry of the whole batch after a lost ack: acknowledged as duplicates with the first seqs.
        let sample = try loadSample()
        let retry = try stack.request(stack.endpoint("ingest"), "submit", SubmitRequest(reports: sample.reports))
        guard case .array(let accepted)? = retry["body"]?["accepted"] else {
            Issue.record("retry not acknowledged: \(retry)")
            return
        }
        #expect(accepted.allSatisfy { $0["duplicate"] == .bool(true) })
        #expect(accepted.compactMap { $0["seq"]?.int }.map(UInt64.init) == Array(after.values.sorted().last.map { last in (last - UInt64(accepted.count) + 1)...last } ?? 0...0))

        // A new report after the restarts continues the same stream's numbering.
        let next = try stack.request(
            stack.endpoint("ingest"), "submit",
            SubmitRequest(reports: [
                .object([
                    "id": .string("luxeed-s7-2025-05"), "source": .string("CPCA"), "period": .string("2025-05"),
                    "model": .string("Luxeed S7"), "units": .int(1_000),
                ])
            ])
        )
        let seq = try #require(next["body"]?["accepted"].flatMap { if case .array(let list) = $0 { list.first } else { nil } }?["seq"]?.int)
        #expect(UInt64(seq) == (after.values.max() ?? 0) + 1)

        let luxeed = try query(stack, "units", After(query: UnitsQuery(entity: EntitySelector(brand: "Luxeed"), period: "2025-05"), after: after.mapValues { _ in UInt64(seq) }))
        #expect(luxeed["units"]?.int == 6_124)
        let hima = try query(stack, "units", UnitsQuery(entity: EntitySelector(group: "HIMA"), period: "2025-05"))
        #expect(hima["units"]?.int == 44_454)
        #expect(hima["computed"]?.int == Int64(36_625 + 6_124 + 2_000))
        let aito = try query(stack, "reconcile", ReconcileQuery(entity: EntitySelector(brand: "AITO"), period: "2025-05"))
        #expect(aito["unattributed"]?.int == 9_028)
    }
}
