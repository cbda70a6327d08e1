import ArgumentParser
import DeliveryMessages
import Foundation
import ServiceKit
import TestSupport
import ZeroMQ

/// `delivery-bench`: the real services on loopback, measured side by side with raw libzmq in the
/// same run. Prints a table, then one line of JSON with every figure.
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery-bench",
        abstract: "Measure DeliveryTracker against raw libzmq on this machine (build with -c release)."
    )

    @Option(help: "Seconds per measurement.")
    var seconds: Double = 2

    @Option(help: "Reports the core applies in its rate measurement.")
    var coreReports: Int = 1_000_000

    @Option(help: "Figures in the core's memory measurement.")
    var figures: Int = 1_000_000

    @Option(help: "Steady submit rate for the end-to-end latency, reports per second.")
    var rate: Int = 1000

    @Option(help: "Reports the volume section loads, in batches of 1,000.")
    var volumeReports: Int = 1_000_000

    @Option(help: "The volume section's log: sqlite (the default) or postgres (a throwaway server).")
    var volumeLog: String = "sqlite"

    @Option(help: "Where the service executables are (default: beside this one).")
    var bin: String?

    @Option(help: "Sections to run, comma-separated: ceiling, ingest, e2e, queries, fanout, core, facts, volume (default: all).")
    var only: String?

    func validate() throws {
        guard seconds > 0, coreReports > 0, figures > 0, rate > 0 else { throw ValidationError("sizes must be positive") }
    }

    /// Durable acks for batches of 1, 100 and 1,000 on one ingest.
    /// `baseline`: the plain SQLite loop's rate for batches of 1,000 (`Baseline`), the ratio's base.
    /// Batches of 1, 100 and 1,000; returns the batches of 1,000 (the rate the baselines compare).
    @discardableResult
    func measureIngest(context: Context, stack: ServiceStack, key: String, label: String, baseline: Measurement?, into report: inout Report) throws -> Measurement? {
        var offset = 0
        var last: Measurement?
        for batch in [1, 100, 1000] {
            let result = try Sections.ingest(context: context, stack: stack, batch: batch, seconds: seconds, offset: &offset)
            let ratio = batch == 1000 ? baseline.map { result.perSecond / $0.perSecond } : nil
            report.add("\(key).batch\(batch)", "\(label), batches of \(batch)", result, unit: "reports/s", ratio: ratio, ratioOf: "the SQLite loop")
            last = result
        }
        return last
    }

    /// The plain SQLite loop (`Baseline`), as a row of its own.
    func measureBaseline(reports: Int, key: String, into report: inout Report) throws -> Baseline.Result {
        let baseline = try Baseline.sqlite(reports: reports, batch: 1000, prefix: key)
        report.add("\(key).baseline", "plain SQLite loop: \(reports) reports, batches of 1,000", baseline.stored, unit: "reports/s")
        report.note(String(format: "\(key).baseline: every monthly total (%d) by one GROUP BY in %.3f s", baseline.months, baseline.totalsSeconds))
        return baseline
    }

    func run() throws {
        let binary = bin.map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let sections = Set((only ?? "ceiling,ingest,e2e,queries,fanout,core,facts,volume").split(separator: ",").map(String.init))
        // Measured first, on a fresh heap; the history stays until the end (`FactsBench.memory`).
        let factMemory = sections.contains("facts") ? try FactsBench.memory(capacity: 10_000) : nil
        defer { withExtendedLifetime(factMemory) {} }
        var report = Report()
        report.note("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, libzmq \(zeroMQVersion), \(seconds) s per measurement")
        let context = try Context()
        defer { context.terminate() }

        if sections.contains("ingest") {
            // First, before any service runs: the loop a user compares the ingest with.
            let baseline = try measureBaseline(reports: 100_000, key: "ingest", into: &report).stored
            let stack = try ServiceStack(bin: binary)
            defer { stack.stop() }
            try stack.start(["ingest"])
            try stack.waitReady("ingest", context: context)
            try Sections.putCatalog(context: context, stack: stack)
            let sqliteLog = try measureIngest(context: context, stack: stack, key: "ingest", label: "ingest", baseline: baseline, into: &report)
            // The same load with the log in PostgreSQL, in the same run.
            if let postgres = try ThrowawayPostgres() {
                defer { postgres.stop() }
                let pgStack = try ServiceStack(bin: binary)
                defer { pgStack.stop() }
                try pgStack.start(["ingest"], environment: ["DELIVERY_DATABASE_URL": postgres.url])
                try pgStack.waitReady("ingest", context: context)
                try Sections.putCatalog(context: context, stack: pgStack)
                let postgresLog = try measureIngest(
                    context: context, stack: pgStack, key: "ingest-postgres", label: "ingest, PostgreSQL log", baseline: baseline, into: &report
                )
                // #23's second comparison: the PostgreSQL log against the SQLite log, same load.
                if let sqliteLog, let postgresLog, sqliteLog.perSecond > 0 {
                    let ratio = postgresLog.perSecond / sqliteLog.perSecond
                    report.extra("ingest-postgres.batch1000.ratioToSQLiteLog", ratio)
                    report.note(String(format: "ingest-postgres: batches of 1,000 at %.2f× the ingest with the SQLite log", ratio))
                }
            } else {
                report.note("ingest-postgres: skipped (no /usr/lib/postgresql/*/bin/initdb: apt-get install postgresql)")
            }
        }

        let needsStack = !sections.isDisjoint(with: ["e2e", "queries", "fanout", "ceiling"])
        if needsStack {
            let stack = try ServiceStack(bin: binary)
            defer { stack.stop() }
            try stack.start(["ingest", "aggregate", "query"])
            for name in ["ingest", "agg", "query"] { try stack.waitReady(name, context: context) }
            try Sections.putCatalog(context: context, stack: stack)
            var offset = 0
            if sections.contains("e2e") {
                let (result, lost) = try Sections.endToEnd(context: context, stack: stack, rate: rate, seconds: seconds, offset: &offset)
                report.add("e2e", "submit to visible in a replica at \(rate)/s", result, unit: "reports/s")
                if lost > 0 { report.note("e2e: \(lost) reports not seen on the replica's PUB within the deadline") }
            } else {
                try loadBase(context: context, stack: stack, offset: &offset)
            }
            try Sections.waitApplied(context: context, stack: stack, seq: offset + 1)

            let units = Array(#"{"v":1,"type":"units","id":1,"body":{"entity":{"model":"Model 0-0-7"},"period":"1900-01"}}"#.utf8)
            let ranking = Array(#"{"v":1,"type":"ranking","id":2,"body":{"period":"1900-01","level":"model","within":{"group":"g0"}}}"#.utf8)
            let unitsReply = try sample(context: context, endpoint: stack.endpoint("query"), units)
            let rankingReply = try sample(context: context, endpoint: stack.endpoint("query"), ranking)
            report.note("payloads: units \(units.count) B → \(unitsReply.count) B; ranking \(ranking.count) B → \(rankingReply.count) B")

            var ceilings: [Int: Measurement] = [:]
            if sections.contains("ceiling") || sections.contains("queries") {
                let echo = try Ceiling.EchoServer(context: context, reply: unitsReply)
                for clients in [1, 8] {
                    let result = Ceiling.roundTrips(context: context, endpoint: echo.endpoint, clients: clients, seconds: seconds, request: units)
                    ceilings[clients] = result
                    report.add("ceiling.dealerRouter\(clients)", "raw DEALER→ROUTER, \(clients) client(s)", result, unit: "round trips/s")
                }
                echo.shutdown()
                let push = try Ceiling.pushPull(context: context, seconds: seconds, payload: [UInt8](repeating: 0x61, count: 600))
                report.add("ceiling.pushPull", "raw PUSH→PULL, 600 B", push, unit: "messages/s")
            }
            if sections.contains("queries") {
                for (name, request) in [("units", units), ("ranking", ranking)] {
                    for clients in [1, 8] {
                        // The same DEALER clients as the ceiling, against the replica.
                        let result = Ceiling.roundTrips(context: context, endpoint: stack.endpoint("query"), clients: clients, seconds: seconds, request: request)
                        report.add(
                            "queries.\(name)\(clients)", "\(name), \(clients) client(s)", result, unit: "queries/s",
                            ratio: ceilings[clients].map { result.perSecond / $0.perSecond }
                        )
                    }
                }
            }
            if sections.contains("fanout") {
                for subscribers in [1, 10, 50] {
                    let (result, share) = try Sections.fanOut(context: context, stack: stack, subscribers: subscribers, seconds: seconds, offset: &offset)
                    report.add("fanout.\(subscribers)", "live updates to \(subscribers) subscriber(s)", result, unit: "updates/s")
                    report.extra("fanout.\(subscribers).delivered", share)
                }
            }
            let memory = stack.residentBytes()
            report.note("service memory (ingest, aggregate, query): " + memory.map { "\($0 / 1_048_576) MiB" }.joined(separator: ", "))
        }

        if sections.contains("volume") {
            var notes: [String] = []
            guard ["sqlite", "postgres"].contains(volumeLog) else { throw BenchError("--volume-log is sqlite or postgres") }
            let postgres = volumeLog == "postgres" ? try ThrowawayPostgres() : nil
            if volumeLog == "postgres" && postgres == nil { throw BenchError("--volume-log postgres needs Debian's postgresql package") }
            defer { postgres?.stop() }
            let environment = postgres.map { ["DELIVERY_DATABASE_URL": $0.url] } ?? [:]
            notes.append("volume: the ingest log in \(volumeLog == "postgres" ? "PostgreSQL" : "SQLite")")
            let baseline = try measureBaseline(reports: volumeReports, key: "volume", into: &report)
            let v = try Volume.run(context: context, bin: binary, reports: volumeReports, batch: 1000, environment: environment) { notes.append($0) }
            report.add(
                "volume.ack", "volume: \(v.reports) reports, durable acks", Measurement(operations: v.reports, seconds: v.ackSeconds, latenciesNanos: []),
                unit: "reports/s", ratio: baseline.stored.seconds / v.ackSeconds, ratioOf: "the SQLite loop"
            )
            report.add(
                "volume.visible", "volume: until the replica reflects all", Measurement(operations: v.reports, seconds: v.visibleSeconds, latenciesNanos: []),
                unit: "reports/s", ratio: v.visibleSeconds / v.ackSeconds, ratioOf: "the ack time"
            )
            report.extra("volume.ackSeconds", v.ackSeconds)
            report.extra("volume.visibleSeconds", v.visibleSeconds)
            for service in Volume.services {
                report.extra("volume.\(service).residentMiB", Double(v.resident[service] ?? 0) / 1_048_576)
                if let perFigure = v.bytesPerFigure[service] { report.extra("volume.\(service).bytesPerFigure", perFigure) }
                report.extra("volume.\(service).restartPingSeconds", v.pingSeconds[service] ?? 0)
                report.extra("volume.\(service).restartReadySeconds", v.readySeconds[service] ?? 0)
                report.extra("volume.\(service).restartWholeSeconds", v.wholeSeconds[service] ?? 0)
            }
            for line in notes { report.note(line) }
            report.note(
                "volume memory (ingest, aggregate, query): "
                    + Volume.services.map { s in
                        "\((v.resident[s] ?? 0) / 1_048_576) MiB" + (v.bytesPerFigure[s].map { String(format: " (%.0f B per figure over %d)", $0, v.figures[s] ?? 0) } ?? "")
                    }.joined(separator: ", ")
            )
        }

        if sections.contains("core") {
            let result = try Core.run(reports: coreReports, figures: figures)
            report.add("core.apply", "DeliveryCore: reports applied", result.apply, unit: "reports/s", ratio: result.apply.perSecond / result.baseline.perSecond)
            report.add("core.baseline", "baseline: dictionary upsert per report", result.baseline, unit: "reports/s")
            report.extra("core.figures", Double(result.figures))
            report.extra("core.bytesPerFigure", result.bytesPerFigure)
            report.note(String(format: "core memory: %.0f bytes per figure over %d figures", result.bytesPerFigure, result.figures))
            report.extra("core.bytesPerFigureRevised", result.bytesPerFigureRevised)
            report.extra("core.bytesPerRevisedFigure", result.bytesPerRevisedFigure)
            report.note(
                String(
                    format: "core memory with 5%% of the reports revised twice: %.0f bytes per figure; each revised report's figure %.0f bytes more",
                    result.bytesPerFigureRevised, result.bytesPerRevisedFigure
                )
            )
        }
        if sections.contains("facts") {
            let result = try FactsBench.run(models: 1000, months: 24, capacity: 10_000)
            report.add(
                "facts.stating", "aggregate turns of one report, facts stated", result.stating, unit: "reports/s",
                ratio: result.stating.perSecond / result.baseline.perSecond
            )
            report.add("facts.baseline", "baseline: the same turns, facts off", result.baseline, unit: "reports/s")
            report.extra("facts.stated", Double(result.stated))
            report.add("facts.answer", "facts since a token: the whole history, 1,000 an answer", result.answer, unit: "facts/s")
            if let factMemory {
                report.extra("facts.bytesPerFact", factMemory.bytesPerFact)
                report.note(
                    String(
                        format: "facts: %d stated for %d reports; a history keeping %d facts holds %.0f bytes per fact",
                        result.stated, result.stating.operations, factMemory.history.facts.count, factMemory.bytesPerFact
                    )
                )
            }
        }
        report.print()
    }

    /// Some reports so that queries have figures to read when the e2e section does not run.
    func loadBase(context: Context, stack: ServiceStack, offset: inout Int) throws {
        let client = try RequestClient(context: context, endpoints: [stack.endpoint("ingest")])
        defer { client.close() }
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        try socket.set([.linger(0), .receiveTimeout(30_000)])
        try socket.connect(stack.endpoint("ingest"))
        for _ in 0..<2 {
            try socket.send([[], Workload.submit(offset..<offset + 1000, models: Sections.models, prefix: "base", id: offset)])
            offset += 1000
            _ = try socket.receive()
        }
    }

    func sample(context: Context, endpoint: String, _ request: [UInt8]) throws -> [UInt8] {
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        try socket.set([.linger(0), .receiveTimeout(10_000)])
        try socket.connect(endpoint)
        try socket.send([[], request])
        guard let reply = try socket.receive()?.last, case .success(let read) = Wire.parse(reply), read.kind != .error else {
            throw BenchError("no good answer to \(String(decoding: request, as: UTF8.self))")
        }
        return reply
    }
}

/// The printed table and the closing line of JSON.
struct Report {
    private var rows: [(String, String)] = []
    private var values: [String: Double] = [:]
    private var notes: [String] = []

    mutating func note(_ text: String) {
        notes.append(text)
        FileHandle.standardError.write(Data(("# " + text + "\n").utf8))
    }

    mutating func extra(_ key: String, _ value: Double) {
        values[key] = value
    }

    mutating func add(_ key: String, _ title: String, _ m: Measurement, unit: String, ratio: Double? = nil, ratioOf: String = "baseline") {
        values[key + ".perSecond"] = m.perSecond
        var line = String(format: "%12.0f %@", m.perSecond, unit)
        if let p50 = m.p50, let p99 = m.p99 {
            values[key + ".p50us"] = p50
            values[key + ".p99us"] = p99
            line += String(format: "   p50 %8.1f µs   p99 %8.1f µs", p50, p99)
        }
        if let ratio {
            values[key + ".ratio"] = ratio
            line += String(format: "   %.2f× ", ratio) + ratioOf
        }
        rows.append((title, line))
        FileHandle.standardError.write(Data("  \(title): \(line)\n".utf8))
    }

    func print() {
        let width = rows.map(\.0.count).max() ?? 0
        for (title, line) in rows {
            Swift.print(title.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + line)
        }
        for note in notes { Swift.print("# " + note) }
        let json = values.keys.sorted().map { key in
            let value = values[key]!
            return "\"\(key)\":" + (value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.4f", value))
        }
        Swift.print("{" + json.joined(separator: ",") + "}")
    }
}
