import DeliveryCore
import DeliveryMessages
import Foundation
import ServiceKit
import ZeroMQ

/// Each measurement of the benchmark, against the real services.
enum Sections {
    static let models = 1000

    /// Puts the benchmark catalog on an ingest.
    static func putCatalog(context: Context, stack: ServiceStack) throws {
        let client = try RequestClient(context: context, endpoints: [stack.endpoint("ingest")])
        defer { client.close() }
        guard let reply = try client.request(type: MessageType.catalogPut, body: Workload.catalog(groups: models / 100), timeoutMillis: 30_000),
            reply.kind == .catalogOK
        else { throw BenchError("catalog.put was not acknowledged") }
    }

    /// Reports acknowledged durably per second, one client sending batches of `batch` and waiting
    /// for each ack. Throughput counts the time spent waiting for acks (the client's own encoding
    /// is done before the clock starts for each request).
    static func ingest(context: Context, stack: ServiceStack, batch: Int, seconds duration: Double, offset: inout Int) throws -> Measurement {
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        try socket.set([.linger(0), .receiveTimeout(30_000)])
        try socket.connect(stack.endpoint("ingest"))
        var latencies: [UInt64] = []
        var waited: UInt64 = 0
        var reports = 0
        let end = monotonicNanos() + UInt64(duration * 1e9)
        while monotonicNanos() < end {
            let request = Workload.submit(offset..<offset + batch, models: models, prefix: "i\(batch)-", id: offset)
            offset += batch
            let sent = monotonicNanos()
            try socket.send([[], request])
            guard let reply = try socket.receive(), let payload = reply.last else { throw BenchError("no ack from ingest") }
            let took = monotonicNanos() - sent
            guard case .success(let ack) = Wire.parse(payload), ack.kind == .submitOK else {
                throw BenchError("submit refused: \(String(decoding: payload.prefix(300), as: UTF8.self))")
            }
            latencies.append(took)
            waited += took
            reports += batch
        }
        var result = Measurement(operations: reports, seconds: Double(waited) / 1e9, latenciesNanos: latencies)
        result.operations = reports
        return result
    }

    /// From `submit` to the report's `report.accepted` on the query replica's PUB (which the
    /// replica sends after every figure of the report), at a steady rate.
    static func endToEnd(context: Context, stack: ServiceStack, rate: Int, seconds duration: Double, offset: inout Int) throws -> (Measurement, lost: Int) {
        let feed = try Socket(context, .sub)
        defer { feed.close() }
        try feed.set([.linger(0), .receiveHighWaterMark(1_000_000)])
        try feed.set(.subscribe("report."))
        try feed.set(.subscribe("heartbeat"))
        try feed.connect(stack.endpoint("queryPub"))
        try feed.set(.receiveTimeout(5000))
        guard try feed.receive() != nil else { throw BenchError("no heartbeat from the query PUB") }
        let writer = try Socket(context, .dealer)
        defer { writer.close() }
        try writer.set([.linger(0)])
        try writer.connect(stack.endpoint("ingest"))

        var sentAt: [String: UInt64] = [:]
        var latencies: [UInt64] = []
        let interval = 1_000_000_000 / UInt64(rate)
        let start = monotonicNanos()
        let total = Int(Double(rate) * duration)
        var next = start
        var sent = 0
        let deadline = start + UInt64((duration + 10) * 1e9)
        while latencies.count < total && monotonicNanos() < deadline {
            let now = monotonicNanos()
            if sent < total && now >= next {
                let id = "e\(offset)"
                try writer.send([[], Workload.submit(offset..<offset + 1, models: models, prefix: "e", id: offset)])
                sentAt[id] = monotonicNanos()
                offset += 1
                sent += 1
                next += interval
                continue
            }
            // Round up, so that the load generator sleeps in poll instead of spinning on the
            // cores the services need.
            let wait = sent < total ? Int(((next > now ? next - now : 0) + 999_999) / 1_000_000) : 50
            let ready = try Poller([feed, writer]).poll(timeoutMilliseconds: wait)
            if ready[1] { while try writer.receive(wait: false) != nil {} }
            if ready[0] {
                while let frames = try feed.receive(wait: false) {
                    let seen = monotonicNanos()
                    guard frames.count == 2, case .success(let event) = Wire.decode(ReportAcceptedEvent.self, from: frames[1]).map(\.body),
                        let at = sentAt.removeValue(forKey: event.report.id)
                    else { continue }
                    latencies.append(seen - at)
                }
            }
        }
        return (Measurement(operations: latencies.count, seconds: seconds(since: start), latenciesNanos: latencies), sentAt.count)
    }

    /// Live updates delivered to `subscribers` subscribers of the replica's PUB while a writer
    /// submits batches of 100 as fast as ingest takes them. Returns events per second summed over
    /// the subscribers (figure.changed and report.accepted), and the share of the replica's
    /// published events that reached each one.
    static func fanOut(
        context: Context, stack: ServiceStack, subscribers: Int, seconds duration: Double, offset: inout Int
    ) throws -> (Measurement, delivered: Double) {
        let threads = min(subscribers, 4)
        let counts = Collector()
        let stop = StopFlag()
        let ready = DispatchGroup()
        let finished = DispatchGroup()
        let endpoint = stack.endpoint("queryPub")
        for thread in 0..<threads {
            ready.enter()
            finished.enter()
            let mine = (0..<subscribers).filter { $0 % threads == thread }.count
            Thread.detachNewThread {
                defer { finished.leave() }
                var sockets: [Socket] = []
                for _ in 0..<mine {
                    guard let socket = try? Socket(context, .sub) else { continue }
                    try? socket.set([.linger(0), .receiveHighWaterMark(1_000_000)])
                    try? socket.set(.subscribe("figure."))
                    try? socket.set(.subscribe("report."))
                    try? socket.set(.subscribe("heartbeat"))
                    try? socket.connect(endpoint)
                    sockets.append(socket)
                }
                // Ready once every socket has had a heartbeat: its subscription is in place.
                var heard = Set<Int>()
                let deadline = monotonicMillis() + 10_000
                while heard.count < sockets.count && monotonicMillis() < deadline {
                    let polled = (try? Poller(sockets).poll(timeoutMilliseconds: 100)) ?? []
                    for (index, isReady) in polled.enumerated() where isReady {
                        while (try? sockets[index].receive(wait: false)) ?? nil != nil { heard.insert(index) }
                    }
                }
                ready.leave()
                var received = 0
                var quietSince = monotonicMillis()
                while !stop.isSet || monotonicMillis() - quietSince < 500 {
                    let polled = (try? Poller(sockets).poll(timeoutMilliseconds: 50)) ?? []
                    var any = false
                    for (index, isReady) in polled.enumerated() where isReady {
                        while let frames = try? sockets[index].receive(wait: false) {
                            // Every event but heartbeats: figure.changed and the report.accepted markers.
                            if frames.first?.first != UInt8(ascii: "h") { received += 1 }
                            any = true
                        }
                    }
                    if any { quietSince = monotonicMillis() }
                }
                for socket in sockets { socket.close() }
                counts.add(count: received, latencies: [])
            }
        }
        ready.wait()
        let before = try publishedCount(context: context, stack: stack)
        let start = monotonicNanos()
        let ingest = try Socket(context, .dealer)
        defer { ingest.close() }
        try ingest.set([.linger(0), .receiveTimeout(30_000)])
        try ingest.connect(stack.endpoint("ingest"))
        while seconds(since: start) < duration {
            try ingest.send([[], Workload.submit(offset..<offset + 100, models: models, prefix: "f", id: offset)])
            offset += 100
            _ = try ingest.receive()
        }
        stop.set()
        finished.wait()
        let elapsed = seconds(since: start)
        let published = try publishedCount(context: context, stack: stack) - before
        let total = counts.measurement(seconds: elapsed)
        let share = published > 0 ? Double(total.operations) / Double(subscribers) / Double(published) : 0
        return (total, share)
    }

    /// How many events the replica has published (its PUB's last seq), from `status`.
    static func publishedCount(context: Context, stack: ServiceStack) throws -> Int {
        let client = try RequestClient(context: context, endpoints: [stack.endpoint("query")])
        defer { client.close() }
        guard let reply = try client.request(type: MessageType.status, body: Empty(), timeoutMillis: 10_000),
            case .success(let status) = reply.body(StatusResult.self), let stream = status.streams.first
        else { throw BenchError("no status from the query replica") }
        return Int(status.positions[stream] ?? 0)
    }

    /// Waits until the replica has applied ingest position `seq` (polling its status).
    static func waitApplied(context: Context, stack: ServiceStack, seq: Int, seconds limit: Double = 120) throws {
        let client = try RequestClient(context: context, endpoints: [stack.endpoint("query")])
        defer { client.close() }
        let deadline = monotonicMillis() + Int64(limit * 1000)
        while monotonicMillis() < deadline {
            if let reply = try client.request(type: MessageType.status, body: Empty(), timeoutMillis: 10_000),
                case .success(let status) = reply.body(StatusResult.self),
                status.positions.contains(where: { $0.key.hasPrefix("ingest-") && $0.value >= UInt64(seq) })
            {
                return
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        throw BenchError("the replica did not reach ingest position \(seq) in \(limit) s")
    }
}
