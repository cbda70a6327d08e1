import DeliveryMessages
import Foundation
import TestSupport
import Testing
import ZeroMQ

/// What writers saw: every acknowledgement, by report id.
final class WriterLog: @unchecked Sendable {
    private let lock = NSLock()
    private var acks: [String: (stream: String, seq: UInt64, units: Int64, year: Int)] = [:]
    private var problems: [String] = []
    private var stopping = false
    private var finished = 0
    private(set) var lostAcksRetried = 0

    var count: Int { lock.withLock { acks.count } }
    var shouldStop: Bool { lock.withLock { stopping } }
    var done: Int { lock.withLock { finished } }
    var all: [String: (stream: String, seq: UInt64, units: Int64, year: Int)] { lock.withLock { acks } }
    var issues: [String] { lock.withLock { problems } }

    func stop() { lock.withLock { stopping = true } }
    func finish() { lock.withLock { finished += 1 } }
    func problem(_ text: String) { lock.withLock { problems.append(text) } }
    func retriedLostAck() { lock.withLock { lostAcksRetried += 1 } }

    /// Records an acknowledgement; a second one for the same id must name the same position.
    func ack(_ id: String, stream: String, seq: UInt64, units: Int64, year: Int) {
        lock.withLock {
            if let first = acks[id] {
                if first.stream != stream || first.seq != seq {
                    problems.append("\(id) acknowledged as \(first.stream)#\(first.seq), then as \(stream)#\(seq)")
                }
            } else {
                acks[id] = (stream, seq, units, year)
            }
        }
    }
}

/// Crashes under load, slow and late subscribers: nothing acknowledged is lost or counted twice,
/// and every subscriber ends with the figures the query service answers.
@Suite(.serialized) struct DurabilityTests {
    static let models = ["aito-m7", "aito-m8", "aito-m9", "luxeed-r7", "luxeed-s7", "stelato-s9"]

    func loadSample() throws -> SampleFile {
        try JSONDecoder().decode(SampleFile.self, from: Data(contentsOf: Paths.sample))
    }

    /// A report of its own (entity, period) for writer `writer`, number `k`: writers never revise
    /// each other, so every figure is one report and the market's year is the sum of its reports.
    static func report(writer: Int, k: Int) -> (JSONValue, Int64, Int) {
        let model = models[k % models.count]
        let month = k / models.count
        let year = 1900 + 300 * writer + month / 12
        let units = Int64(1 + (k * 7919 + writer * 104_729) % 5000)
        let period = "\(year)-\(month % 12 + 1 < 10 ? "0" : "")\(month % 12 + 1)"
        let report: JSONValue = .object([
            "id": .string("w\(writer)-\(k)"), "source": .string("W\(writer)"), "period": .string(period),
            "model": .string(model), "units": .int(units),
        ])
        return (report, units, year)
    }

    /// Submits batches until told to stop, retrying a batch whose reply does not come (the service
    /// may be down) with the same ids, and now and then dropping an ack on purpose and retrying.
    static func write(writer: Int, endpoint: String, context: Context, log: WriterLog) {
        defer { log.finish() }
        var k = 0
        var batch = 0
        while !log.shouldStop && k < 4000 {
            let reports = (k..<k + 5).map { report(writer: writer, k: $0) }
            let loseFirstAck = batch % 7 == 3
            var attempts = 0
            var acknowledged = false
            while !acknowledged {
                attempts += 1
                guard attempts < 200 else {
                    log.problem("writer \(writer): batch at \(k) never acknowledged")
                    return
                }
                guard let reply = submit(reports.map(\.0), endpoint: endpoint, context: context) else { continue }
                guard reply["type"] == .string("submit.ok"), case .array(let accepted)? = reply["body"]?["accepted"] else {
                    log.problem("writer \(writer): \(reply)")
                    return
                }
                for (index, item) in accepted.enumerated() {
                    guard let stream = item["stream"]?.stringValue, let seq = item["seq"]?.int else { continue }
                    log.ack("w\(writer)-\(k + index)", stream: stream, seq: UInt64(seq), units: reports[index].1, year: reports[index].2)
                }
                if loseFirstAck && attempts == 1 {
                    // As if the ack were lost on the way: the same batch again.
                    log.retriedLostAck()
                    continue
                }
                acknowledged = true
            }
            k += 5
            batch += 1
        }
    }

    static func submit(_ reports: [JSONValue], endpoint: String, context: Context) -> JSONValue? {
        guard let socket = try? Socket(context, .dealer) else { return nil }
        defer { socket.close() }
        do {
            try socket.set([.linger(0), .receiveTimeout(2000), .sendTimeout(2000)])
            try socket.connect(endpoint)
            let envelope = Envelope(type: "submit", id: .string(UUID().uuidString), body: SubmitRequest(reports: reports))
            try socket.send([[], Wire.encode(envelope)])
            guard let frames = try socket.receive(), let payload = frames.last else { return nil }
            return try JSONDecoder().decode(JSONValue.self, from: Data(payload))
        } catch {
            return nil
        }
    }

    /// Where the ingest keeps its log: the same test runs on both.
    enum Log: String, CaseIterable, Sendable {
        case sqlite, postgres
    }

    @Test(arguments: Log.allCases)
    func concurrentWritersThroughKillNineOfEveryService(log kind: Log) throws {
        let stack = try Stack()
        defer { stack.stop() }
        var postgres: ThrowawayPostgres?
        if kind == .postgres {
            // A real server (initdb, pg_ctl on a loopback port); Debian's postgresql package is a
            // dependency of the tests (make deps, .ci/run install it).
            guard let server = try ThrowawayPostgres() else {
                Issue.record("PostgreSQL is not installed (apt-get install postgresql)")
                return
            }
            postgres = server
            stack.settings["ingest"] = ["DELIVERY_DATABASE_URL": server.url]
        }
        defer { postgres?.stop() }
        try stack.startAll()
        let sample = try loadSample()
        let put = try stack.request(stack.endpoint("ingest"), "catalog.put", sample.catalog)
        #expect(put["type"] == .string("catalog.ok"))

        let log = WriterLog()
        let endpoint = stack.endpoint("ingest")
        let context = stack.context
        for writer in 0..<2 {
            Thread.detachNewThread { Self.write(writer: writer, endpoint: endpoint, context: context, log: log) }
        }
        defer { log.stop() }

        // Each service killed with SIGKILL and started again while the writers write.
        for (service, router) in [("ingest", "ingest"), ("aggregate", "agg"), ("query", "query")] {
            let before = log.count
            #expect(eventually(within: 60) { log.count >= before + 60 || log.done == 2 }, "writers stalled before killing \(service)")
            stack.processes[service]!.kill(SIGKILL)
            try stack.start(service)
            try stack.waitForPong(stack.endpoint(router), deadline: 60)
        }
        let afterKills = log.count
        #expect(eventually(within: 60) { log.count >= afterKills + 60 || log.done == 2 }, "writers stalled after the kills")
        log.stop()
        #expect(eventually(within: 60) { log.done == 2 }, "writers did not finish")
        #expect(log.issues.isEmpty, "\(log.issues.prefix(5))")
        #expect(log.lostAcksRetried > 0)

        let acks = log.all
        #expect(acks.count >= 240, "only \(acks.count) reports acknowledged")
        // Every acknowledged report has a seq of its own: none was stored twice.
        let seqs = Set(acks.values.map(\.seq))
        #expect(seqs.count == acks.count)
        let stream = try #require(acks.values.first?.stream)
        let last = try #require(seqs.max())
        let status = try stack.request(stack.endpoint("ingest"), "status", Empty())
        #expect(status["body"]?["endpoints"]?["log"] == .string(kind == .postgres ? "postgresql" : "sqlite"))
        // The log holds the catalog and each acknowledged report once, nothing else.
        #expect(status["body"]?["positions"]?[stream]?.int == Int64(acks.count + 1))
        #expect(last == UInt64(acks.count + 1))

        // Every figure counts each acknowledged report exactly once.
        var byYear: [Int: Int64] = [:]
        for ack in acks.values { byYear[ack.year, default: 0] += ack.units }
        struct YearQuery: Codable, Sendable {
            var entity = EntitySelector(market: true)
            var period: String
            var after: [String: UInt64]
            var timeoutMs = 30_000
        }
        for (year, units) in byYear.sorted(by: { $0.key < $1.key }) {
            let reply = try stack.request(stack.endpoint("query"), "units", YearQuery(period: "\(year)", after: [stream: last]), timeout: 40_000)
            #expect(reply["body"]?["units"]?.int == units, "market \(year): \(reply)")
        }
        let statuses = stack.stop()
        #expect(statuses.values.allSatisfy { $0 == 0 }, "exit statuses after SIGTERM: \(statuses)")
    }

    @Test func slowAndLateSubscribersConvergeWithoutSlowingIngest() throws {
        let stack = try Stack()
        defer { stack.stop() }
        for service in ["ingest", "aggregate"] { try stack.start(service) }
        // Small queues on the replica's PUB and in the subscriber, so that a paused reader overflows them.
        try stack.start("query", extra: ["DELIVERY_PUBLISH_HWM": "200"])
        for name in ["ingest", "agg", "query"] { try stack.waitForPong(stack.endpoint(name)) }
        let sample = try loadSample()
        _ = try stack.request(stack.endpoint("ingest"), "catalog.put", sample.catalog)

        let endpoints = ["--endpoint", stack.endpoint("query"), "--feed", stack.endpoint("queryPub")]
        let slow = try SubscriberProcess(arguments: endpoints + ["--hwm", "100"])
        defer { slow.stop() }
        #expect(eventually(within: 30) { slow.errors.all.contains { $0.hasPrefix("following") } }, "\(slow.errors.all)")
        slow.signal(SIGSTOP)

        var late: SubscriberProcess?
        defer { late?.stop() }
        var after: [String: UInt64] = [:]
        var k = 0
        for round in 0..<6 {
            let reports = (k..<k + 500).map { Self.report(writer: 0, k: $0).0 }
            k += 500
            let ack = try stack.request(stack.endpoint("ingest"), "submit", SubmitRequest(reports: reports), timeout: 60_000)
            #expect(ack["type"] == .string("submit.ok"))
            if case .array(let accepted)? = ack["body"]?["accepted"], let item = accepted.last,
                let stream = item["stream"]?.stringValue, let seq = item["seq"]?.int
            {
                after[stream] = UInt64(seq)
            }
            if round == 2 { late = try SubscriberProcess(arguments: endpoints) }
        }
        // With the slow subscriber paused, every batch was acknowledged and the replica kept up.
        struct Units: Codable, Sendable {
            var entity = EntitySelector(market: true)
            var period = "1900"
            var after: [String: UInt64]
            var timeoutMs = 30_000
        }
        let caughtUp = try stack.request(stack.endpoint("query"), "units", Units(after: after), timeout: 40_000)
        #expect(caughtUp["type"] == .string("units.result"), "\(caughtUp)")

        slow.signal(SIGCONT)
        // JSONSerialization: the snapshot holds tens of thousands of figures.
        let snapshot = try stack.rawRequest(stack.endpoint("query"), "snapshot", SnapshotRequest(prefix: "figure."), id: "s", timeout: 30_000)
        let object = try JSONSerialization.jsonObject(with: snapshot) as? [String: Any]
        var expected: [String: Int64] = [:]
        for case let figure as [String: Any] in (object?["body"] as? [String: Any])?["figures"] as? [Any] ?? [] {
            if let id = (figure["entity"] as? [String: Any])?["id"] as? String, let period = figure["period"] as? String,
                let units = (figure["units"] as? NSNumber)?.int64Value
            {
                expected["\(id)|\(period)"] = units
            }
        }
        #expect(expected.count > 3000)
        #expect(eventually(within: 90) { slow.figures == expected }, "the slow subscriber did not converge: \(slow.figures.count) of \(expected.count) figures")
        #expect(slow.errors.all.contains { $0.hasPrefix("resynced") }, "the slow subscriber never said it resynced: \(slow.errors.all.suffix(3))")
        let lateOne = try #require(late)
        #expect(eventually(within: 90) { lateOne.figures == expected }, "the late subscriber did not converge: \(lateOne.figures.count) of \(expected.count) figures")
    }
}
