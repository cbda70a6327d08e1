import DeliveryMessages
import Foundation
import ServiceKit
import ZeroMQ

/// The `volume` section: a large load through the real stack, then a kill -9 and restart of each
/// service in turn, timed until it answers and until the replica answers the whole history.
enum Volume {
    struct Result {
        var reports = 0
        var ackSeconds = 0.0
        var visibleSeconds = 0.0
        var figures: [String: Int] = [:]
        var resident: [String: Int] = [:]
        var bytesPerFigure: [String: Double] = [:]
        var pingSeconds: [String: Double] = [:]
        var wholeSeconds: [String: Double] = [:]
        var readySeconds: [String: Double] = [:]
        var checkpointBytes = 0
        var checkpointSaveMs = 0
    }

    static let services = ["ingest", "aggregate", "query"]

    static func run(
        context: Context, bin: URL, reports count: Int, batch: Int, environment: [String: String] = [:], note: (String) -> Void
    ) throws -> Result {
        let stack = try ServiceStack(bin: bin)
        defer { stack.stop() }
        try stack.start(services, environment: environment)
        for name in ["ingest", "agg", "query"] { try stack.waitReady(name, context: context) }
        try Sections.putCatalog(context: context, stack: stack)
        let lastCatalog = 1
        try Sections.waitApplied(context: context, stack: stack, seq: lastCatalog, seconds: 60)
        let before = Dictionary(uniqueKeysWithValues: services.map { ($0, stack.residentBytes($0)) })

        var result = Result()
        var totals: [Int: Int] = [:]
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        try socket.set([.linger(0), .receiveTimeout(60_000)])
        try socket.connect(stack.endpoint("ingest"))
        let watcher = try RequestClient(context: context, endpoints: [stack.endpoint("query")])
        defer { watcher.close() }
        var lastSeq: UInt64 = 0
        var stream = ""
        var waited: UInt64 = 0
        let start = monotonicNanos()
        var offset = 0
        while offset < count {
            let size = min(batch, count - offset)
            for n in offset..<offset + size {
                let f = Workload.fields(n, models: Sections.models, prefix: "v")
                totals[Int(f.period.prefix(4))!, default: 0] += f.units
            }
            let request = Workload.submit(offset..<offset + size, models: Sections.models, prefix: "v", id: offset)
            offset += size
            let sent = monotonicNanos()
            try socket.send([[], request])
            guard let reply = try socket.receive(), let payload = reply.last,
                case .success(let ack) = Wire.decode(SubmitResult.self, from: payload).map(\.body)
            else { throw BenchError("a volume batch was not acknowledged") }
            waited += monotonicNanos() - sent
            lastSeq = max(lastSeq, ack.accepted.map(\.seq).max() ?? 0)
            stream = ack.accepted.first?.stream ?? stream
        }
        result.reports = count
        result.ackSeconds = Double(waited) / 1e9
        try Sections.waitApplied(context: context, stack: stack, seq: Int(lastSeq), seconds: 600)
        result.visibleSeconds = seconds(since: start)
        try checkTotals(context: context, stack: stack, totals: totals)
        note(String(format: "volume: %d reports acknowledged in %.2f s; the replica reflected all of them %.2f s after the first submit", count, result.ackSeconds, result.visibleSeconds))

        // At rest: the services give freed memory back once idle (`MemoryTrim`, every 5 s at
        // most); memory is read once it has stopped falling, or after 12 s.
        var after = Dictionary(uniqueKeysWithValues: services.map { ($0, stack.residentBytes($0)) })
        let settle = monotonicMillis() + 12_000
        var steady = 0
        while monotonicMillis() < settle && steady < 3 {
            Thread.sleep(forTimeInterval: 1)
            let now = Dictionary(uniqueKeysWithValues: services.map { ($0, stack.residentBytes($0)) })
            steady = now.allSatisfy({ $0.value >= (after[$0.key] ?? 0) - (1 << 20) }) ? steady + 1 : 0
            after = now
        }
        result.figures = [
            "aggregate": try figureCount(context: context, endpoint: stack.endpoint("agg")),
            "query": try figureCount(context: context, endpoint: stack.endpoint("query")),
        ]
        for service in services {
            result.resident[service] = after[service] ?? 0
            if let figures = result.figures[service], figures > 0 {
                result.bytesPerFigure[service] = Double((after[service] ?? 0) - (before[service] ?? 0)) / Double(figures)
            }
        }

        // The aggregate saves a checkpoint every 30 s while reports arrive: restart it from one
        // that holds the whole load (what a restart meets in steady state), and say how long that
        // took to appear.
        let waitedFrom = monotonicNanos()
        let deadline = monotonicMillis() + 120_000
        while monotonicMillis() < deadline {
            if let counts = try status(context: context, endpoint: stack.endpoint("agg"))?.counts,
                let saved = counts["checkpointReports"], saved > 0, saved == counts["reports"]
            {
                result.checkpointBytes = counts["checkpointBytes"] ?? 0
                result.checkpointSaveMs = counts["checkpointSaveMs"] ?? 0
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        note(String(format: "volume: a checkpoint of the whole load (%d bytes, saved in %d ms) was there %.1f s after the load", result.checkpointBytes, result.checkpointSaveMs, seconds(since: waitedFrom)))

        for service in services {
            let name = service == "aggregate" ? "agg" : service
            let oldStream = service == "ingest" ? nil : try status(context: context, endpoint: stack.endpoint(name))?.streams.first
            stack.kill(service)
            let restarted = monotonicNanos()
            try stack.start([service], environment: environment)
            try stack.waitReady(name, context: context, seconds: 600, answering: true)
            result.pingSeconds[service] = Double(monotonicNanos() - restarted) / 1e9
            try stack.waitReady(name, context: context, seconds: 600)
            result.readySeconds[service] = Double(monotonicNanos() - restarted) / 1e9
            // The whole history again: the replica follows the restarted service (a new stream
            // for the aggregate and the replica) up to the last ingest position, with every total.
            let deadline = monotonicMillis() + 600_000
            while monotonicMillis() < deadline {
                if let replica = try status(context: context, endpoint: stack.endpoint("query")), replica.ready,
                    replica.positions[stream] ?? 0 >= lastSeq,
                    service != "aggregate" || !replica.positions.keys.contains(oldStream ?? ""),
                    service != "query" || replica.streams.first != oldStream
                {
                    break
                }
                Thread.sleep(forTimeInterval: 0.01)
            }
            try checkTotals(context: context, stack: stack, totals: totals)
            result.wholeSeconds[service] = Double(monotonicNanos() - restarted) / 1e9
            note(
                String(
                    format: "volume: %@ killed (-9) and restarted: answers ping in %.2f s, ready (pong) in %.2f s, the replica follows it with the whole history in %.2f s",
                    service, result.pingSeconds[service]!, result.readySeconds[service]!, result.wholeSeconds[service]!
                )
            )
        }
        return result
    }

    static func status(context: Context, endpoint: String) throws -> StatusResult? {
        let client = try RequestClient(context: context, endpoints: [endpoint])
        defer { client.close() }
        guard let reply = try client.request(type: MessageType.status, body: Empty(), timeoutMillis: 10_000),
            case .success(let status) = reply.body(StatusResult.self)
        else { return nil }
        return status
    }

    static func figureCount(context: Context, endpoint: String) throws -> Int {
        try status(context: context, endpoint: endpoint)?.counts["figures"] ?? 0
    }

    /// The replica's market total of every year equals the sum submitted for it.
    static func checkTotals(context: Context, stack: ServiceStack, totals: [Int: Int]) throws {
        let client = try RequestClient(context: context, endpoints: [stack.endpoint("query")])
        defer { client.close() }
        for (year, expected) in totals {
            let body = UnitsCheck(entity: ["market": true], period: String(year))
            guard let reply = try client.request(type: "units", body: body, timeoutMillis: 10_000) else {
                throw BenchError("no answer for the market in \(year)")
            }
            guard reply.head.type == "units.result", case .int(let units)? = reply.message["body"]?["units"], units == expected else {
                throw BenchError("the market in \(year): expected \(expected), got \(String(decoding: reply.bytes.prefix(300), as: UTF8.self))")
            }
        }
    }

    struct UnitsCheck: Codable, Sendable {
        var entity: [String: Bool]
        var period: String
    }
}
