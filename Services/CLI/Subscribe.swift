import DeliveryClient
import ArgumentParser
import DeliveryMessages
import Foundation
import ServiceKit
import ZeroMQ

struct Subscribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow live figure updates (Clone pattern: subscribe, snapshot, then newer updates; resyncs on a gap or a restart).",
        discussion: """
            PREFIX is a topic prefix such as figure.hima. (every HIMA figure), figure.hima.aito. (AITO and its             models), or fact. (only the news: records, streaks, milestones as new figures make them true).
            """
    )

    @Argument(help: "Topic prefix to follow.")
    var prefix: String = "figure."

    @OptionGroup var endpoints: Endpoints

    @Flag(help: "Print the current figures under the prefix first.")
    var snapshot = false

    @Flag(help: "Print each event as one line of JSON.")
    var json = false

    @Option(help: "Stop after this many updates.")
    var count: Int?

    @Option(help: "Say so on standard error when nothing, not even a heartbeat (one a second), arrives for this many seconds.")
    var silenceSeconds: Int = 5

    @Option(help: "Messages queued while this client is slow; past that, updates are lost and a resync follows.")
    var hwm: Int32 = 100_000

    func run() throws {
        let context = try Context()
        defer { context.terminate() }
        let feed = try Socket(context, .sub)
        defer { feed.close() }
        // No feed message is near 1 MiB; a peer that sends one is dropped (and reconnected), so a
        // flood costs at most the high-water mark of small messages.
        try feed.set([
            .linger(0), .receiveHighWaterMark(max(hwm, 1)), .reconnectInterval(100), .reconnectIntervalMax(1000),
            .maxMessageSize(1 << 20),
        ])
        // Everything, so that any lost message shows as a gap in seq; the prefix is applied here.
        try feed.set(.subscribe(""))
        try endpoints.secure(feed)
        // The snapshot must come from the replica whose PUB this is: its numbering is that replica's.
        // A name that resolves to several replicas (a scaled compose service, a headless service)
        // is resolved once here, so that both connections reach the same one.
        let (feedEndpoint, queryEndpoint) = sameReplica(endpoints.feedEndpoint, endpoints.queryEndpoints.first ?? "")
        try feed.connect(feedEndpoint)
        let client = try RequestClient(context: context, endpoints: [queryEndpoint], configure: endpoints.secure)
        defer { client.close() }
        let clone = CloneClient(
            endpoint: queryEndpoint, client: client, request: SnapshotRequest(prefix: prefix),
            policy: SnapshotFetch.Policy(timeoutMillis: endpoints.timeout, firstPause: 200, longestPause: 1000, chunked: false)
        )
        var shown = 0
        var first = true
        var lastResync: ContinuousClock.Instant?
        var resyncs = 0

        func resync(_ reason: String?) throws {
            // A feed that keeps breaking its numbering costs one snapshot and one line a second.
            if let lastResync, reason != nil {
                let wait = lastResync + .seconds(1) - .now
                if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) / 1e18 + Double(wait.components.seconds)) }
            }
            lastResync = .now
            let result = try clone.fetchNow(timeoutMillis: endpoints.timeout)
            guard case .bodies(let figures) = result.figures else { throw ClientError("the snapshot is not a replica's") }
            let (name, seq) = (result.stream, result.position)
            if let reason {
                resyncs += 1
                // The first resyncs are each said; past ten, one line per ten.
                if resyncs <= 10 || resyncs % 10 == 0 {
                    note("resynced (\(excerpt(reason, limit: 120))): \(figures.count) figures as of \(excerpt(name, limit: 60)) seq \(seq)")
                }
            }
            if (snapshot && first) || reason != nil {
                for figure in figures where snapshot { show(figure, live: false) }
            }
            first = false
        }

        try resync(nil)
        note("following \(prefix) on \(feedEndpoint) from \(clone.follower.stream ?? "?") seq \(clone.follower.position ?? 0)")
        let poller = Poller([feed])
        var silent = false
        while count.map({ shown < $0 }) ?? true {
            // A feed that says nothing is a fault to report, not to wait on in silence.
            guard try poller.poll(timeoutMilliseconds: max(silenceSeconds, 1) * 1000).first == true else {
                if !silent {
                    note(
                        "no heartbeat from \(feedEndpoint) for \(max(silenceSeconds, 1)) s: is a query replica publishing there? "
                            + "(a replica sends one a second; the compose stack publishes its replicas' feeds on host ports 5580-5589)"
                    )
                    silent = true
                }
                continue
            }
            if silent {
                note("the feed on \(feedEndpoint) is back")
                silent = false
            }
            guard let frames = try feed.receive(wait: true), frames.count == 2,
                case .success(let head) = Wire.decodeHead(frames[1]), let eventStream = head.stream, let seq = head.seq
            else { continue }
            switch clone.follower.take(stream: eventStream, seq: seq, heartbeat: head.kind == .heartbeat) {
            case .skip, .hold:
                continue
            case .resync(let reason):
                try resync(reason)
                continue
            case .apply:
                break
            }
            let topic = String(decoding: frames[0], as: UTF8.self)
            guard topic.hasPrefix(prefix) else { continue }
            if json {
                emit(String(decoding: frames[1], as: UTF8.self))
                shown += 1
            } else if head.kind == .figureChanged || head.kind == .figureRemoved,
                case .success(let figure) = Wire.decodeBody(FigureBody.self, from: frames[1])
            {
                if head.kind == .figureRemoved {
                    emit("\(figure.period)  \(figure.entity.name)  removed (was \(Format.units(figure.previous)))")
                } else {
                    show(figure, live: true)
                }
                shown += 1
            } else if head.kind == .fact, case .success(let event) = Wire.decodeBody(FactEvent.self, from: frames[1]) {
                emit("\(event.period)  \(event.entity.name)  \(event.fact.text)")
                shown += 1
            }
        }
    }

    private func show(_ figure: FigureBody, live: Bool) {
        if json {
            if let bytes = try? CompactJSONEncoder.encode(figure) { emit(String(decoding: bytes, as: UTF8.self)) }
        } else {
            let words = Format.qualifier(figure.qualifier)
            let value = (words.isEmpty ? "" : words + " ") + Format.units(figure.units)
            var line = "\(figure.period)  \(figure.entity.name)  \(value)  \(figure.basis.rawValue)"
            if live { line += "  (was \(Format.units(figure.previous)))" }
            if let cause = figure.cause { line += "  [\(cause.stream)#\(cause.seq) \(cause.reportId ?? "")]" }
            emit(line)
        }
    }

    /// Writes a line straight to standard output, so that a pipe sees each update at once.
    private func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    private func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
