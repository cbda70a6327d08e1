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
            PREFIX is a topic prefix such as figure.hima. (every HIMA figure), figure.hima.aito. (AITO and its             models), or fact. (only the news: records, streaks, milestones as new figures make them true).             Another measure's figures have their own topics: figure:retail.hima. (or --measure retail), and a             powertrain's part its own: figure:BEV.hima., figure:retail:BEV.hima. (or --powertrain BEV).
            """
    )

    @Argument(help: "Topic prefix to follow.")
    var prefix: String = "figure."

    @OptionGroup var endpoints: Endpoints

    @Option(help: "Follow another measure's figures (retail, wholesale, registrations, production, exports): figure. becomes figure:<measure>.")
    var measure: String?

    @Option(help: "Follow one powertrain's figures (BEV, PHEV, EREV, FCEV, HEV, ICE, NEV, plug-in): figure. becomes figure:<powertrain>.")
    var powertrain: String?

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

    /// The prefix followed: `--measure` and `--powertrain` turn a `figure.` prefix into that
    /// measure's and powertrain's (`figure:retail:BEV.`).
    func followed() throws -> String {
        var measured = Measure.default
        if let measure {
            guard let known = Measure(rawValue: measure) else {
                throw ValidationError("--measure is one of \(Measure.allCases.map(\.rawValue).joined(separator: ", ")), not '\(measure)'")
            }
            measured = known
        }
        var part: Powertrain?
        if let powertrain {
            guard let known = Powertrain(rawValue: powertrain) else {
                throw ValidationError("--powertrain is one of \(Powertrain.spellings), not '\(powertrain)'")
            }
            part = known
        }
        guard measured != .default || part != nil else { return prefix }
        guard prefix.hasPrefix("figure.") else {
            throw ValidationError("--measure and --powertrain follow figures: give a prefix that starts with figure.")
        }
        return EntityRef.market.topic(.figure, measure: measured, powertrain: part) + prefix.dropFirst("figure.".count)
    }

    func run() throws {
        let prefix = try followed()
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .sub)
        defer { socket.close() }
        // No feed message is near 1 MiB; a peer that sends one is dropped (and reconnected), so a
        // flood costs at most the high-water mark of small messages.
        try socket.set([
            .linger(0), .receiveHighWaterMark(max(hwm, 1)), .reconnectInterval(100), .reconnectIntervalMax(1000),
            .maxMessageSize(1 << 20),
        ])
        // Everything, so that any lost message shows as a gap in seq; the prefix is applied here.
        try socket.set(.subscribe(""))
        try endpoints.secure(socket)
        // The snapshot must come from the replica whose PUB this is: its numbering is that replica's.
        // A name that resolves to several replicas (a scaled compose service, a headless service)
        // is resolved once here, so that both connections reach the same one.
        let (feedEndpoint, queryEndpoint) = sameReplica(endpoints.feedEndpoint, endpoints.queryEndpoints.first ?? "")
        try socket.connect(feedEndpoint)
        let client = try RequestClient(context: context, endpoints: [queryEndpoint], configure: endpoints.secure)
        defer { client.close() }
        let clone = CloneClient(
            endpoint: queryEndpoint, client: client, request: SnapshotRequest(prefix: prefix),
            policy: SnapshotFetch.Policy(timeoutMillis: endpoints.timeout, firstPause: 200, longestPause: 1000, chunked: false)
        )
        var following = Following(agent: FeedAgent(socket: socket, sources: [clone], routing: .single), endpoint: feedEndpoint)
        try following.resync(nil, command: self)
        note("following \(prefix) on \(feedEndpoint) from \(clone.follower.stream ?? "?") seq \(clone.follower.position ?? 0)")
        while count.map({ following.shown < $0 }) ?? true {
            guard try following.waitForFeed(silenceSeconds: max(silenceSeconds, 1), command: self) else { continue }
            while let event = following.agent.next() {
                switch event {
                case .current, .held:
                    continue
                case .resync(let reason, _, _):
                    try following.resync(reason, command: self)
                case .update(let message, _):
                    if show(message, under: prefix) { following.shown += 1 }
                }
                if let count, following.shown >= count { return }
            }
        }
    }

    /// Where the subscription stands: its agent, how many updates were shown, the resyncs.
    private struct Following {
        let agent: FeedAgent
        let endpoint: String
        var shown = 0
        var first = true
        var lastResync: ContinuousClock.Instant?
        var resyncs = 0
        var silent = false

        /// Takes a snapshot (the first, or after a gap: `reason`) and shows it when asked to.
        mutating func resync(_ reason: String?, command: Subscribe) throws {
            // A feed that keeps breaking its numbering costs one snapshot and one line a second.
            if let lastResync, reason != nil {
                let wait = lastResync + .seconds(1) - .now
                if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) / 1e18 + Double(wait.components.seconds)) }
            }
            lastResync = .now
            let result = try agent.sources[0].fetchNow(timeoutMillis: command.endpoints.timeout)
            guard case .bodies(let figures) = result.figures else { throw ClientError("the snapshot is not a replica's") }
            if let reason {
                resyncs += 1
                // The first resyncs are each said; past ten, one line per ten.
                if resyncs <= 10 || resyncs % 10 == 0 {
                    command.note(
                        "resynced (\(excerpt(reason, limit: 120))): \(figures.count) figures as of \(excerpt(result.stream, limit: 60)) seq \(result.position)"
                    )
                }
            }
            if command.snapshot && (first || reason != nil) {
                for figure in figures { command.show(figure, live: false) }
            }
            first = false
        }

        /// Waits for the feed; a feed that says nothing is a fault to report, not to wait on in
        /// silence. False when the wait ran out.
        mutating func waitForFeed(silenceSeconds: Int, command: Subscribe) throws -> Bool {
            guard try Poller([agent.socket]).poll(timeoutMilliseconds: silenceSeconds * 1000).first == true else {
                if !silent {
                    command.note(
                        "no heartbeat from \(endpoint) for \(silenceSeconds) s: is a query replica publishing there? "
                            + "(a replica sends one a second; the compose stack publishes its replicas' feeds on host ports 5580-5589)"
                    )
                    silent = true
                }
                return false
            }
            if silent {
                command.note("the feed on \(endpoint) is back")
                silent = false
            }
            return true
        }
    }

    /// Prints an update under the prefix; true when it was one to count.
    private func show(_ message: FeedMessage, under prefix: String) -> Bool {
        guard message.topic.hasPrefix(prefix) else { return false }
        if json {
            emit(String(decoding: message.read.bytes, as: UTF8.self))
            return true
        }
        switch message.kind {
        case .figureChanged?, .figureRemoved?:
            guard case .success(let figure) = message.body(FigureBody.self) else { return false }
            if message.kind == .figureRemoved {
                emit("\(figure.period)  \(figure.entity.name)  removed (was \(Format.units(figure.previous)))")
            } else {
                show(figure, live: true)
            }
        case .fact?:
            guard case .success(let event) = message.body(FactEvent.self) else { return false }
            emit("\(event.period)  \(event.entity.name)  \(event.fact.text)")
        default:
            return false
        }
        return true
    }

    fileprivate func show(_ figure: FigureBody, live: Bool) {
        if json {
            if let bytes = try? CompactJSONEncoder.encode(figure) { emit(String(decoding: bytes, as: UTF8.self)) }
        } else {
            let words = Format.qualifier(figure.qualifier)
            let value = (words.isEmpty ? "" : words + " ") + Format.units(figure.units)
            var line = "\(figure.period)  \(figure.entity.name)  \(value)  \(figure.basis.rawValue)"
            if let measure = figure.measure { line += "  \(measure.rawValue)" }
            if let powertrain = figure.powertrain { line += "  \(powertrain.rawValue)" }
            if live { line += "  (was \(Format.units(figure.previous)))" }
            if let cause = figure.cause { line += "  [\(cause.stream)#\(cause.seq) \(cause.reportId ?? "")]" }
            emit(line)
        }
    }

    /// Writes a line straight to standard output, so that a pipe sees each update at once.
    private func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    fileprivate func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
